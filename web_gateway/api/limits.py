"""Oversized request bodies answered in JSON like every other API error.

The routers cap bodies with FastAPI's ``max_body_size`` (the body is refused before it is
buffered), but Starlette words that refusal as a plain-text 413; this ASGI middleware rewrites
exactly that response as ``{"detail": ...}``. Everything else passes through untouched.
"""

from __future__ import annotations

import json

from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
