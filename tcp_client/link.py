"""One TCP (or TLS) connection to an IRC server: messages in, messages out, keepalive.

A thin asyncio adapter over the protocol core (``LineBuffer`` + ``parse_line`` + ``format_line``);
the session above it decides what the messages mean.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque

from tcp_server.protocol import LineBuffer, Message, ProtocolError, format_line, parse_line

log = logging.getLogger("tcpchat.client")

READ_CHUNK = 64 * 1024
"""Bytes asked of the socket per read."""
KEEPALIVE_TOKEN = "tcpchat-keepalive"


def tls_context(verify: bool) -> ssl.SSLContext:
    """A client TLS context; verification (certificate and host name) is on unless ``verify`` is False."""
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Link:
    """A connected socket framed into IRC messages; closing is idempotent."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        ping_interval: float,
        ping_timeout: float,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self._buffer = LineBuffer()
        self._pending: deque[Message] = deque()
        self.closed = False

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None,
        ping_interval: float,
        ping_timeout: float,
    ) -> Link:
        """Connect; raises ``OSError`` (``ConnectionRefusedError``, ``ssl.SSLError``...) on failure."""
        reader, writer = await asyncio.open_connection(
            host, port, ssl=tls, server_hostname=host if tls else None
        )
        return cls(reader, writer, ping_interval, ping_timeout)

    def write(self, msg: Message) -> None:
        """Queue one message on the socket (no-op once closed)."""
        if not self.closed:
            self.writer.write(format_line(msg))

    async def drain(self) -> None:
        """Wait until the socket's write buffer is below its high-water mark."""
        if not self.closed:
            await self.writer.drain()

    async def next_message(self, keepalive: bool = False) -> Message | None:
        """The next message from the server, or None at end of stream.

        With ``keepalive``, a silent server is PINGed after ``ping_interval`` seconds and the link
        is declared dead (``ConnectionError``) when nothing arrives within ``ping_timeout`` more.
        """
        while not self._pending:
            data = await self._read(keepalive)
            if not data:
                return None
            for line in self._buffer.feed(data):
                if not isinstance(line, bytes):
                    log.warning("dropped an over-long line from the server")
                    continue
                try:
                    self._pending.append(parse_line(line))
                except ProtocolError as exc:
                    log.warning("dropped a malformed line from the server: %s", exc)
        return self._pending.popleft()

    async def _read(self, keepalive: bool) -> bytes:
        if not keepalive:
            return await self.reader.read(READ_CHUNK)
        try:
            return await asyncio.wait_for(self.reader.read(READ_CHUNK), self.ping_interval)
        except TimeoutError:
            self.write(Message("PING", (KEEPALIVE_TOKEN,)))
        try:
            return await asyncio.wait_for(self.reader.read(READ_CHUNK), self.ping_timeout)
        except TimeoutError:
            raise ConnectionError("ping timeout: the server stopped answering") from None

    def close(self) -> None:
        """Close the socket without waiting (idempotent)."""
        if not self.closed:
            self.closed = True
            self.writer.close()
