"""Request limits of the API: queries per client address, and oversized bodies answered in JSON.

Every API query costs a round trip on the one operator link, so each client address gets a token
bucket (``api_read_rate``/``api_read_burst``); beyond it, 429 with ``Retry-After`` instead of a
queue that would starve the admin page. The routers cap bodies with FastAPI's ``max_body_size`` (the body is refused before it is
buffered), but Starlette words that refusal as a plain-text 413; this ASGI middleware rewrites
exactly that response as ``{"detail": ...}``. Everything else passes through untouched.
"""

from __future__ import annotations

import json
import threading
import time

from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tcp_server.protocol import KeyedBuckets

TOO_LARGE = 413


class JsonTooLarge:
    """Turn Starlette's plain-text ``413 Content Too Large`` into a JSON error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rewriting = False

        async def send_json(message: Message) -> None:
            nonlocal rewriting
            if message["type"] == "http.response.start" and message["status"] == TOO_LARGE:
                headers = dict(message.get("headers") or [])
                if headers.get(b"content-type", b"").startswith(b"text/plain"):
                    rewriting = True
                    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
                    detail = "request body too large" + (f": at most {limit} bytes" if limit else "")
                    body = json.dumps({"detail": detail}).encode()
                    await send({
                        "type": "http.response.start",
                        "status": TOO_LARGE,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                    })
                    await send({"type": "http.response.body", "body": body})
                    return
            if rewriting:
                return  # the plain-text body of the replaced response
            await send(message)

        await self.app(scope, receive, send_json)


MAX_TRACKED_CLIENTS = 10_000
"""Client addresses whose buckets are remembered; the least recently seen is forgotten first."""


class PerClientLimiter:
    """A token bucket per client address (``rate`` per second, ``burst`` at once; rate 0 = off)."""

    def __init__(self, rate: float, burst: int) -> None:
        self._buckets = KeyedBuckets(rate, burst, MAX_TRACKED_CLIENTS)
        self._lock = threading.Lock()

    def retry_after(self, addr: str) -> float:
        """Take one token for ``addr``: 0 when allowed, else seconds until the next token."""
        with self._lock:
            return self._buckets.take(addr, time.monotonic())
