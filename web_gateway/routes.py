"""The chat routes: the page (``/``), the JSON bridge (``/ws``) and raw IRC (``/ws/irc``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, PlainTextResponse

from .bridge import run_bridge
from .commands import MAX_LINES_PER_SEND, MAX_TEXT_BYTES_PER_LINE
from .metrics import count_websocket
from .raw_irc import SUBPROTOCOLS, run_raw_irc
from .security import ConnectionCounter, client_ip, origin_allowed
from .settings import GatewaySettings
from .upstream import upstreams_of

router = APIRouter()

POLICY_VIOLATION = 1008
"""WebSocket close code for a refused Origin (RFC 6455)."""
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}
"""The page loads only its own scripts and styles: injected markup could not run even if it got in.
(The headers every response carries, nosniff and the rest, come from ``security.SecurityHeaders``.)"""


def _settings(conn: Request | WebSocket) -> GatewaySettings:
    return conn.app.state.settings  # type: ignore[no-any-return]


@router.get("/", response_class=HTMLResponse)
async def chat_page(request: Request) -> HTMLResponse:
    """The browser chat page."""
    s = _settings(request)
    response = request.app.state.templates.TemplateResponse(
        request,
        "chat.html",
        {"history_on_join": s.history_on_join, "reconnect_max": s.reconnect_max,
         # the page checks a text's size before sending, so a refused text stays in its box
         "max_lines": MAX_LINES_PER_SEND, "line_bytes": MAX_TEXT_BYTES_PER_LINE},
    )
    response.headers.update(PAGE_HEADERS)
    return response  # type: ignore[no-any-return]


@router.get("/healthz", response_class=PlainTextResponse)
async def healthz() -> str:
    """Liveness probe for supervisors."""
    return "ok"


async def _guarded(websocket: WebSocket, serve: Callable[[], Awaitable[None]]) -> None:
    """Refuse foreign origins and addresses over ``ws_max_per_ip`` (HTTP 403), then serve."""
    settings = _settings(websocket)
    if not origin_allowed(websocket, settings):
        await websocket.close(code=POLICY_VIOLATION, reason="origin not allowed")
        return
    counter: ConnectionCounter = websocket.app.state.ws_counter
    ip = client_ip(websocket)
    if not counter.acquire(ip):
        await websocket.close(code=POLICY_VIOLATION, reason="too many connections from this address")
        return
    kind = "irc" if websocket.url.path.endswith("/irc") else "json"
    try:
        with count_websocket(websocket.app, kind):  # gateway /metrics: open WebSockets by kind
            await serve()
    finally:
        counter.release(ip)


@router.websocket("/ws")
async def ws_json(websocket: WebSocket) -> None:
    """The page's JSON protocol (DESIGN.md, "Browser JSON protocol"); see bridge.py and events.py."""
    await _guarded(websocket, lambda: run_bridge(websocket, _settings(websocket), upstreams_of(websocket.app)))


@router.websocket("/ws/irc")
async def ws_irc(websocket: WebSocket) -> None:
    """Raw IRC over WebSocket (IRCv3 subprotocols ``text.ircv3.net`` / ``binary.ircv3.net``)."""
    offered = websocket.scope.get("subprotocols") or []
    chosen = next((p for p in offered if p in SUBPROTOCOLS), None)
    await _guarded(
        websocket, lambda: run_raw_irc(websocket, _settings(websocket), chosen, upstreams_of(websocket.app))
    )
