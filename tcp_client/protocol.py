"""The client session's protocol core, sans-I/O: bytes in, typed events and bytes out.

``ClientProtocol`` is one user's IRC session without sockets or timers (as h11/wsproto): feed it
what the server sent (``receive_data``), send what ``data_to_send`` returns, and hand the consumer
what ``events_received`` returns. It runs the registration handshake on every new connection,
answers PINGs, tracks our nick, channels and the newest msgid per channel, drops duplicate chat
lines (a gap fill overlaps live traffic), holds a channel's live lines while its gap is filled,
feeds pending requests, and decodes the rest into events. The asyncio side (``link``,
``session``) only moves bytes and keeps time.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace

from tcp_server.protocol import (
    LineBuffer,
    Message,
    ProtocolError,
    casefold,
    format_line,
    is_channel_name,
    nick_of,
    parse_line,
)

from .config import SessionConfig
from .decode import EventDecoder
from .events import ChatMessage, Event, ServerNotice
from .registration import Registration, RegistrationError, update_isupport
from .requests import Collector, Collectors

log = logging.getLogger("tcpchat.client")

SEEN_MSGIDS = 4096
"""How many msgids of history lines (and of live lines held during a gap fill) are remembered to
drop duplicates (history overlaps live traffic)."""
PARSE_CACHE_SIZE = 1024
"""Recently parsed lines remembered per process (see ``_parse``)."""

_parsed: dict[bytes, Message] = {}
_whole_reads: dict[bytes, Message] = {}
"""Reads that were exactly one complete line -> its message (see ``receive_data``)."""
_channel_keys: dict[str, str | None] = {}
"""Chat target -> its casefolded form when it is a channel, else None (see ``_channel_key``)."""


def _parse(line: bytes) -> Message:
    """``parse_line`` with a small process-wide cache of recent lines.

    The server formats a channel line once and sends the same bytes to every member, so a
    process holding many connections to one room (the web gateway: one per browser) receives
    each line many times. ``Message`` is immutable, so the parsed object is shared.
    """
    msg = _parsed.get(line)
    if msg is None:
        msg = parse_line(line)
        if len(_parsed) >= PARSE_CACHE_SIZE:
            _parsed.clear()
        _parsed[line] = msg
    return msg


class LiveChat:
    """A read that was exactly one live chat line (PRIVMSG/NOTICE with a msgid, outside any batch),
    with what each connection's bookkeeping needs of it, worked out once per process."""

    __slots__ = ("msg", "msgid", "time", "channel")

    def __init__(self, msg: Message, msgid: str) -> None:
        self.msg, self.msgid, self.time = msg, msgid, msg.tags.get("time")
        self.channel = _channel_key(msg.params[0])


_live_chats: dict[bytes, LiveChat] = {}
"""Whole reads that were one live chat line (see ``ClientProtocol.receive_live_chat``)."""


def _remember_read(data: bytes, msg: Message) -> None:
    """Remember that ``data`` was exactly the one line ``msg`` (bounded like the parse cache)."""
    if len(_whole_reads) >= PARSE_CACHE_SIZE:
        _whole_reads.clear()
        _live_chats.clear()
    _whole_reads[data] = msg
    tags = msg.tags
    if (msg.command == "PRIVMSG" or msg.command == "NOTICE") and len(msg.params) >= 2 and "batch" not in tags:
        msgid = tags.get("msgid")
        if msgid is not None:
            _live_chats[data] = LiveChat(msg, msgid)


def _channel_key(target: str) -> str | None:
    """The casefolded channel name ``target`` is filed under, or None for a private target; a
    process sees few distinct targets, so the answer is kept (bounded like the parse cache)."""
    try:
        return _channel_keys[target]
    except KeyError:
        pass
    if len(_channel_keys) >= PARSE_CACHE_SIZE:
        _channel_keys.clear()
    key = _channel_keys[target] = casefold(target) if is_channel_name(target) else None
    return key


