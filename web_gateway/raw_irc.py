"""``/ws/irc``: raw IRC over WebSocket (IRCv3 WebSocket spec), one IRC line per frame.

The gateway opens one TCP connection per WebSocket, sends ``WEBIRC`` first (so the server records
the browser's address and cannot be fooled by a WEBIRC the client sends later), then relays lines
both ways. The web IRC client does its own registration. With ``binary.ircv3.net`` frames are
bytes; with ``text.ircv3.net`` (and when no subprotocol was asked for) they are UTF-8 text, invalid
bytes from the server replaced by U+FFFD.

The same direct path as ``/ws`` (bridge.py): the upstream side is an ``asyncio.Protocol`` whose
``data_received`` splits lines and writes each line's frame straight to the browser's transport
(``ws_direct``); no task and no await per line, and a room line's frame is built once for every
browser that receives it (``_frame``). Backpressure both ways instead of buffering: while the
browser's transport is paused, frames queue (at most ``ws_queue``, then the browser is dropped as
too slow) and reading from the chat server stops; while the chat server's socket is paused, the
relay stops taking the browser's frames (uvicorn then stops reading that socket).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from tcp_server.protocol import MAX_LINE_BYTES, MAX_TAG_BYTES, LineBuffer, Message, TokenBucket, format_line

from .security import client_ip
from .settings import GatewaySettings
from .upstream import UpstreamPool, open_upstream
from .ws_direct import DIRECT, DirectSocket, binary_frame, text_frame

log = logging.getLogger("tcpchat.gateway")

SUBPROTOCOLS = ("binary.ircv3.net", "text.ircv3.net")
MAX_RAW_LINE = MAX_TAG_BYTES + MAX_LINE_BYTES
"""Largest line relayed in either direction."""
FLOOD_DROPS_BEFORE_CLOSE = 20
"""Over-rate lines dropped before a flooding raw client is disconnected."""
FRAME_CACHE_SIZE = 1024
"""Recent lines whose frames are kept for the other browsers of the room (emptied when full)."""
CLOSE_POLICY = 1008
CLOSE_UPSTREAM_GONE = 1011
_BAD = (b"\r", b"\n", b"\x00")

_frames: dict[tuple[bytes, bool], bytes] = {}


def clean_frame(data: bytes) -> bytes | None:
    """One client frame as one IRC line: trailing CR/LF stripped; None when it would be several."""
    line = data.rstrip(b"\r\n")
    if not line or len(line) > MAX_RAW_LINE or any(b in line for b in _BAD):
        return None
    return line


def _frame(line: bytes, binary: bool) -> bytes:
    """The WebSocket frame of one server line; the server sends a room line's same bytes to every
    member, so the frame is built once per line for all the browsers in the room."""
    key = (line, binary)
    frame = _frames.get(key)
    if frame is None:
        payload = line if binary else line.decode("utf-8", "replace").encode()
        frame = binary_frame(payload) if binary else text_frame(payload)
        if len(_frames) >= FRAME_CACHE_SIZE:
            _frames.clear()
        _frames[key] = frame
    return frame


class RawRelay(asyncio.Protocol):
    """One raw-IRC WebSocket and its own upstream connection (this is the upstream's protocol)."""

    def __init__(self, ws: WebSocket, settings: GatewaySettings, binary: bool) -> None:
        self.ws, self.settings, self.binary = ws, settings, binary
        self.direct: DirectSocket | None = (getattr(ws, "scope", None) or {}).get("extensions", {}).get(DIRECT)
        self.transport: asyncio.Transport | None = None
        self.buffer = LineBuffer(MAX_RAW_LINE)
        self.backlog: deque[bytes] = deque()  # frames (direct) or lines waiting for the browser
        self.reading_paused = False  # upstream reading stopped: the browser is behind
        self.too_slow = False
        self.done = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._upstream_writable = asyncio.Event()
        self._upstream_writable.set()

    # ---- upstream (asyncio.Protocol) ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        direct, binary = self.direct, self.binary
        for line in self.buffer.feed(data):
            if not isinstance(line, bytes):
                continue  # over-long: dropped
            if direct is None:
                self._queue(line)
            elif not self.backlog and not direct.paused:
                if not direct.send(_frame(line, binary)):
                    self.done.set()  # the browser went away
                    return
            else:
                self._queue(_frame(line, binary))

    def connection_lost(self, exc: Exception | None) -> None:
        self._upstream_writable.set()
        if not self.backlog:
            self.done.set()  # else the drainer sets it once the last lines reached the browser

    def pause_writing(self) -> None:
        self._upstream_writable.clear()

    def resume_writing(self) -> None:
        self._upstream_writable.set()

    # ---- to the browser ---------------------------------------------------------------------
    def _queue(self, item: bytes) -> None:
        if self.done.is_set():
            return
        if len(self.backlog) >= self.settings.ws_queue:
            log.info("raw irc browser %s too slow (%d lines queued); closing", client_ip(self.ws), len(self.backlog))
            self.too_slow = True
            self.done.set()
            return
        self.backlog.append(item)
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        """Send the backlog as the browser takes it, then read from the chat server again."""
        direct, ws = self.direct, self.ws
        try:
            while self.backlog and not self.done.is_set():
                item = self.backlog.popleft()
                if direct is not None:
                    await direct.writable.wait()
                    if not direct.send(item):
                        self.done.set()  # the browser went away
                        break
                elif self.binary:
                    await ws.send_bytes(item)
                else:
                    await ws.send_text(item.decode("utf-8", "replace"))
        except (RuntimeError, WebSocketDisconnect, ConnectionError):
            self.done.set()
        finally:
            self._drainer = None
        transport = self.transport
        if transport is None or transport.is_closing():
            self.done.set()  # the chat server closed meanwhile: its last lines are out
        elif self.reading_paused and not self.backlog:
            self.reading_paused = False
            transport.resume_reading()

    # ---- from the browser -------------------------------------------------------------------
    async def browser_to_irc(self) -> None:
        settings, ws = self.settings, self.ws
        bucket = TokenBucket(settings.ws_rate, settings.ws_burst, time.monotonic())
        drops = 0
        while True:
            await self._upstream_writable.wait()  # the chat server is behind: leave frames unread
            event = await ws.receive()
            if event["type"] == "websocket.disconnect":
                return
            raw = event.get("bytes")
            data = raw if raw is not None else (event.get("text") or "").encode("utf-8")
            if len(data) > settings.ws_max_frame:
                continue
            line = clean_frame(data)
            if line is None:
                continue
            if not bucket.allow(time.monotonic()):
                drops += 1
                if drops >= FLOOD_DROPS_BEFORE_CLOSE:
                    await ws.close(CLOSE_POLICY, "rate limit exceeded")
                    return
                continue
            if self.transport is None or self.transport.is_closing():
                return
            self.transport.write(line + b"\r\n")

    async def run(self) -> None:
        """Relay until the browser or the chat server goes away."""
        tasks = [asyncio.create_task(self.browser_to_irc()), asyncio.create_task(self.done.wait())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect | ConnectionError):
                    log.warning("raw irc relay ended: %r", exc)
        finally:
            if self._drainer is not None:
                tasks.append(self._drainer)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.transport is not None:
                self.transport.close()
            with contextlib.suppress(Exception):
                await self.ws.close(CLOSE_POLICY if self.too_slow else 1000)


async def run_raw_irc(
    ws: WebSocket, settings: GatewaySettings, subprotocol: str | None, upstreams: UpstreamPool | None = None
) -> None:
    """Relay one raw-IRC WebSocket to its own upstream TCP connection (the next live node) until
    either side closes."""
    await ws.accept(subprotocol=subprotocol)
    relay = RawRelay(ws, settings, binary=subprotocol == "binary.ircv3.net")
    try:
        await open_upstream(settings, upstreams or UpstreamPool.from_settings(settings), lambda: relay)
    except (OSError, TimeoutError) as exc:
        log.warning("raw irc: upstream unavailable: %s", exc)
        with contextlib.suppress(Exception):
            await ws.send_text("ERROR :Gateway cannot reach the chat server")
            await ws.close(CLOSE_UPSTREAM_GONE)
        return
    if settings.webirc_password is not None:
        ip = client_ip(ws)
        webirc = (settings.webirc_password.get_secret_value(), settings.webirc_gateway_name, ip, ip)
        relay.transport.write(format_line(Message("WEBIRC", webirc)))  # type: ignore[union-attr]
    await relay.run()
