"""IRC -> typed client events: the one place the client side decodes what the server says.

Sans-I/O: ``EventDecoder.feed(message)`` returns the events one line produces (often one, none
for the middle of a NAMES reply or a history batch). The only state kept is what IRC spreads over
several lines (NAMES replies, CHATHISTORY batches, ``draft/multiline`` batches, which become one
chat line with the rows joined by newlines); whose nick is ``own`` is asked on every call,
since the session changes it. Both the terminal UI and the web gateway's bridge consume these.
"""

from __future__ import annotations

from collections.abc import Callable

from tcp_server.protocol import Message, casefold, nick_of
from tcp_server.protocol import numerics as N

from .events import (
    AwayChanged,
    ChatMessage,
    ClientEvent,
    ErrorReply,
    Failed,
    History,
    Invited,
    Joined,
    Member,
    ModeChanged,
    Names,
    NickChanged,
    Parted,
    Quit,
    ServerClosing,
    ServerLine,
    ServerNotice,
    Topic,
)

MEMBER_PREFIXES = "~&@%+"
"""Channel member prefix characters (multi-prefix may stack them, ``@+nick``)."""
ACTION_PREFIX = "\x01ACTION "
MAX_HISTORY_BATCH = 1000
"""Most messages collected into one ``History`` event (a server sending more is cut off)."""
MULTILINE, CONCAT = "draft/multiline", "draft/multiline-concat"
MAX_MULTILINE_LINES = 200
"""Lines kept per ``draft/multiline`` batch (the server's own limit is far lower)."""
CHAT_CACHE_SIZE = 1024
"""Recent chat lines whose decoded event is shared (emptied when full), see ``chat``."""

_NOT_YET = object()
_chats: dict[int, list[object]] = {}
"""id(line) -> [line, casefolded sender, event for others, event for the sender]."""


def split_member(entry: str) -> Member:
    """``"@+alice"`` -> ``Member("alice", "@+")``."""
    i = 0
    while i < len(entry) and entry[i] in MEMBER_PREFIXES:
        i += 1
    return Member(entry[i:], entry[:i])


def decode_chat(msg: Message, own: bool) -> ChatMessage | ServerNotice | None:
    """A PRIVMSG/NOTICE as an event; None for CTCP requests other than ACTION."""
    if len(msg.params) < 2:
        return None
    target, text = msg.params[0], msg.params[1]
    kind = "notice" if msg.command == "NOTICE" else "privmsg"
    if not msg.source or "!" not in msg.source:
        return ServerNotice(msg.source or "", text, kind, msg=msg)
    if text.startswith("\x01"):
        if not (text.startswith(ACTION_PREFIX) or text == "\x01ACTION\x01"):
            return None
        text = text[len(ACTION_PREFIX):].rstrip("\x01") if len(text) > 8 else ""
        kind = "action"
    tags = msg.tags
    return ChatMessage(
        target, nick_of(msg.source), text, kind, own, tags.get("msgid"), tags.get("time"), msg=msg
    )


