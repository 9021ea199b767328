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
PARSE_CACHE_SIZE = 1024
"""Recently parsed lines remembered per process (see ``_parse``)."""

_parsed: dict[bytes, Message] = {}


def _parse(line: bytes) -> Message:
    """``parse_line`` with a small process-wide cache of recent lines.

    The server formats a channel line once and sends the same bytes to every member, so a
    process holding many links to one room (the web gateway: one link per browser) receives
    each line many times. ``Message`` is immutable and nobody mutates its tags, so the parsed
    object is shared; the cache is simply emptied when full.
    """
    msg = _parsed.get(line)
    if msg is None:
        msg = parse_line(line)
        if len(_parsed) >= PARSE_CACHE_SIZE:
            _parsed.clear()
        _parsed[line] = msg
    return msg


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
        # Keepalive: one timer per link, re-armed from the time of the last read, instead of
        # a timeout per read (``wait_for`` makes a task per call on Python 3.11).
        self._last_rx = 0.0
        self._ping_sent_at: float | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop  # set when keepalive reading starts

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
            if keepalive and self._watchdog is None and not self.closed:
                self._loop = asyncio.get_running_loop()
                self._last_rx = self._loop.time()
                self._arm(self.ping_interval)
            data = await self.reader.read(READ_CHUNK)
            if not data:
                return None
            if self._watchdog is not None:
                self._last_rx = self._loop.time()
            for line in self._buffer.feed(data):
                if not isinstance(line, bytes):
                    log.warning("dropped an over-long line from the server")
                    continue
                try:
                    self._pending.append(_parse(line))
                except ProtocolError as exc:
                    log.warning("dropped a malformed line from the server: %s", exc)
        return self._pending.popleft()

    def _arm(self, delay: float) -> None:
        self._watchdog = self._loop.call_later(delay, self._check_alive)

    def _check_alive(self) -> None:
        """Timer callback: PING a silent server; fail the pending read when the PING goes unanswered."""
        if self.closed:
            return
        now = self._loop.time()
        if self._ping_sent_at is not None and self._last_rx > self._ping_sent_at:
            self._ping_sent_at = None  # heard something since the PING: alive
        if self._ping_sent_at is None:
            idle = now - self._last_rx
            if idle < self.ping_interval:
                self._arm(self.ping_interval - idle)
                return
            self.write(Message("PING", (KEEPALIVE_TOKEN,)))
            self._ping_sent_at = now
            self._arm(self.ping_timeout)
            return
        self.reader.set_exception(ConnectionError("ping timeout: the server stopped answering"))

    def close(self) -> None:
        """Close the socket without waiting (idempotent)."""
        if not self.closed:
            self.closed = True
            if self._watchdog is not None:
                self._watchdog.cancel()
            self.writer.close()
