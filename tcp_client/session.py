"""An asyncio IRC client session: the thin adapter around the sans-I/O ``ClientProtocol``.

One ``ClientSession`` is one user's connection as an application sees it. The protocol core
(``protocol.ClientProtocol``) registers, answers PINGs, drops duplicates and decodes IRC into typed
events; this module adds what needs a clock or a socket: connecting (``link.Link``), reconnecting
with backoff and jitter, rejoining and filling the gap with ``CHATHISTORY AFTER`` (``gapfill``),
requests that wait for their replies, and the bounded event queue (``queue.EventQueue``) -- so the
consumer of ``events()`` sees no lost and no duplicated channel message. The terminal client and
the web gateway's bridge both sit on it; ``SessionConfig`` says how it behaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from tcp_server.protocol import Message, casefold

from .commands import CommandsMixin
from .config import DEFAULT_CAPS, SessionConfig
from .events import Event, SessionClosed, SessionStatus
from .gapfill import fill_gap, fill_limit, join_and_wait
from .lines import LineError, as_message
from .link import Link, expect_replies
from .protocol import ClientProtocol
from .queue import EventQueue
from .registration import RegistrationError, WebIrc

__all__ = [
    "DEFAULT_CAPS", "ClientSession", "LineError", "RegistrationError", "Route", "SessionClosed",
    "SessionConfig", "SessionStatus", "WebIrc",
]

log = logging.getLogger("tcpchat.client")

QUIT_WAIT = 2.0
"""Seconds ``close()`` waits for the server to acknowledge QUIT before dropping the socket."""
FLUSH_POLL = 0.05
"""Seconds between checks in ``flushed()``."""
REQUEST_TIMEOUT = 10.0
"""Default seconds a ``request`` waits for its end marker."""


class Route(Protocol):
    """Chooses the server of each connect and reconnect, for a network of several servers (the
    web gateway's nodes): calls ``open_link`` with ``config`` aimed at one server, then another if
    that one cannot be reached. Without a route every attempt goes to ``config.host``/``port``."""

    async def open_link(
        self, config: SessionConfig, open_link: Callable[[SessionConfig], Awaitable[Link]]
    ) -> Link: ...


class ClientSession(CommandsMixin):
    """A reconnecting IRC client connection with a bounded event queue."""

    def __init__(self, config: SessionConfig, route: Route | None = None) -> None:
        self.config = config
        self.route = route
        self.server = config
        """The config of the server connected to now (or last): ``config`` aimed by the route."""
        self.core = ClientProtocol(config)
        self.connected = False
        self._link: Link | None = None
        self._events = EventQueue(config.queue_size)
        self._outbox: deque[Message] = deque()  # typed while disconnected, sent after reconnect
        self._closed = self._stopping = False
        self._reading_paused = False
        self._supervisor: asyncio.Task[None] | None = None

    # ---- public state (the core's) ---------------------------------------------------------
    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def nick(self) -> str:
        """Our nick as the server knows it."""
        return self.core.nick

    @property
    def wanted_nick(self) -> str:
        """The nick the user chose (reclaimed after a fallback to ``nick_``)."""
        return self.core.wanted_nick

    @property
    def caps(self) -> set[str]:
        """Capabilities the server acknowledged."""
        return self.core.caps

    @property
    def isupport(self) -> dict[str, str]:
        """The server's 005 tokens."""
        return self.core.isupport

    @property
    def prefix(self) -> str | None:  # type: ignore[override]  # the mixin only declares it
        """Our ``nick!user@host`` as the server shows it, once seen."""
        return self.core.prefix

    @property
    def account(self) -> str | None:
        """The account the server says we are logged in to (SASL), if any."""
        return self.core.account

    @property
    def last_msgid(self) -> dict[str, str]:
        """Casefolded channel -> the newest msgid seen there."""
        return self.core.last_msgid

    @property
    def _keys(self) -> dict[str, str]:  # type: ignore[override]
        return self.core.keys

    @property
    def channels(self) -> set[str]:
        """Channels we are in (or will rejoin after a reconnect), spelled as the server does."""
        return set(self.core.channels.values())

    @property
    def closed(self) -> bool:
        """True once the session has ended for good."""
        return self._closed

    def remember_login(self, account: str, password: str) -> None:
        """Log in to ``account`` with SASL on every reconnect from now on (after ``REGISTER``
        created it on this connection, the server already logged us in)."""
        self.core.remember_login(account, password)
        self.config = self.core.config

    def has_history(self) -> bool:
        """True when the server serves CHATHISTORY to us (and batches delimit the replies)."""
        return self.core.has_history()

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect and register once, then keep the session alive in the background.

        Raises:
            OSError / ConnectionError: the server cannot be reached (``TimeoutError`` too).
            RegistrationError: the server refused us (nick in use, bad password...).
        """
        if self._supervisor is not None or self._closed:
            raise RuntimeError("start() may be called once")
        self._emit(SessionStatus("connecting", self.nick))
        try:
            link = await self._connect()
        except BaseException as exc:
            self._finish(f"cannot connect: {exc}")
            raise
        self._emit(SessionStatus("connected", self.nick))
        self._supervisor = asyncio.create_task(self._supervise(link))

    async def close(self, reason: str = "Client quit") -> None:
        """Send QUIT, stop reconnecting, and end the event stream with ``closed``."""
        if self._closed or self._stopping:
            return
        link, self._stopping = self._link, True  # no reconnects; events flow until the link ends
        if link is not None and self.connected:
            with contextlib.suppress(OSError, ConnectionError, TimeoutError):
                link.write(Message("QUIT", (reason,)))
                await asyncio.wait_for(link.drain(), QUIT_WAIT)
                await asyncio.wait_for(link.wait_closed(), QUIT_WAIT)
        if link is not None:
            link.close()
        if self._supervisor is not None and self._supervisor is not asyncio.current_task():
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._supervisor
        self._finish(reason)

    quit = close

    async def _connect(self, nick_fallback: bool | None = None) -> Link:
        """Open a link and register on it (one attempt, bounded by ``connect_timeout``)."""
        async def open_link(config: SessionConfig) -> Link:
            link = await Link.open(config, self.core, self._on_events, nick_fallback=nick_fallback, on_chat=self._emit)
            self.server = config
            return link

        if self.route is None:
            link = await open_link(self.config)
        else:
            link = await self.route.open_link(self.config, open_link)
        self._link, self.connected = link, True
        if self._reading_paused:
            link.pause_reading()
        return link

    async def _supervise(self, link: Link) -> None:
        """Wait until the link drops; reconnect and restore the session while allowed."""
        restoring = False
        try:
            while not (self._closed or self._stopping):
                if restoring:
                    await self._restore(link)
                reason = await link.wait_closed()
                self.connected = False
                if self._closed or self._stopping:
                    return
                if self.core.killed or not self.config.reconnect:
                    self._finish(self.core.killed or reason)
                    return
                self._emit(SessionStatus("reconnecting", self.nick, reason))
                next_link = await self._reconnect()
                if next_link is None:
                    return
                link, restoring = next_link, True
        except Exception as exc:  # a bug must end the session visibly, not leave it hanging
            log.exception("client session failed")
            self._finish(f"internal error: {exc!r}")
        finally:
            link.close()

    async def _reconnect(self) -> Link | None:
        """Retry with exponential backoff and jitter until connected, closed, or refused for good."""
        delay = self.config.backoff_initial
        while not (self._closed or self._stopping):
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, self.config.backoff_max)
            try:
                return await self._connect(nick_fallback=True)  # a ghost may still hold our nick
            except RegistrationError as exc:
                if exc.fatal:
                    self._finish(f"reconnect refused: {exc}")
                    return None
                log.info("reconnect registration refused: %s", exc)
            except (OSError, ConnectionError) as exc:
                log.info("reconnect failed: %s", exc)
        return None

    async def _restore(self, link: Link) -> None:
        """Rejoin channels, fill each one's gap, flush typed-ahead lines, then say ``connected``."""
        core, timeout = self.core, self.config.connect_timeout
        core.restoring = True
        try:
            for name in list(core.channels.values()):
                folded = casefold(name)
                gap_from = core.gap_start(name)
                if gap_from:
                    core.hold(name)
                try:
                    if not await join_and_wait(self, name, core.keys.get(folded, ""), timeout):
                        core.channels.pop(folded, None)
                    elif gap_from:
                        await fill_gap(self, name, gap_from, fill_limit(core.isupport), timeout)
                except TimeoutError:
                    log.warning("rejoining %s: no answer in time", name)
                finally:
                    core.release(name)
                    self._on_events(core.events_received())
            while self._outbox and not link.closed:
                link.write(self._outbox.popleft())
            await link.drain()
        except (OSError, ConnectionError) as exc:
            log.info("restoring the session failed: %s", exc)
            return
        finally:
            core.restoring = False
        if not link.closed:
            self._emit(SessionStatus("connected", self.nick))

    # ---- incoming --------------------------------------------------------------------------
    def _on_events(self, events: list[Event]) -> None:
        """Events the core decoded from one read: to the consumer, in order."""
        if not self._closed and not self._events.put_many(events):
            self._emit_overflow()
        if self.core.overflowed and not self._closed:
            self._emit_overflow()

    def _emit(self, event: Event) -> None:
        if self._closed:
            return
        if not self._events.put(event):
            self._emit_overflow()

    def _emit_overflow(self) -> None:
        log.warning("event queue overflow (%d events): closing the session", len(self._events))
        self._finish("event queue overflow")
        if self._link is not None:
            self._link.close()

    def _finish(self, reason: str) -> None:
        """Mark closed, fail pending requests, queue the final ``closed`` status (once)."""
        self._closed, self.connected = True, False
        self._events.finish(SessionStatus("closed", self.nick, reason))
        self.core.collectors.fail_all(SessionClosed(reason))

    def listen(self, callback: Callable[[Event], None]) -> None:
        """Have every event passed to ``callback`` as it arrives instead of using ``events()``.

        See ``EventQueue.listen``: no task switch per event, the callback must not block.
        """
        self._events.listen(callback)

    def pause_reading(self) -> None:
        """Stop reading from the server until ``resume_reading`` (the consumer cannot keep up)."""
        self._reading_paused = True
        if self._link is not None:
            self._link.pause_reading()

    def resume_reading(self) -> None:
        self._reading_paused = False
        if self._link is not None:
            self._link.resume_reading()

    async def next_event(self, timeout: float | None = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout`` seconds, ``SessionClosed`` after the end."""
        return await self._events.get(timeout)

    async def events(self) -> AsyncIterator[Event]:
        """Every event, ending after the ``closed`` status."""
        while True:
            try:
                event = await self.next_event()
            except SessionClosed:
                return
            yield event

    # ---- outgoing --------------------------------------------------------------------------
    @property
    def queued(self) -> int:
        """Lines sent while disconnected that still wait for the reconnect."""
        return len(self._outbox)

    async def flushed(self, timeout: float) -> bool:
        """Wait until lines queued while disconnected went out; False if the wait timed out.

        A program that is about to ``close()`` calls this so typed-ahead lines are not lost.
        """
        async with asyncio.timeout(timeout):
            while self._outbox or self.core.restoring or not self.connected:
                if self._closed or self._stopping:
                    return not self._outbox
                await asyncio.sleep(FLUSH_POLL)
        return True

    async def send(self, msg: Message | str) -> None:
        """Send a raw line or a ``Message``; queued while reconnecting, sent after the rejoin.

        Raises:
            LineError: the line is malformed, has CR/LF/NUL in it, or is over 512 bytes.
            SessionClosed: the session has ended.
        """
        msg = as_message(msg)
        if self._closed or self._stopping:
            raise SessionClosed("the session is closed")
        link = self._link
        if not self.connected or link is None or link.closed or self.core.restoring:
            if len(self._outbox) >= self.config.queue_size:
                raise ConnectionError("not connected and the outgoing queue is full")
            self._outbox.append(msg)
            return
        link.write(msg)
        await link.drain()

    async def request(
        self,
        msg: Message | str,
        until: Callable[[Message], bool],
        timeout: float = REQUEST_TIMEOUT,
        match: Callable[[Message], bool] | None = None,
    ) -> list[Message]:
        """Send a query and collect the replies up to and including the one ``until`` accepts.

        Every message is still delivered as an event too. ``match`` (optional) keeps only the
        replies it accepts. Raises ``TimeoutError`` when the end marker does not come in time,
        ``ConnectionError`` when not connected (e.g. reconnecting) or the link drops first.
        """
        msg = as_message(msg)
        link = self._link
        if self._closed or self._stopping:
            raise SessionClosed("the session is closed")
        if link is None or link.closed:
            raise ConnectionError("not connected")
        col, future = expect_replies(self.core, until, match)
        try:
            link.write(msg)  # direct: requests bypass the typed-ahead queue
            await link.drain()
            return await asyncio.wait_for(future, timeout)
        finally:
            self.core.collectors.discard(col)


