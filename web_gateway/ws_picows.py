"""``/ws`` on picows (``--ws-engine picows``): the same bridge behind a lower-level WebSocket server.

picows parses frames in C and calls ``on_ws_frame`` per frame, with no ASGI layer. It listens on
its own port (``ws_port``; two servers cannot share one), uvicorn keeps the page, admin, API and
``/ws/irc``. ``PicowsWebSocket`` is the part of Starlette's ``WebSocket`` the bridge uses
(``receive``, ``send_text``, ``close``, ``client``, ``headers``, the ``tcpchat.direct`` extension), so
``run_bridge`` and its guards (Origin, per-address count, hello timeout, rate, JSON validation,
``ws_queue`` with upstream backpressure, metrics) run unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server

from .bridge import run_bridge
from .metrics import count_websocket
from .security import origin_allowed
from .settings import GatewaySettings

log = logging.getLogger("tcpchat.gateway")

CLOSE_INVALID_DATA = 1007
CLOSE_UNSUPPORTED = 1003


class PicowsDirect:
    """``ws_direct.DirectSocket`` for a picows connection: ready frames to its transport."""

    def __init__(self, transport: WSTransport) -> None:
        self._transport = transport.underlying_transport
        self.writable = asyncio.Event()
        self.writable.set()
        self.open = True
        self.paused = False

    def send(self, frame: bytes) -> bool:
        if not self.open:
            return False
        self._transport.write(frame)
        return True


class PicowsWebSocket(WSListener):  # type: ignore[misc]
    """One browser connection: picows callbacks in, the Starlette WebSocket subset out."""

    def __init__(self, app: Any, request: WSUpgradeRequest) -> None:
        self.app = app
        self.headers = {k.lower(): v for k, v in request.headers.items()}
        self.url = SimpleNamespace(path=request.path.decode("latin-1"))
        self.client: SimpleNamespace | None = None
        self.transport: WSTransport | None = None
        self.direct: PicowsDirect | None = None
        self.scope: dict[str, Any] = {"extensions": {}}
        self._incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    # ---- picows callbacks -------------------------------------------------------------------
    def on_ws_connected(self, transport: WSTransport) -> None:
        from .ws_direct import DIRECT

        self.transport = transport
        peer = transport.underlying_transport.get_extra_info("peername") or ("0.0.0.0", 0)
        self.client = SimpleNamespace(host=peer[0], port=peer[1])
        self.direct = PicowsDirect(transport)
        self.scope["extensions"][DIRECT] = self.direct
        self._task = asyncio.get_running_loop().create_task(self._serve())

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT and frame.fin:
            try:
                text = frame.get_payload_as_utf8_text()
            except UnicodeDecodeError:
                transport.send_close(CLOSE_INVALID_DATA)
                transport.disconnect()
                return
            self._incoming.put_nowait({"type": "websocket.receive", "text": text})
        elif frame.msg_type == WSMsgType.BINARY and frame.fin:
            self._incoming.put_nowait({"type": "websocket.receive", "bytes": frame.get_payload_as_bytes()})
        elif frame.msg_type == WSMsgType.CLOSE:
            if self.direct is not None:
                self.direct.open = False
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        elif frame.msg_type in (WSMsgType.CONTINUATION, WSMsgType.TEXT, WSMsgType.BINARY):
            transport.send_close(CLOSE_UNSUPPORTED)  # fragmented messages: browsers do not send them
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.direct is not None:
            self.direct.open = False
            self.direct.writable.set()
        self._incoming.put_nowait({"type": "websocket.disconnect", "code": 1006})

    def pause_writing(self) -> None:
        if self.direct is not None:
            self.direct.paused = True
            self.direct.writable.clear()

    def resume_writing(self) -> None:
        if self.direct is not None:
            self.direct.paused = False
            self.direct.writable.set()

    # ---- the Starlette WebSocket subset -----------------------------------------------------
    async def accept(self, subprotocol: str | None = None) -> None:
        return None  # picows answered the upgrade already

    async def receive(self) -> dict[str, Any]:
        return await self._incoming.get()

    async def send_text(self, text: str) -> None:
        direct = self.direct
        assert direct is not None and self.transport is not None
        await direct.writable.wait()
        if not direct.open:
            raise ConnectionError("closed")
        self.transport.send(WSMsgType.TEXT, text.encode())

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        if self.direct is not None and self.direct.open and self.transport is not None:
            self.direct.open = False
            self.transport.send_close(code, (reason or "").encode())
            self.transport.disconnect()

    async def _serve(self) -> None:
        settings: GatewaySettings = self.app.state.settings
        try:
            if not origin_allowed(self, settings):  # type: ignore[arg-type]
                await self.close(1008, "origin not allowed")
                return
            counter = self.app.state.ws_counter
            ip = self.client.host if self.client else "0.0.0.0"
            if not counter.acquire(ip):
                await self.close(1008, "too many connections from this address")
                return
            try:
                with count_websocket(self.app, "json"):
                    await run_bridge(self, settings)  # type: ignore[arg-type]
            finally:
                counter.release(ip)
        except Exception:
            log.exception("picows /ws bridge failed")
            await self.close(1011)


async def start_picows(app: Any, host: str, port: int) -> asyncio.Server:
    """Serve ``/ws`` with picows on ``host:port`` (0 = a free port) for ``app``'s settings."""

    def route(request: WSUpgradeRequest) -> PicowsWebSocket | None:
        if request.path.split(b"?", 1)[0] != b"/ws":
            return None  # 404
        return PicowsWebSocket(app, request)

    return await ws_create_server(route, host, port, max_frame_size=1024 * 1024, enable_auto_pong=True)