class ClientProtocol:
    """One session's IRC state across its connections (reconnects keep channels, msgids, nick)."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.wanted_nick = config.nick  # the nick the user chose; reclaimed after a fallback to nick_
        self.nick = config.nick
        self.caps: set[str] = set()
        self.isupport: dict[str, str] = {}
        self.prefix: str | None = None  # our nick!user@host as the server shows it
        self.account: str | None = None  # the account the server says we are logged in to
        self.registration: Registration | None = None
        self.failure: Exception | None = None  # why the current connection's registration failed
        self.error = ""  # the text of the server's ERROR on the current connection
        self.killed = ""
        self.restoring = False  # rejoining after a reconnect: no history-on-join requests
        self.overflowed = False  # held lines went over the queue size: the session must end
        self.channels: dict[str, str] = {}  # casefolded -> as the server spells it
        self.keys: dict[str, str] = {}
        self.last_msgid: dict[str, str] = {}  # casefolded channel -> newest msgid seen
        self.last_time: str | None = None  # newest server-time tag seen
        self.collectors = Collectors()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._filling: dict[str, list[Message]] = {}  # channels being gap-filled: held live lines
        self._decoder = EventDecoder(lambda: self.nick)
        self._buffer = LineBuffer()
        self._out: list[bytes] = []
        self._events: list[Event] = []

    # ---- connection lifecycle ------------------------------------------------------------
    @property
    def registered(self) -> bool:
        """True once the current connection finished registering (MOTD, and OPER if asked)."""
        return self.registration is not None and self.registration.done and self.failure is None

    def connection_made(self, nick_fallback: bool | None = None) -> None:
        """A new connection: reset what belongs to it and start the handshake."""
        c = self.config
        self._buffer = LineBuffer()
        self.failure, self.error, self.caps, self.isupport = None, "", set(), {}
        self.registration = Registration(
            self.wanted_nick, c.username or self.wanted_nick, c.realname or self.wanted_nick, c.password,
            c.webirc, c.caps, c.nick_fallback if nick_fallback is None else nick_fallback, c.oper,
            c.account,
        )
        self.isupport = self.registration.isupport  # one dict (each 005 is applied to it twice: same result)
        for msg in self.registration.start():
            self.send(msg)

    def connection_lost(self) -> None:
        """The connection ended: fail what waits on it."""
        reg = self.registration
        if reg is not None and not reg.done and self.failure is None:
            self.failure = reg.closed()
        self.collectors.fail_all(ConnectionError("connection lost"))

    # ---- bytes in / out ------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the server; then call ``data_to_send`` and ``events_received``.

        A read that is exactly one whole line is common (one chat line per wakeup), and a process
        holding many connections to one room (the gateway) receives the same read on each: such a
        read is remembered with its parsed message, so the next connection handed the same bytes
        at a line start skips the framing and the parse (the result is the same).
        """
        buffer = self._buffer
        if buffer.at_line_start:
            msg = _whole_reads.get(data)
            if msg is not None:
                self.receive_message(msg)
                return
            whole = data[-1:] == b"\n"
        else:
            whole = False
        lines = buffer.feed(data)
        for line in lines:
            if not isinstance(line, bytes):
                log.warning("dropped an over-long line from the server")
                continue
            try:
                msg = _parse(line)
            except ProtocolError as exc:
                log.warning("dropped a malformed line from the server: %s", exc)
                continue
            if whole and len(lines) == 1:
                _remember_read(data, msg)
            self.receive_message(msg)

    def receive_live_chat(self, data: bytes) -> ChatMessage | ServerNotice | None:
        """The bulk of the traffic in one step: when ``data`` is a whole read already seen by this
        process as one live chat line, and this connection is registered with nothing pending
        (no partial line, no request collecting lines, no gap being filled, no event not yet
        taken), do ``receive_data``'s bookkeeping for it and return its event.

        None when it is not such a read or not now: nothing was consumed, call ``receive_data``.
        The result is the same as ``receive_data`` then ``events_received`` (a property test
        checks it); it only skips the framing, the parse and the dispatch.
        """
        chat = _live_chats.get(data)
        if chat is None or self._events or self._filling or self.collectors.pending:
            return None
        reg = self.registration
        if reg is None or not reg.done or self.failure is not None or not self._buffer.at_line_start:
            return None
        msgid = chat.msgid
        if msgid in self._seen:
            return None
        event = self._decoder.chat(chat.msg)
        if event is None:  # a CTCP request the general path drops
            return None
        if chat.time is not None:
            self.last_time = chat.time
        if chat.channel is not None:
            self.last_msgid[chat.channel] = msgid
        return event

    def send(self, msg: Message) -> None:
        """Queue one message for the server."""
        self._out.append(format_line(msg))

    def data_to_send(self) -> bytes:
        """The bytes to write to the server now (b"" when none)."""
        if not self._out:
            return b""
        out, self._out = self._out, []
        return b"".join(out)

    def events_received(self) -> list[Event]:
        """The events decoded since the last call, in order."""
        events, self._events = self._events, []
        return events

    def expect(self, collector: Collector) -> Collector:
        """Feed every following line to ``collector`` until it finishes."""
        return self.collectors.add(collector)

    # ---- incoming ------------------------------------------------------------------------
    def receive_message(self, msg: Message) -> None:
        """One parsed line: registration, state, requests, duplicates, then events."""
        reg = self.registration
        if reg is not None and not reg.done and self.failure is None:
            self._register(reg, msg)
        cmd, tags = msg.command, msg.tags
        if "time" in tags:
            self.last_time = tags["time"]
        if cmd == "PRIVMSG" or cmd == "NOTICE":  # the bulk of the traffic: nothing to observe
            if self.collectors.pending:
                self.collectors.feed(msg)
            msgid = tags.get("msgid")
            if msgid is not None and not self._first_sight(msg, msgid):
                return
        else:
            self._observe(msg)
            if self.collectors.pending:
                self.collectors.feed(msg)
        self._events += self._decoder.feed(msg)

    def _register(self, reg: Registration, msg: Message) -> None:
        try:
            for reply in reg.feed(msg):
                self.send(reply)
        except RegistrationError as exc:
            self.failure = exc
        if reg.done:
            self.nick, self.prefix, self.account = reg.nick, reg.prefix, reg.account
            self.caps = reg.caps  # the registration is over: its set is no longer changed

    def _first_sight(self, msg: Message, msgid: str) -> bool:
        """False for a chat line already delivered (or held while its channel's gap is filled).

        Duplicates come from history overlapping live traffic, so only the lines that can be
        repeated are remembered: history lines (batches) and live lines of a channel whose gap
        is being filled. A plain live line is checked but not remembered, so a connection in a
        busy room keeps no per-line state (4096 remembered msgids were ~300 KiB per web user).
        """
        target = msg.params[0] if msg.params else ""
        in_batch = "batch" in msg.tags
        folded = _channel_key(target)
        filling = bool(self._filling) and folded in self._filling
        # A history batch asked for on a join (not a gap fill) is passed on whole, lines seen
        # before included: after leaving and rejoining, the room's history is shown again.
        seen = self._seen
        if msgid in seen and (not in_batch or filling):
            return False
        if in_batch or filling:
            seen[msgid] = None
            if len(seen) > SEEN_MSGIDS:
                seen.popitem(last=False)
        if folded is not None:
            if filling and not in_batch:
                held = self._filling[folded]
                if len(held) >= self.config.queue_size:
                    self.overflowed = True
                else:
                    held.append(msg)
                return False
            self.last_msgid[folded] = msgid
        return True

    def _is_me(self, source: str | None) -> bool:
        return bool(source) and casefold(nick_of(source)) == casefold(self.nick)

    def _frees_wanted_nick(self, source: str | None) -> bool:
        """True when ``source`` holds the nick we want while we use a fallback (nick_)."""
        wanted = casefold(self.wanted_nick)
        return bool(source) and casefold(nick_of(source)) == wanted and casefold(self.nick) != wanted

    def _observe(self, msg: Message) -> None:
        """Keep nick, channels, PONGs and disconnect reasons up to date."""
        cmd = msg.command
        if cmd == "PING":
            self.send(Message("PONG", msg.params))
        elif cmd == "ERROR":
            self.error = msg.param(0, "closed by server")
        elif cmd == "NICK" and self._is_me(msg.source):
            self.nick = self.wanted_nick = msg.param(0, self.nick)
            self.prefix = None
        elif cmd in ("QUIT", "NICK") and self._frees_wanted_nick(msg.source):
            self.send(Message("NICK", (self.wanted_nick,)))  # our stale connection is gone
        elif cmd == "JOIN" and self._is_me(msg.source):
            name = msg.param(0)
            self.channels[casefold(name)] = name
            if msg.source and "@" in msg.source:
                self.prefix = msg.source
            if self.config.history_on_join and self.has_history() and not self.restoring:
                self.send(Message("CHATHISTORY", ("LATEST", name, "*", str(self.config.history_on_join))))
        elif (cmd == "PART" and self._is_me(msg.source)) or (
            cmd == "KICK" and casefold(msg.param(1)) == casefold(self.nick)
        ):
            self.channels.pop(casefold(msg.param(0)), None)
        elif cmd == "KILL" and casefold(msg.param(0)) == casefold(self.nick):
            self.killed = f"killed: {msg.param(1, 'no reason')}"
        elif cmd == "005":
            update_isupport(self.isupport, msg)
        elif cmd == "900" and len(msg.params) > 2:  # RPL_LOGGEDIN, e.g. after REGISTER
            self.account = msg.params[2]
        elif cmd == "901":  # RPL_LOGGEDOUT
            self.account = None

    def remember_login(self, account: str, password: str) -> None:
        """Log in as ``account`` (SASL PLAIN) on every later connection, e.g. after REGISTER
        created it on this one."""
        self.config = replace(self.config, account=(account, password))

    # ---- gap fill --------------------------------------------------------------------------
    def has_history(self) -> bool:
        """True when the server serves CHATHISTORY to us (and batches delimit the replies)."""
        return "draft/chathistory" in self.caps and "batch" in self.caps

    def gap_start(self, channel: str) -> str | None:
        """Where a channel's gap begins: its last msgid, else the newest server time we saw."""
        if not self.has_history():
            return None
        if msgid := self.last_msgid.get(casefold(channel)):
            return f"msgid={msgid}"
        return f"timestamp={self.last_time}" if self.last_time else None

    def hold(self, channel: str) -> None:
        """Hold the channel's live lines (they arrive while its gap is being filled)."""
        self._filling[casefold(channel)] = []

    def release(self, channel: str) -> None:
        """End a channel's gap fill: decode the live lines held meanwhile, in arrival order."""
        folded = casefold(channel)
        for msg in self._filling.pop(folded, []):
            self.last_msgid[folded] = msg.tags.get("msgid", self.last_msgid.get(folded, ""))
            self._events += self._decoder.feed(msg)