class EventDecoder:
    """Decode one connection's IRC lines; ``own_nick`` is asked whenever ``own`` matters."""

    def __init__(self, own_nick: Callable[[], str]) -> None:
        self._own_nick = own_nick
        self._own: tuple[str, str] = ("", "")  # our nick and its casefolded form, recomputed on change
        self._names: dict[str, list[Member]] = {}
        self._batches: dict[str, tuple[str, list[ChatMessage]]] = {}
        self._multiline: dict[str, tuple[Message, list[tuple[str, bool, str]]]] = {}

    def _own_folded(self) -> str:
        nick = self._own_nick()
        if nick != self._own[0]:
            self._own = (nick, casefold(nick))
        return self._own[1]

    def is_me(self, nick: str) -> bool:
        """True when ``nick`` is our own (casefolded)."""
        return casefold(nick) == self._own_folded()

    def feed(self, msg: Message) -> list[ClientEvent]:
        """The events one IRC message produces."""
        cmd = msg.command
        if cmd == "PRIVMSG" or cmd == "NOTICE":
            if self._multiline and msg.tags.get("batch") in self._multiline:
                lines = self._multiline[msg.tags["batch"]][1]
                if len(lines) < MAX_MULTILINE_LINES and len(msg.params) >= 2:
                    lines.append((msg.params[1], CONCAT in msg.tags, cmd))
                return []
            event = self.chat(msg)
            if event is None:
                return []
            batch = msg.tags.get("batch")
            if batch is not None and batch in self._batches:
                collected = self._batches[batch][1]
                if isinstance(event, ChatMessage) and len(collected) < MAX_HISTORY_BATCH:
                    collected.append(event)
                return []
            return [event]
        handler = _HANDLERS.get(cmd)
        if handler is not None:
            return handler(self, msg)
        if len(cmd) == 3 and cmd.isdigit() and cmd[0] in "45":
            return [ErrorReply(cmd, msg.params[1:], msg=msg)]
        return [ServerLine(cmd, msg.params, nick_of(msg.source), msg=msg)]

    def chat(self, msg: Message) -> ChatMessage | ServerNotice | None:
        """The event of one PRIVMSG/NOTICE (None for a CTCP request other than ACTION).

        Chat lines are the bulk of the traffic and a process holding many connections to one
        room (the gateway) receives the same parsed line on each: the line's sender is casefolded
        once, and its event decoded once per "is it ours" and shared (events are immutable)."""
        entry = _chats.get(id(msg))
        if entry is None or entry[0] is not msg:
            if len(_chats) >= CHAT_CACHE_SIZE:
                _chats.clear()
            # Holding msg keeps its id from being reused while it is cached.
            entry = _chats[id(msg)] = [msg, casefold(nick_of(msg.source)), _NOT_YET, _NOT_YET]
        own = entry[1] == self._own_folded()
        event = entry[3 if own else 2]
        if event is _NOT_YET:
            event = entry[3 if own else 2] = decode_chat(msg, own)
        return event  # type: ignore[return-value]

    def _join(self, msg: Message) -> list[ClientEvent]:
        nick = nick_of(msg.source)
        return [Joined(msg.param(0), nick, self.is_me(nick), msg=msg)]

    def _part(self, msg: Message) -> list[ClientEvent]:
        nick = nick_of(msg.source)
        return [Parted(msg.param(0), nick, msg.param(1), self.is_me(nick), msg=msg)]

    def _kick(self, msg: Message) -> list[ClientEvent]:
        nick = msg.param(1)
        return [Parted(msg.param(0), nick, msg.param(2), self.is_me(nick), nick_of(msg.source), msg=msg)]

    def _quit(self, msg: Message) -> list[ClientEvent]:
        return [Quit(nick_of(msg.source), msg.param(0), msg=msg)]

    def _nick(self, msg: Message) -> list[ClientEvent]:
        old, new = nick_of(msg.source), msg.param(0)
        # The session may already have switched its own nick when this arrives.
        return [NickChanged(old, new, self.is_me(old) or self.is_me(new), msg=msg)]

    def _namreply(self, msg: Message) -> list[ClientEvent]:
        members = self._names.setdefault(casefold(msg.param(2)), [])
        for entry in msg.params[-1].split():
            member = split_member(entry)
            if member.nick:
                members.append(member)
        return []

    def _endofnames(self, msg: Message) -> list[ClientEvent]:
        room = msg.param(1)
        return [Names(room, tuple(self._names.pop(casefold(room), ())), msg=msg)]

    def _topic(self, msg: Message) -> list[ClientEvent]:
        return [Topic(msg.param(0), msg.param(1), nick_of(msg.source), msg=msg)]

    def _rpl_topic(self, msg: Message) -> list[ClientEvent]:
        return [Topic(msg.param(1), msg.param(2), None, msg=msg)]

    def _rpl_notopic(self, msg: Message) -> list[ClientEvent]:
        return [Topic(msg.param(1), "", None, msg=msg)]

    def _batch(self, msg: Message) -> list[ClientEvent]:
        """History batches become one ``History``; a ``draft/multiline`` batch (live, or nested in
        a history batch) becomes one chat line, its rows joined by newlines."""
        ref = msg.param(0)
        if ref.startswith("+") and len(msg.params) >= 3 and msg.param(1) == MULTILINE:
            self._multiline[ref[1:]] = (msg, [])
            return []
        if ref.startswith("-") and ref[1:] in self._multiline:
            opening, lines = self._multiline.pop(ref[1:])
            if not lines:
                return []
            text = "".join(("" if concat or i == 0 else "\n") + line for i, (line, concat, _) in enumerate(lines))
            return self.feed(Message(lines[0][2], (opening.param(2), text), opening.source, opening.tags))
        if ref.startswith("+") and len(msg.params) >= 3 and msg.param(1).endswith("chathistory"):
            self._batches[ref[1:]] = (msg.param(2), [])
            return []
        if ref.startswith("-") and ref[1:] in self._batches:
            target, collected = self._batches.pop(ref[1:])
            return [History(target, tuple(collected), msg=msg)]
        return [ServerLine(msg.command, msg.params, nick_of(msg.source), msg=msg)]

    def _mode(self, msg: Message) -> list[ClientEvent]:
        return [ModeChanged(msg.param(0), nick_of(msg.source), msg.params[1:], msg=msg)]

    def _invite(self, msg: Message) -> list[ClientEvent]:
        return [Invited(nick_of(msg.source), msg.param(1), msg=msg)]

    def _away(self, msg: Message) -> list[ClientEvent]:
        return [AwayChanged(nick_of(msg.source), msg.param(0), msg=msg)]

    def _fail(self, msg: Message) -> list[ClientEvent]:
        p = msg.params
        return [Failed(msg.param(0), msg.param(1), p[2:-1], p[-1] if len(p) > 2 else "", msg=msg)]

    def _error(self, msg: Message) -> list[ClientEvent]:
        return [ServerClosing(msg.param(0), msg=msg)]


_HANDLERS: dict[str, Callable[[EventDecoder, Message], list[ClientEvent]]] = {
    "JOIN": EventDecoder._join,
    "PART": EventDecoder._part,
    "KICK": EventDecoder._kick,
    "QUIT": EventDecoder._quit,
    "NICK": EventDecoder._nick,
    "TOPIC": EventDecoder._topic,
    "MODE": EventDecoder._mode,
    "INVITE": EventDecoder._invite,
    "AWAY": EventDecoder._away,
    "BATCH": EventDecoder._batch,
    "FAIL": EventDecoder._fail,
    "ERROR": EventDecoder._error,
    N.RPL_NAMREPLY: EventDecoder._namreply,
    N.RPL_ENDOFNAMES: EventDecoder._endofnames,
    N.RPL_TOPIC: EventDecoder._rpl_topic,
    N.RPL_NOTOPIC: EventDecoder._rpl_notopic,
}
