"""``/ws/irc``: raw IRC over WebSocket (IRCv3 WebSocket spec), one IRC line per frame.

The gateway opens one TCP connection per WebSocket, sends ``WEBIRC`` first (so the server records
the browser's address and cannot be fooled by a WEBIRC the client sends later), then relays lines
both ways. The web IRC client does its own registration. With ``binary.ircv3.net`` frames are
bytes; with ``text.ircv3.net`` (and when no subprotocol was asked for) they are UTF-8 text, invalid
bytes from the server replaced by U+FFFD.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from tcp_server.protocol import MAX_LINE_BYTES, MAX_TAG_BYTES, LineBuffer, Message, TokenBucket, format_line

from .security import client_ip
from .settings import GatewaySettings
from .upstream import UpstreamPool, open_upstream

log = logging.getLogger("tcpchat.gateway")

SUBPROTOCOLS = ("binary.ircv3.net", "text.ircv3.net")
READ_CHUNK = 64 * 1024
MAX_RAW_LINE = MAX_TAG_BYTES + MAX_LINE_BYTES
"""Largest line relayed in either direction."""
FLOOD_DROPS_BEFORE_CLOSE = 20
"""Over-rate lines dropped before a flooding raw client is disconnected."""
CLOSE_POLICY = 1008
CLOSE_UPSTREAM_GONE = 1011
_BAD = (b"\r", b"\n", b"\x00")


def clean_frame(data: bytes) -> bytes | None:
    """One client frame as one IRC line: trailing CR/LF stripped; None when it would be several."""
    line = data.rstrip(b"\r\n")
    if not line or len(line) > MAX_RAW_LINE or any(b in line for b in _BAD):
        return None
    return line


async def run_raw_irc(
    ws: WebSocket, settings: GatewaySettings, subprotocol: str | None, upstreams: UpstreamPool | None = None
) -> None:
    """Relay one raw-IRC WebSocket to its own upstream TCP connection (the next live node) until
    either side closes."""
    await ws.accept(subprotocol=subprotocol)
    binary = subprotocol == "binary.ircv3.net"
    ip = client_ip(ws)
    try:
        reader, writer = await open_upstream(settings, upstreams or UpstreamPool.from_settings(settings))
    except (OSError, TimeoutError) as exc:
        log.warning("raw irc: upstream unavailable: %s", exc)
        with contextlib.suppress(Exception):
            await ws.send_text("ERROR :Gateway cannot reach the chat server")
            await ws.close(CLOSE_UPSTREAM_GONE)
        return
    if settings.webirc_password is not None:
        webirc = (settings.webirc_password.get_secret_value(), settings.webirc_gateway_name, ip, ip)
        writer.write(format_line(Message("WEBIRC", webirc)))

    async def browser_to_irc() -> None:
        bucket = TokenBucket(settings.ws_rate, settings.ws_burst, time.monotonic())
        drops = 0
        while True:
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
            writer.write(line + b"\r\n")
            await writer.drain()

    async def irc_to_browser() -> None:
        buffer = LineBuffer(MAX_RAW_LINE)
        while True:
            data = await reader.read(READ_CHUNK)
            if not data:
                return
            for line in buffer.feed(data):
                if not isinstance(line, bytes):
                    continue
                if binary:
                    await ws.send_bytes(line)
                else:
                    await ws.send_text(line.decode("utf-8", "replace"))

    tasks = [asyncio.create_task(browser_to_irc()), asyncio.create_task(irc_to_browser())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | ConnectionError):
                log.warning("raw irc relay ended: %r", exc)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        writer.close()
        with contextlib.suppress(Exception):
            await ws.close()
