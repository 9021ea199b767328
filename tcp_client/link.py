"""One TCP (or TLS) connection to an IRC server: the asyncio adapter over ``ClientProtocol``.

An ``asyncio.Protocol``: ``data_received`` feeds the bytes to the sans-I/O core, writes what it
answers (PONG, registration lines) and hands the decoded events to ``on_events``: no task, no
StreamReader and no await per line. It also keeps the link alive (one timer re-armed from the last
read: PING a silent server, give up when the PING goes unanswered), wires the transport's write
buffer into ``drain`` and lets the consumer pause reading (backpressure to the server).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable

from tcp_server.protocol import Message

from .config import SessionConfig
from .events import ChatMessage, Event, ServerNotice
from .protocol import ClientProtocol
from .requests import Collector, Until

log = logging.getLogger("tcpchat.client")

KEEPALIVE_TOKEN = "tcpchat-keepalive"


def tls_context(verify: bool) -> ssl.SSLContext:
    """A client TLS context; verification (certificate and host name) is on unless ``verify`` is False."""
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def expect_replies(
    core: ClientProtocol, until: Until, match: Until | None = None
) -> tuple[Collector, asyncio.Future[list[Message]]]:
    """Collect the replies up to ``until`` on ``core``: the collector (``discard`` it when done
    waiting) and a future resolved with the lines, or failed when the connection is lost."""
    future: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()

    def resolve(col: Collector) -> None:
        if not future.done():
            if col.error is not None:
                future.set_exception(col.error)
            else:
                future.set_result(col.lines)

    return core.expect(Collector(until, match, resolve)), future


class Link(asyncio.Protocol):
    """A connected socket driving a ``ClientProtocol``; closing is idempotent."""

    def __init__(
        self,
        core: ClientProtocol,
        on_events: Callable[[list[Event]], None],
        *,
        ping_interval: float,
        ping_timeout: float,
        nick_fallback: bool | None = None,
        on_chat: Callable[[ChatMessage | ServerNotice], None] | None = None,
    ) -> None:
        self.core = core
        self.on_events = on_events
        self.on_chat = on_chat
        """Takes a live chat line's event alone, without the list (``ClientProtocol.receive_live_chat``)."""
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.closed = False
        self.reason = ""  # why the link ended
        self._nick_fallback = nick_fallback
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self.registered: asyncio.Future[None] = self._loop.create_future()
        self.lost: asyncio.Future[str] = self._loop.create_future()
        self._write_paused: asyncio.Future[None] | None = None
        self._last_rx = self._loop.time()
        self._ping_sent_at: float | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    @classmethod
    async def open(
        cls, config: SessionConfig, core: ClientProtocol, on_events: Callable[[list[Event]], None],
        *, nick_fallback: bool | None = None, ping_interval: float | None = None,
        ping_timeout: float | None = None, on_chat: Callable[[ChatMessage | ServerNotice], None] | None = None,
    ) -> Link:
        """Connect and register (bounded by ``connect_timeout``); the link is then reading.

        Raises:
            OSError / TimeoutError: the server cannot be reached.
            RegistrationError: the server refused us; ConnectionError: it closed without a word.
        """
        loop = asyncio.get_running_loop()
        tls = tls_context(config.tls_verify) if config.tls else None

        def factory() -> Link:
            return cls(core, on_events, nick_fallback=nick_fallback, on_chat=on_chat,
                       ping_interval=ping_interval or config.ping_interval,
                       ping_timeout=ping_timeout or config.ping_timeout)

        async with asyncio.timeout(config.connect_timeout):
            async with asyncio.timeout(config.dial_timeout):
                if config.unix_socket:
                    _, link = await loop.create_unix_connection(factory, config.unix_socket)
                else:
                    _, link = await loop.create_connection(
                        factory, config.host, config.port, ssl=tls, server_hostname=config.host if tls else None
                    )
            try:
                await asyncio.shield(link.registered)
            except BaseException:
                link.close()
                raise
        return link

    # ---- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.core.connection_made(self._nick_fallback)
        self._flush()
        self._watchdog = self._loop.call_later(self.ping_interval, self._check_alive)

    def data_received(self, data: bytes) -> None:
        self._last_rx = self._loop.time()
        core = self.core
        on_chat = self.on_chat
        if on_chat is not None:  # the bulk of the traffic: one live chat line per read
            chat = core.receive_live_chat(data)
            if chat is not None:
                on_chat(chat)
                return
        core.receive_data(data)
        out = core.data_to_send()
        if out and not self.closed:
            self._transport.write(out)  # type: ignore[union-attr]
        if not self.registered.done():
            if core.failure is not None:
                self.registered.set_exception(core.failure)
                self.close()
            elif core.registered:
                self.registered.set_result(None)
        events = core.events_received()
        if events:
            self.on_events(events)

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        if not self.reason:
            self.reason = self.core.error or (str(exc) if exc else "") or "connection closed by the server"
        self.core.connection_lost()
        if not self.registered.done():
            self.registered.set_exception(self.core.failure or ConnectionError(self.reason))
        if not self.lost.done():
            self.lost.set_result(self.reason)
        waiter, self._write_paused = self._write_paused, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        events = self.core.events_received()
        if events:
            self.on_events(events)

    def pause_writing(self) -> None:
        if self._write_paused is None:
            self._write_paused = self._loop.create_future()

    def resume_writing(self) -> None:
        waiter, self._write_paused = self._write_paused, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- for the session -------------------------------------------------------------------
    def write(self, msg: Message) -> None:
        """Send one message (no-op once closed)."""
        if not self.closed:
            self.core.send(msg)
            self._flush()

    def _flush(self) -> None:
        out = self.core.data_to_send()
        if out and self._transport is not None and not self.closed:
            self._transport.write(out)

    async def drain(self) -> None:
        """Wait until the socket's write buffer is below its high-water mark."""
        waiter = self._write_paused
        if waiter is not None and not self.closed:
            await asyncio.shield(waiter)

    def pause_reading(self) -> None:
        """Stop reading from the server (the consumer is behind); TCP pushes back upstream."""
        if self._transport is not None and not self.closed:
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._transport is not None and not self.closed:
            self._transport.resume_reading()

    def _check_alive(self) -> None:
        """Timer: PING a silent server; drop the link when the PING goes unanswered."""
        if self.closed:
            return
        now = self._loop.time()
        if self._ping_sent_at is not None and self._last_rx > self._ping_sent_at:
            self._ping_sent_at = None  # heard something since the PING: alive
        if self._ping_sent_at is None:
            idle = now - self._last_rx
            if idle < self.ping_interval:
                self._watchdog = self._loop.call_later(self.ping_interval - idle, self._check_alive)
                return
            self.write(Message("PING", (KEEPALIVE_TOKEN,)))
            self._ping_sent_at = now
            self._watchdog = self._loop.call_later(self.ping_timeout, self._check_alive)
            return
        self.reason = "ping timeout: the server stopped answering"
        self.abort()

    def close(self) -> None:
        """Close the socket after what is buffered is written (idempotent)."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()
        self.closed = True

    def abort(self) -> None:
        """Drop the socket now."""
        if self._transport is not None:
            self._transport.abort()
        self.closed = True

    async def wait_closed(self) -> str:
        """Wait until the connection is gone; why it ended."""
        return await asyncio.shield(self.lost)
