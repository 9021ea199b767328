"""Client events -> browser: the JSON events of ``/ws``, built from ``tcp_client``'s typed events.

Sans-I/O and stateless: ``to_json(event)`` returns the JSON-ready dicts one client event becomes
(often none: the browser is not told about welcome numerics). The IRC decoding (NAMES replies,
history batches, whose line is ours) is done once, in ``tcp_client.decode``; this module only
maps. Every event the page receives is built here (``status`` by :func:`status_event`, ``error``
by :func:`error_event`) and documented next to the code that builds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tcp_client import events as E
from tcp_server.protocol import is_channel_name
from tcp_server.protocol import numerics as N

from .accounts import markread_event
from .extensions import reply_of

Event = dict[str, Any]

QUIET_ERRORS = frozenset({N.ERR_NOMOTD})
"""Error numerics that mean nothing to a web user."""


def error_event(code: str, message: str, **extra: Any) -> Event:
    """``error {code, message, target?}``: something the user did failed.

    ``code`` is an IRC numeric ("433", "482"...) or a gateway code: ``bad_json``, ``bad_type``,
    ``bad_field``, ``too_large``, ``rate_limited``, ``not_connected``, ``no_history``,
    ``upstream``, ``hello_timeout``, and for accounts (accounts.py) ``auth_failed`` (wrong
    account or password, account disabled or waiting for approval, too many attempts) and
    ``register_failed`` (with ``reason``: the server's FAIL code).
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


def _iso_now() -> str:
    return datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_event(ev: E.ChatMessage) -> Event:
    """``message {id, time, room|nick, from, text, kind, self, reply?}``: a chat line.

    ``kind`` is ``privmsg``, ``notice`` or ``action`` (``/me``). A private message carries
    ``nick`` (the other person of the conversation) instead of ``room``; ``self`` is true for
    our own messages echoed back by the server (echo-message: the send is confirmed).
    Server notices and CTCP requests other than ACTION produce no event.
    """
    event: Event = {
        "type": "message",
        "id": ev.msgid,
        "time": ev.time or _iso_now(),
        "from": ev.sender,
        "text": ev.text,
        "kind": ev.kind,
        "self": ev.own,
    }
    room = ev.room
    if room is not None:
        event["room"] = room
    else:
        event["nick"] = ev.peer
    reply = reply_of(ev.msg.tags) if ev.msg is not None else None
    if reply:
        event["reply"] = reply  # the msgid it answers (+draft/reply)
    return event


def _message(ev: E.ChatMessage) -> list[Event]:
    return [message_event(ev)]


def _status(ev: E.SessionStatus) -> list[Event]:
    return [status_event(ev.state, ev.nick, ev.reason or None)]


def _join(ev: E.Joined) -> list[Event]:
    """``join {room, nick, self}``: someone (or we) joined a room."""
    return [{"type": "join", "room": ev.room, "nick": ev.nick, "self": ev.own}]


def _part(ev: E.Parted) -> list[Event]:
    """``part {room, nick, reason, self, by?}``: someone (or we) left a room; ``by`` is set for a kick."""
    event: Event = {"type": "part", "room": ev.room, "nick": ev.nick, "reason": ev.reason}
    if ev.by is not None:
        event["by"] = ev.by
    event["self"] = ev.own
    return [event]


def _quit(ev: E.Quit) -> list[Event]:
    """``quit {nick, reason}``: someone sharing a room disconnected."""
    return [{"type": "quit", "nick": ev.nick, "reason": ev.reason}]


def _nick(ev: E.NickChanged) -> list[Event]:
    """``nick {old, new, self}``: someone (or we) changed nick."""
    return [{"type": "nick", "old": ev.old, "new": ev.new, "self": ev.own}]


def _names(ev: E.Names) -> list[Event]:
    """``names {room, members: [{nick, modes}]}``: the full member list of a room.

    ``modes`` holds the prefix characters (``@`` operator, ``+`` voice).
    """
    members = [{"nick": m.nick, "modes": m.modes} for m in ev.members]
    return [{"type": "names", "room": ev.room, "members": members}]


def _mode(ev: E.ModeChanged) -> list[Event]:
    """``mode {room, by, modes, args}``: a room's modes changed (``+o bob``: modes ``+o``, args
    ``["bob"]``). Member marks follow in a fresh ``names`` (the bridge asks for it)."""
    if not is_channel_name(ev.target) or not ev.modes:
        return []
    return [{"type": "mode", "room": ev.target, "by": ev.by, "modes": ev.modes[0], "args": list(ev.modes[1:])}]


def _topic(ev: E.Topic) -> list[Event]:
    """``topic {room, text, by}``: the topic changed (``by`` who) or was shown on join (``by`` null)."""
    return [{"type": "topic", "room": ev.room, "text": ev.text, "by": ev.by}]


def _history(ev: E.History) -> list[Event]:
    """``history {room|nick, messages}``: a CHATHISTORY batch, oldest first, as ``message`` events."""
    key = "room" if is_channel_name(ev.target) else "nick"
    return [{"type": "history", key: ev.target, "messages": [message_event(m) for m in ev.messages]}]


def _error_reply(ev: E.ErrorReply) -> list[Event]:
    """Error numerics become ``error {code: numeric, message, target?}``."""
    if ev.code in QUIET_ERRORS:
        return []
    extra: Event = {"target": ev.target} if ev.target is not None else {}
    return [error_event(ev.code, ev.message, **extra)]


def _failed(ev: E.Failed) -> list[Event]:
    """IRCv3 ``FAIL command code [context] :description`` (e.g. CHATHISTORY errors)."""
    return [error_event(ev.code or "FAIL", ev.description or ev.code or "failed")]


_MAPPERS: dict[type, Callable[[Any], list[Event]]] = {
    E.ChatMessage: _message,
    E.SessionStatus: _status,
    E.Joined: _join,
    E.Parted: _part,
    E.Quit: _quit,
    E.NickChanged: _nick,
    E.Names: _names,
    E.ModeChanged: _mode,
    E.Topic: _topic,
    E.History: _history,
    E.ErrorReply: _error_reply,
    E.Failed: _failed,
    E.ServerLine: markread_event,  # MARKREAD replies (accounts.py); other lines are not shown
}


def to_json(event: E.ClientEvent) -> list[Event]:
    """The browser events one client event becomes (none for those the page has no use for)."""
    mapper = _MAPPERS.get(type(event))
    return mapper(event) if mapper is not None else []
