"""IRC -> browser: turn parsed IRC ``Message`` objects into the JSON events of ``/ws``.

Sans-I/O: ``EventTranslator.feed(message)`` returns a list of JSON-ready dicts. The only state
kept is what the IRC wire spreads over several lines (NAMES replies, history batches); the
gateway keeps no shadow copy of rooms or members. Every event the page receives is built here
(``status`` is built by :func:`status_event`, ``error`` by :func:`error_event`) and documented next
to the code that builds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tcp_server.protocol import Message, casefold, is_channel_name
from tcp_server.protocol import numerics as N

Event = dict[str, Any]

MEMBER_PREFIXES = "~&@%+"
"""Channel member prefix characters (multi-prefix may stack them, ``@+nick``)."""
ACTION_PREFIX = "\x01ACTION "
MAX_HISTORY_BATCH = 1000
"""Most messages collected into one ``history`` event (a server sending more is cut off)."""
_QUIET_NUMERICS = {N.ERR_NOMOTD}
"""Error numerics that mean nothing to a web user."""


def error_event(code: str, message: str, **extra: Any) -> Event:
    """``error {code, message, target?}``: something the user did failed.

    ``code`` is an IRC numeric ("433", "482"...) or a gateway code: ``bad_json``, ``bad_type``,
    ``bad_field``, ``too_large``, ``rate_limited``, ``not_connected``, ``no_history``,
    ``upstream``, ``hello_timeout``.
    """
    return {"type": "error", "code": code, "message": message, **extra}


def status_event(state: str, nick: str | None, reason: str | None = None) -> Event:
    """``status {state, nick, reason?}``: the upstream IRC connection's state.

    ``state`` is ``connecting``, ``connected``, ``reconnecting`` or ``closed``.
    """
    event: Event = {"type": "status", "state": state, "nick": nick}
    if reason:
        event["reason"] = reason
    return event


def nick_of(source: str | None) -> str:
    """The nick part of a ``nick!user@host`` source (the whole source for servers)."""
    if not source:
        return ""
    return source.split("!", 1)[0]


def _iso_time(tags: Any) -> str:
    value = tags.get("time") if tags else None
    if value:
        return str(value)
    return datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def split_members(entry: str) -> tuple[str, str]:
    """``"@+alice"`` -> ``("alice", "@+")``."""
    i = 0
    while i < len(entry) and entry[i] in MEMBER_PREFIXES:
        i += 1
    return entry[i:], entry[:i]


class EventTranslator:
    """Translate upstream IRC messages for one browser; ``own_nick`` is asked on every call."""

    def __init__(self, own_nick: Callable[[], str]) -> None:
        self._own_nick = own_nick
        self._names: dict[str, list[dict[str, str]]] = {}
        self._batches: dict[str, tuple[str, list[Event]]] = {}

    def is_me(self, nick: str) -> bool:
        """True when ``nick`` is this browser's own nick (casefolded)."""
        return casefold(nick) == casefold(self._own_nick())

    def feed(self, msg: Message) -> list[Event]:
        """The browser events one IRC message produces (often none)."""
        batch_ref = msg.tags.get("batch") if msg.tags else None
        if batch_ref and batch_ref in self._batches and msg.command in ("PRIVMSG", "NOTICE"):
            room, collected = self._batches[batch_ref]
            event = self.message_event(msg)
            if event is not None and len(collected) < MAX_HISTORY_BATCH:
                collected.append(event)
            return []
        handler = _HANDLERS.get(msg.command)
        if handler is not None:
            return handler(self, msg)
        if len(msg.command) == 3 and msg.command[0] in "45" and msg.command not in _QUIET_NUMERICS:
            return [self._numeric_error(msg)]
        return []

    # -- messages -------------------------------------------------------------------------

    def message_event(self, msg: Message) -> Event | None:
        """``message {id, time, room|nick, from, text, kind, self}``: a chat line.

        ``kind`` is ``privmsg``, ``notice`` or ``action`` (``/me``). A private message carries
        ``nick`` (the other person of the conversation) instead of ``room``; ``self`` is true for
        our own messages echoed back by the server (echo-message: the send is confirmed).
        Server notices and CTCP requests other than ACTION produce no event.
        """
        if len(msg.params) < 2:
            return None
        target, text = msg.params[0], msg.params[1]
        sender = nick_of(msg.source)
        if not msg.source or "!" not in msg.source:
            return None  # server notices: not a conversation
        kind = "notice" if msg.command == "NOTICE" else "privmsg"
        if text.startswith("\x01"):
            if text.startswith(ACTION_PREFIX) or text == "\x01ACTION\x01":
                text = text[len(ACTION_PREFIX):].rstrip("\x01") if len(text) > 8 else ""
                kind = "action"
            else:
                return None
        mine = self.is_me(sender)
        event: Event = {
            "type": "message",
            "id": msg.tags.get("msgid") if msg.tags else None,
            "time": _iso_time(msg.tags),
            "from": sender,
            "text": text,
            "kind": kind,
            "self": mine,
        }
        if is_channel_name(target):
            event["room"] = target
        else:
            event["nick"] = target if mine else sender
        return event

    def _privmsg(self, msg: Message) -> list[Event]:
        event = self.message_event(msg)
        return [event] if event is not None else []

    # -- membership -----------------------------------------------------------------------

    def _join(self, msg: Message) -> list[Event]:
        """``join {room, nick, self}``: someone (or we) joined a room."""
        nick = nick_of(msg.source)
        return [{"type": "join", "room": msg.param(0), "nick": nick, "self": self.is_me(nick)}]

    def _part(self, msg: Message) -> list[Event]:
        """``part {room, nick, reason, self}``: someone (or we) left a room."""
        nick = nick_of(msg.source)
        return [
            {
                "type": "part",
                "room": msg.param(0),
                "nick": nick,
                "reason": msg.param(1),
                "self": self.is_me(nick),
            }
        ]

    def _kick(self, msg: Message) -> list[Event]:
        """A KICK is a ``part`` with ``by`` set to the operator who kicked."""
        nick = msg.param(1)
        return [
            {
                "type": "part",
                "room": msg.param(0),
                "nick": nick,
                "reason": msg.param(2),
                "by": nick_of(msg.source),
                "self": self.is_me(nick),
            }
        ]

    def _quit(self, msg: Message) -> list[Event]:
        """``quit {nick, reason}``: someone sharing a room disconnected."""
        return [{"type": "quit", "nick": nick_of(msg.source), "reason": msg.param(0)}]

    def _nick(self, msg: Message) -> list[Event]:
        """``nick {old, new, self}``: someone (or we) changed nick."""
        old = nick_of(msg.source)
        new = msg.param(0)
        # The session may already have switched its own nick when this arrives.
        mine = self.is_me(old) or self.is_me(new)
        return [{"type": "nick", "old": old, "new": new, "self": mine}]

    def _namreply(self, msg: Message) -> list[Event]:
        room = msg.param(2)
        members = self._names.setdefault(casefold(room), [])
        for entry in msg.param(3).split():
            nick, modes = split_members(entry)
            if nick:
                members.append({"nick": nick, "modes": modes})
        return []

    def _endofnames(self, msg: Message) -> list[Event]:
        """``names {room, members: [{nick, modes}]}``: the full member list of a room.

        ``modes`` holds the prefix characters (``@`` operator, ``+`` voice).
        """
        room = msg.param(1)
        members = self._names.pop(casefold(room), [])
        return [{"type": "names", "room": room, "members": members}]

    def _mode(self, msg: Message) -> list[Event]:
        """``mode {room, by, modes, args}``: a room's modes changed (``+o bob``: modes ``+o``, args
        ``["bob"]``). Member marks follow in a fresh ``names`` (the bridge asks for it)."""
        if not is_channel_name(msg.param(0)) or len(msg.params) < 2:
            return []
        return [{"type": "mode", "room": msg.param(0), "by": nick_of(msg.source), "modes": msg.param(1),
                 "args": list(msg.params[2:])}]

    # -- topics ---------------------------------------------------------------------------

    def _topic(self, msg: Message) -> list[Event]:
        """``topic {room, text, by}``: the topic changed (``by`` who) or was shown on join."""
        return [{"type": "topic", "room": msg.param(0), "text": msg.param(1), "by": nick_of(msg.source)}]

    def _rpl_topic(self, msg: Message) -> list[Event]:
        return [{"type": "topic", "room": msg.param(1), "text": msg.param(2), "by": None}]

    def _rpl_notopic(self, msg: Message) -> list[Event]:
        return [{"type": "topic", "room": msg.param(1), "text": "", "by": None}]

    # -- history batches ------------------------------------------------------------------

    def _batch(self, msg: Message) -> list[Event]:
        """``history {room, messages}``: a CHATHISTORY batch, oldest first, as ``message`` events."""
        ref = msg.param(0)
        if ref.startswith("+") and len(msg.params) >= 3 and msg.param(1).endswith("chathistory"):
            self._batches[ref[1:]] = (msg.param(2), [])
            return []
        if ref.startswith("-") and ref[1:] in self._batches:
            room, collected = self._batches.pop(ref[1:])
            key = "room" if is_channel_name(room) else "nick"
            return [{"type": "history", key: room, "messages": collected}]
        return []

    # -- errors ---------------------------------------------------------------------------

    def _numeric_error(self, msg: Message) -> Event:
        """Error numerics become ``error {code: numeric, message, target?}``."""
        params = msg.params[1:]  # drop our own nick
        text = params[-1] if params else msg.command
        extra: Event = {}
        if len(params) >= 2:
            extra["target"] = params[0]
        return error_event(msg.command, text, **extra)

    def _fail(self, msg: Message) -> list[Event]:
        """IRCv3 ``FAIL command code [context] :description`` (e.g. CHATHISTORY errors)."""
        return [error_event(msg.param(1) or "FAIL", msg.params[-1] if msg.params else "failed")]


_HANDLERS: dict[str, Callable[[EventTranslator, Message], list[Event]]] = {
    "PRIVMSG": EventTranslator._privmsg,
    "NOTICE": EventTranslator._privmsg,
    "JOIN": EventTranslator._join,
    "PART": EventTranslator._part,
    "KICK": EventTranslator._kick,
    "QUIT": EventTranslator._quit,
    "NICK": EventTranslator._nick,
    "TOPIC": EventTranslator._topic,
    "MODE": EventTranslator._mode,
    N.RPL_NAMREPLY: EventTranslator._namreply,
    N.RPL_ENDOFNAMES: EventTranslator._endofnames,
    N.RPL_TOPIC: EventTranslator._rpl_topic,
    N.RPL_NOTOPIC: EventTranslator._rpl_notopic,
    "BATCH": EventTranslator._batch,
    "FAIL": EventTranslator._fail,
}
