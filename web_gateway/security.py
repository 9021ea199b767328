"""The gateway's guards: the WebSocket Origin check, connections per address, the ``Host`` check
(DNS rebinding) and the security headers every HTTP response carries (the per-socket rate limit
is ``tcp_server.protocol.TokenBucket``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import GatewaySettings


def own_origins(conn: HTTPConnection) -> set[str]:
    """The origins the page itself is served from, as seen in this request's Host header."""
    host = conn.headers.get("host", "")
    return {f"http://{host}", f"https://{host}"} if host else set()


def origin_allowed(conn: HTTPConnection, settings: GatewaySettings) -> bool:
    """True when the WebSocket may be opened from this Origin.

    Browsers always send ``Origin``; it must be the gateway's own origin or one listed in
    ``allowed_origins`` (``*`` allows any). A request without ``Origin`` is not from a browser page,
    so cross-site WebSocket hijacking does not apply to it and it is allowed.
    """
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    allowed = {o.lower() for o in settings.origins}
    if "*" in allowed or origin in allowed:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https"):
        return False
    return origin in {o.lower() for o in own_origins(conn)}


def client_ip(conn: HTTPConnection) -> str:
    """The browser's address as the gateway sees it (passed upstream in WEBIRC).

    An IPv6 address starting with ``:`` (``::1``) gets a leading ``0``: an IRC parameter may not
    start with a colon, and ``0::1`` is the same address.
    """
    host = conn.client.host if conn.client else "0.0.0.0"
    return "0" + host if host.startswith(":") else host


class ConnectionCounter:
    """Open WebSockets per address, so one address cannot open unbounded upstream connections."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}

    def acquire(self, ip: str) -> bool:
        """Count a new connection from ``ip``; False (and not counted) when over the limit."""
        count = self.open.get(ip, 0)
        if self.limit and count >= self.limit:
            return False
        self.open[ip] = count + 1
        return True

    def release(self, ip: str) -> None:
        count = self.open.get(ip, 0) - 1
        if count > 0:
            self.open[ip] = count
        else:
            self.open.pop(ip, None)


class HostGuard:
    """ASGI middleware answering only to known ``Host`` names (a DNS-rebinding guard).

    A page on another site whose name is rebound to 127.0.0.1 sends that site's ``Host`` and
    ``Origin``, which match each other, so the Origin check alone would let its WebSocket in.
    HTTP requests get a JSON 400; WebSocket handshakes are refused (403) before they reach a route.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed = frozenset(h.lower() for h in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "*" not in self.allowed:
            host = Headers(scope=scope).get("host", "").lower()
            name = host[1 : host.find("]")] if host.startswith("[") else host.split(":")[0]
            if name not in self.allowed:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                else:
                    response = JSONResponse({"detail": f"Unknown host {name!r}"}, status_code=400)
                    await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
"""Sent on every HTTP response: no MIME sniffing (a JSON reply or an uploaded-looking text is never
run as script or HTML), no Referer leaving the site, never framed (clickjacking), no window shared
with other origins, no cross-site embedding of our files, no powerful browser features."""
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""For responses that set no policy of their own (API JSON, static files, errors): a document
loaded from them may run and load nothing. The chat and admin pages keep their own policies."""


class SecurityHeaders:
    """ASGI middleware adding ``SECURITY_HEADERS`` (and ``DEFAULT_CSP`` where a response has no
    policy) to every HTTP response; headers a route set itself are kept as they are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)
