"""Frames straight to the browser's socket: uvicorn's sans-I/O websockets protocol, extended.

Every member of a room receives the same chat line, so the gateway builds the line's WebSocket
frame once (``text_frame``, websockets' own serializer: server frames are not masked and
compression is off) and writes those bytes to each browser's transport, instead of one
``send_text`` -> ASGI ``send`` -> frame per browser. ``GatewayWebSocketProtocol`` (the ``ws``
class ``serve.uvicorn_config`` names) offers this as the ``tcpchat.direct`` scope extension; under
any other server the extension is absent and the bridge uses ``send_text``.

The per-frame check is two plain attributes (``DirectSocket.open``, ``DirectSocket.paused``) that
the protocol keeps current from the events that change them (accept, close sent or received,
connection lost, pause/resume writing): the profile showed the old property, three attribute
chains deep, at ~6% of the gateway's CPU per frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State

DIRECT = "tcpchat.direct"
"""The ASGI scope extension holding the connection's ``DirectSocket``."""


def text_frame(payload: bytes) -> bytes:
    """One unmasked, final text frame carrying ``payload`` (UTF-8)."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])


def binary_frame(payload: bytes) -> bytes:
    """One unmasked, final binary frame carrying ``payload``."""
    return Frame(Opcode.BINARY, payload).serialize(mask=False, extensions=[])


class DirectSocket:
    """Write frames on one browser connection.

    ``open``: data frames may be sent (accepted, no close sent or received, not disconnected).
    ``paused``: the transport's write buffer is over its high-water mark; ``writable`` is the
    same as an event to wait on.
    """

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._transport = protocol.transport
        self.writable: asyncio.Event = protocol.writable
        self.open = False
        self.paused = not protocol.writable.is_set()

    def send(self, frame: bytes) -> bool:
        """Write one frame (whatever the transport buffers); False once the connection is not open."""
        if not self.open:
            return False
        self._transport.write(frame)
        return True


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol plus the ``tcpchat.direct`` scope extension."""

    direct: DirectSocket | None = None
    _closed_flags = (False, False)  # (close_sent, disconnected), kept by the properties below

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            self.direct = scope["extensions"][DIRECT] = DirectSocket(self)

    async def send(self, message: Any) -> None:
        await super().send(message)
        self._update_direct()

    def handle_close(self, event: Frame) -> None:
        if self.direct is not None:
            self.direct.open = False  # the browser's close frame: no data frames after it
        super().handle_close(event)

    def shutdown(self) -> None:
        if self.direct is not None:
            self.direct.open = False  # the server is stopping: uvicorn sends close (1012) itself
        super().shutdown()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.direct is not None:
            self.direct.paused = True

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.direct is not None:
            self.direct.paused = False

    def _update_direct(self) -> None:
        direct = self.direct
        if direct is not None:
            direct.open = self.conn.state is State.OPEN and not self.close_sent and not self.disconnected

    # uvicorn assigns these two in many places; as properties every assignment updates ``open``.
    @property
    def close_sent(self) -> bool:
        return self._closed_flags[0]

    @close_sent.setter
    def close_sent(self, value: bool) -> None:
        self._closed_flags = (value, self._closed_flags[1])
        self._update_direct()

    @property
    def disconnected(self) -> bool:
        return self._closed_flags[1]

    @disconnected.setter
    def disconnected(self, value: bool) -> None:
        self._closed_flags = (self._closed_flags[0], value)
        self._update_direct()


class PausedSend:
    """A send coroutine that the bridge (``Bridge._send_now``) started and that stopped to wait: awaiting this
    continues it where it stopped (as ``await`` would have), with what it waits for first."""

    def __init__(self, coro: Coroutine[Any, Any, None], waiting_for: Any) -> None:
        self.coro, self.waiting_for = coro, waiting_for

    def __await__(self) -> Generator[Any, Any, None]:
        coro, waiting_for = self.coro, self.waiting_for
        while True:
            try:
                yield waiting_for  # the awaiting task blocks on it, as for the coroutine itself
            except BaseException as exc:  # cancelled (or thrown into) while waiting: pass it on
                try:
                    waiting_for = coro.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                waiting_for = coro.send(None)
            except StopIteration:
                return
