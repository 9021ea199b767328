"""An asyncio IRC client session on the shared protocol core.

One ``ClientSession`` is one user's connection as an application sees it: it registers, answers
PINGs, and -- when the link drops -- reconnects with backoff and jitter, re-registers, rejoins its
channels and fills the gap with ``CHATHISTORY AFTER`` (when the server offers it), so the consumer
of ``events()`` sees no lost and no duplicated channel message. The terminal client and the web
gateway's bridge both sit on it. Events are the server's ``Message`` objects plus synthetic
``SessionStatus`` events; the queue of undelivered events is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterable

from tcp_server.protocol import Message, casefold, is_channel_name

from .commands import CommandsMixin
from .decode import EventDecoder
from .events import Event, SessionClosed, SessionStatus
from .gapfill import RestoreMixin
from .lines import LineError, as_message
from .link import Link, tls_context
from .queue import EventQueue
from .registration import RegistrationError, WebIrc, register, update_isupport
from .requests import RequestsMixin, _Collector

__all__ = [
    "DEFAULT_CAPS", "ClientSession", "LineError", "RegistrationError", "SessionClosed",
    "SessionStatus", "WebIrc",
]

log = logging.getLogger("tcpchat.client")

DEFAULT_CAPS = (
    "message-tags", "server-time", "echo-message", "multi-prefix", "away-notify", "batch",
    "draft/chathistory",
)
"""Capabilities requested when the server offers them."""
SEEN_MSGIDS = 4096
"""How many recent msgids are remembered to drop duplicates (gap fill overlaps live traffic)."""
QUIT_WAIT = 2.0
"""Seconds ``close()`` waits for the server to acknowledge QUIT before dropping the socket."""
MESSAGE_COMMANDS = ("PRIVMSG", "NOTICE")
FLUSH_POLL = 0.05
"""Seconds between checks in ``flushed()``."""


class ClientSession(RestoreMixin, CommandsMixin, RequestsMixin):
    """A reconnecting IRC client connection with a bounded event queue."""

    def __init__(
        self, host: str, port: int, nick: str, *, username: str | None = None,
        realname: str | None = None, password: str | None = None, tls: bool = False,
        tls_verify: bool = True, webirc: WebIrc | None = None, caps: Iterable[str] = DEFAULT_CAPS,
        reconnect: bool = True, nick_fallback: bool = True, backoff_initial: float = 0.5,
        backoff_max: float = 30.0, connect_timeout: float = 10.0, queue_size: int = 1000,
        oper: tuple[str, str] | None = None, history_on_join: int = 0,
        ping_interval: float = 60.0, ping_timeout: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.nick = nick
        self.wanted_nick = nick  # the nick the user chose; reclaimed after a fallback to nick_
        self.username = username or nick
        self.realname = realname or nick
        self._password, self._webirc, self._oper = password, webirc, oper
        self._tls = tls_context(tls_verify) if tls else None
        self.want_caps = tuple(caps)
        self.reconnect, self.nick_fallback = reconnect, nick_fallback
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.connect_timeout, self.queue_size = connect_timeout, queue_size
        self.history_on_join = history_on_join
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.caps: set[str] = set()
        self.isupport: dict[str, str] = {}
        self.prefix: str | None = None  # our nick!user@host as the server shows it
        self.connected = False
        self.last_msgid: dict[str, str] = {}  # casefolded channel -> newest msgid seen
        self._channels: dict[str, str] = {}  # casefolded -> as the server spells it
        self._keys: dict[str, str] = {}
        self._link: Link | None = None
        self._events = EventQueue(queue_size)
        self._decoder = EventDecoder(lambda: self.nick)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._filling: dict[str, list[Message]] = {}  # channels being gap-filled: held live lines
        self._collectors: list[_Collector] = []
        self._outbox: deque[Message] = deque()  # typed while disconnected, sent after reconnect
        self._closed = self._stopping = self._restoring = False
        self._error = self._killed = ""
        self._last_time: str | None = None  # newest server-time tag seen
        self._supervisor: asyncio.Task[None] | None = None

    # ---- public state ----------------------------------------------------------------
    @property
    def channels(self) -> set[str]:
        """Channels we are in (or will rejoin after a reconnect), spelled as the server does."""
        return set(self._channels.values())

    @property
    def closed(self) -> bool:
        """True once the session has ended for good."""
        return self._closed

    def has_history(self) -> bool:
        """True when the server serves CHATHISTORY to us (and batches delimit the replies)."""
        return "draft/chathistory" in self.caps and "batch" in self.caps

    # ---- lifecycle -------------------------------------------------------------------
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
                if self._supervisor is not None:
                    await asyncio.wait_for(asyncio.shield(self._supervisor), QUIT_WAIT)
        if self._supervisor is not None and self._supervisor is not asyncio.current_task():
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._supervisor
        self._finish(reason)

    quit = close

    async def _connect(self, nick_fallback: bool | None = None) -> Link:
        """Open a link and register on it (one attempt, bounded by ``connect_timeout``)."""
        async with asyncio.timeout(self.connect_timeout):
            link = await Link.open(
                self.host, self.port, tls=self._tls,
                ping_interval=self.ping_interval, ping_timeout=self.ping_timeout,
            )
            try:
                self._error = ""
                done = await register(
                    link, self.wanted_nick, username=self.username, realname=self.realname,
                    password=self._password, webirc=self._webirc, want_caps=self.want_caps,
                    nick_fallback=self.nick_fallback if nick_fallback is None else nick_fallback,
                    oper=self._oper, on_message=self._deliver,
                )
            except BaseException:
                link.close()
                raise
        self.nick, self.caps, self.isupport, self.prefix = done.nick, done.caps, done.isupport, done.prefix
        self._link, self.connected = link, True
        return link

    async def _supervise(self, link: Link) -> None:
        """Read until the link drops; reconnect and restore the session while allowed."""
        restoring = False
        try:
            while not (self._closed or self._stopping):
                reader = asyncio.create_task(self._read_loop(link))
                if restoring:
                    await self._restore(link)
                reason = await reader
                self.connected = False
                link.close()
                if self._closed or self._stopping:
                    return
                if self._killed or not self.reconnect:
                    self._finish(self._killed or reason)
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
        delay = self.backoff_initial
        while not (self._closed or self._stopping):
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, self.backoff_max)
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

    async def _read_loop(self, link: Link) -> str:
        """Deliver messages until the link ends; return why it ended."""
        try:
            while not self._closed:
                msg = await link.next_message(keepalive=True)
                if msg is None:
                    return self._error or "connection closed by the server"
                self._deliver(msg)
                if msg.command == "PING":
                    await link.drain()
            return "closed"
        except (OSError, ConnectionError) as exc:
            return str(exc) or type(exc).__name__
        finally:
            link.close()  # later requests on this link fail at once instead of timing out
            for col in self._collectors:
                if not col.future.done():
                    col.future.set_exception(ConnectionError("connection lost"))

    # ---- incoming ----------------------------------------------------------------------
    def _deliver(self, msg: Message) -> None:
        """Track state, feed pending requests, drop duplicates, queue the event."""
        self._observe(msg)
        if "time" in msg.tags:
            self._last_time = msg.tags["time"]
        self._feed_collectors(msg)
        if msg.command in MESSAGE_COMMANDS and (msgid := msg.tags.get("msgid")):
            if msgid in self._seen:
                return
            self._seen[msgid] = None
            if len(self._seen) > SEEN_MSGIDS:
                self._seen.popitem(last=False)
            target = msg.param(0)
            if is_channel_name(target):
                folded = casefold(target)
                if folded in self._filling and "batch" not in msg.tags:
                    held = self._filling[folded]
                    if len(held) >= self.queue_size:
                        self._emit_overflow()
                        return
                    held.append(msg)
                    return
                self.last_msgid[folded] = msgid
        self._emit_line(msg)

    def _emit_line(self, msg: Message) -> None:
        """Decode one line into typed events and queue them."""
        for event in self._decoder.feed(msg):
            self._emit(event)

    def _is_me(self, source: str | None) -> bool:
        return bool(source) and casefold(source.split("!", 1)[0]) == casefold(self.nick)

    def _frees_wanted_nick(self, source: str | None) -> bool:
        """True when ``source`` holds the nick we want while we use a fallback (nick_)."""
        wanted = casefold(self.wanted_nick)
        return (
            bool(source) and casefold(source.split("!", 1)[0]) == wanted and casefold(self.nick) != wanted
        )

    def _observe(self, msg: Message) -> None:
        """Keep nick, channels, PONGs and disconnect reasons up to date."""
        cmd, link = msg.command, self._link
        if cmd == "PING" and link is not None:
            link.write(Message("PONG", msg.params))
        elif cmd == "ERROR":
            self._error = msg.param(0, "closed by server")
        elif cmd == "NICK" and self._is_me(msg.source):
            self.nick = self.wanted_nick = msg.param(0, self.nick)
            self.prefix = None
        elif cmd in ("QUIT", "NICK") and self._frees_wanted_nick(msg.source) and link is not None:
            link.write(Message("NICK", (self.wanted_nick,)))  # our stale connection is gone
        elif cmd == "JOIN" and self._is_me(msg.source):
            name = msg.param(0)
            self._channels[casefold(name)] = name
            if msg.source and "@" in msg.source:
                self.prefix = msg.source
            if self.history_on_join and self.has_history() and not self._restoring and link is not None:
                link.write(Message("CHATHISTORY", ("LATEST", name, "*", str(self.history_on_join))))
        elif (cmd == "PART" and self._is_me(msg.source)) or (
            cmd == "KICK" and casefold(msg.param(1)) == casefold(self.nick)
        ):
            self._channels.pop(casefold(msg.param(0)), None)
        elif cmd == "KILL" and casefold(msg.param(0)) == casefold(self.nick):
            self._killed = f"killed: {msg.param(1, 'no reason')}"
        elif cmd == "005":
            update_isupport(self.isupport, msg)

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
        for col in self._collectors:
            if not col.future.done():
                col.future.set_exception(SessionClosed(reason))

    def listen(self, callback: Callable[[Event], None]) -> None:
        """Have every event passed to ``callback`` as it arrives instead of using ``events()``.

        See ``EventQueue.listen``: no task switch per event, the callback must not block.
        """
        self._events.listen(callback)

    async def next_event(self, timeout: float | None = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout`` seconds, ``SessionClosed`` after the end."""
        return await self._events.get(timeout)

    async def events(self) -> AsyncIterator[Event]:
        """Every server message and status change, ending after the ``closed`` status."""
        while True:
            try:
                event = await self.next_event()
            except SessionClosed:
                return
            yield event

    # ---- outgoing ----------------------------------------------------------------------
    @property
    def queued(self) -> int:
        """Lines sent while disconnected that still wait for the reconnect."""
        return len(self._outbox)

    async def flushed(self, timeout: float) -> bool:
        """Wait until lines queued while disconnected went out; False if the wait timed out.

        A program that is about to ``close()`` calls this so typed-ahead lines are not lost.
        """
        async with asyncio.timeout(timeout):
            while self._outbox or self._restoring or not self.connected:
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
        if not self.connected or link is None or link.closed or self._restoring:
            if len(self._outbox) >= self.queue_size:
                raise ConnectionError("not connected and the outgoing queue is full")
            self._outbox.append(msg)
            return
        link.write(msg)
        await link.drain()
