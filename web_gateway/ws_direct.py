"""Frames straight to the browser's socket: uvicorn's sans-I/O websockets protocol, extended.

Every member of a room receives the same chat line, so the gateway builds the line's WebSocket
frame once (``text_frame``, websockets' own serializer: server frames are not masked and
compression is off) and writes those bytes to each browser's transport, instead of one
``send_text`` -> ASGI ``send`` -> frame per browser. ``GatewayWebSocketProtocol`` (the ``ws``
class ``serve.uvicorn_config`` names) offers this as the ``tcpchat.direct`` scope extension; under
any other server the extension is absent and the bridge uses ``send_text``.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import Request

DIRECT = "tcpchat.direct"
"""The ASGI scope extension holding the connection's ``DirectSocket``."""


def text_frame(payload: bytes) -> bytes:
    """One unmasked, final text frame carrying ``payload`` (UTF-8)."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])


class DirectSocket:
    """Write frames on one browser connection; ``writable`` is cleared while its transport is paused."""

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol
        self.writable: asyncio.Event = protocol.writable

    @property
    def open(self) -> bool:
        """True while data frames may be sent (accepted, no close sent or received)."""
        p = self._protocol
        return p.conn.state is State.OPEN and not p.close_sent and not p.disconnected

    def send(self, frame: bytes) -> bool:
        """Write one frame (whatever the transport buffers); False once the connection is not open."""
        if not self.open:
            return False
        self._protocol.transport.write(frame)
        return True


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol plus the ``tcpchat.direct`` scope extension."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][DIRECT] = DirectSocket(self)  # type: ignore[index]
