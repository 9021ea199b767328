"""Browser -> IRC: validate the JSON commands of ``/ws`` and turn them into IRC messages.

Sans-I/O: :func:`parse_command` takes one WebSocket text frame and returns a typed command or a
:class:`CommandError` (whose ``code`` becomes the ``error`` event's code); :func:`to_messages`
turns a command into the IRC ``Message`` objects to send. Nothing here raises on bad input.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tcp_client.lines import split_lines
from tcp_server.protocol import Message, is_channel_name

from . import extensions
from .accounts import AccountCommand, account_builders
from .settings import default

MAX_NAME = 200
"""Longest nick or room name accepted from the browser (the server applies its own limits)."""
MAX_TEXT_BYTES_PER_LINE = 350
"""Longest chunk of text per PRIVMSG, leaving room for the prefix the server adds when relaying."""
MAX_LINES_PER_SEND = 10
"""Most IRC lines one ``send`` may become (multi-line text, long text split into chunks)."""
_FORBIDDEN = ("\r", "\n", "\x00", " ", ",")
_SURROGATE = re.compile("[\ud800-\udfff]")
"""JSON may escape a lone UTF-16 surrogate (``"\\ud800"``); no UTF-8 line can carry it."""


def _unicode(value: str) -> bool:
    """True when ``value`` is encodable text (no lone surrogate)."""
    return value.isascii() or _SURROGATE.search(value) is None


@dataclass(frozen=True)
class CommandError:
    """A browser frame that cannot be acted on; ``code`` is the ``error`` event's code."""

    code: str
    message: str


@dataclass(frozen=True)
class Hello:
    """``hello {nick, account?, password?, register?}``: register upstream with this nick (first
    frame of a connection). With ``account`` + ``password``: sign in (SASL on the user's own
    connection; ``nick`` defaults to the account). With ``register: true`` + ``password``: create
    the account ``nick`` (REGISTER) and sign in. Neither: a guest. See accounts.py."""

    nick: str
    account: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs or reprs
    register: bool = False


@dataclass(frozen=True)
class Join:
    """``join {room}``."""

    room: str


@dataclass(frozen=True)
class Part:
    """``part {room, reason?}``."""

    room: str
    reason: str = ""


@dataclass(frozen=True)
class Send:
    """``send {room|nick, text, kind?, reply?}``: ``kind`` is ``privmsg`` (default), ``action`` or
    ``notice``; ``reply`` the msgid answered (``+draft/reply``). Text of several lines goes as one
    ``draft/multiline`` batch when the server offers it (extensions.py), else as separate lines."""

    target: str
    text: str
    kind: str = "privmsg"
    reply: str | None = None


@dataclass(frozen=True)
class React:
    """``react {room|nick, msgid, emoji}``: a reaction (TAGMSG ``+draft/react`` + ``+draft/reply``)."""

    target: str
    msgid: str
    emoji: str


@dataclass(frozen=True)
class Redact:
    """``redact {room|nick, msgid, reason?}``: delete a message (REDACT; own ones, or any as an op)."""

    target: str
    msgid: str
    reason: str = ""


@dataclass(frozen=True)
class Typing:
    """``typing {room|nick, state}``: ``active``, ``paused`` or ``done`` (TAGMSG ``+typing``)."""

    target: str
    state: str


@dataclass(frozen=True)
class Nick:
    """``nick {nick}``."""

    nick: str


@dataclass(frozen=True)
class Topic:
    """``topic {room, text}``."""

    room: str
    text: str


@dataclass(frozen=True)
class History:
    """``history {room, before?, limit}``: ``before`` is a msgid; without it, the latest."""

    room: str
    limit: int
    before: str | None = None


Command = Hello | Join | Part | Send | Nick | Topic | History | React | Redact | Typing | AccountCommand
MAX_EMOJI = 32
"""Longest reaction (characters): an emoji sequence, not a message."""
TYPING_STATES = ("active", "paused", "done")


def _name(data: dict[str, Any], key: str, *, room: bool = False) -> str | CommandError:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        return CommandError("bad_field", f"'{key}' must be a non-empty string")
    if len(value) > MAX_NAME or any(ch in value for ch in _FORBIDDEN) or not _unicode(value):
        return CommandError("bad_field", f"'{key}' is not a valid name")
    if room and not is_channel_name(value):
        return CommandError("bad_field", f"'{key}' must be a room name starting with #")
    return value


def _text(data: dict[str, Any], key: str, *, required: bool) -> str | CommandError:
    value = data.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        return CommandError("bad_field", f"'{key}' must be a non-empty string")
    if "\x00" in value:
        return CommandError("bad_field", f"'{key}' must not contain NUL")
    if not _unicode(value):
        return CommandError("bad_field", f"'{key}' holds a lone surrogate (not Unicode text)")
    return value


def parse_command(
    frame: str | bytes, max_frame: int, max_history: int = default("ws_history_max")
) -> Command | CommandError:
    """Validate one frame. Never raises: bad input becomes a ``CommandError``.

    ``max_frame`` and ``max_history`` are the ``ws_max_frame`` and ``ws_history_max`` settings.
    """
    size = len(frame) if isinstance(frame, bytes) else len(frame.encode("utf-8", "replace"))
    if size > max_frame:
        return CommandError("too_large", f"frame of {size} bytes is over the {max_frame}-byte limit")
    try:
        data = json.loads(frame)
    except (ValueError, UnicodeDecodeError):  # also digits over Python's int limit
        return CommandError("bad_json", "frame is not valid JSON")
    except RecursionError:  # thousands of nested [ or {
        return CommandError("bad_json", "frame is nested too deeply")
    if not isinstance(data, dict):
        return CommandError("bad_json", "frame must be a JSON object")
    kind = data.get("type")
    if kind == "history":  # the one command with a configured bound
        return _history(data, max_history)
    builder = _BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        return CommandError("bad_type", f"unknown type {str(kind)[:40]!r}")
    return builder(data)


def _hello(data: dict[str, Any]) -> Command | CommandError:
    from .accounts import parse_hello  # the account fields

    return parse_hello(data, _name)


def _join(data: dict[str, Any]) -> Command | CommandError:
    room = _name(data, "room", room=True)
    return room if isinstance(room, CommandError) else Join(room)


def _room_and_line(data: dict[str, Any], key: str) -> tuple[str, str] | CommandError:
    """A room plus an optional one-line text under ``key`` (PART reason, TOPIC text)."""
    room = _name(data, "room", room=True)
    if isinstance(room, CommandError):
        return room
    text = _text(data, key, required=False)
    if isinstance(text, CommandError):
        return text
    return room, " ".join(text.splitlines())


def _part(data: dict[str, Any]) -> Command | CommandError:
    parsed = _room_and_line(data, "reason")
    return parsed if isinstance(parsed, CommandError) else Part(*parsed)


def _send(data: dict[str, Any]) -> Command | CommandError:
    key = "room" if "room" in data else "nick"
    target = _name(data, key, room=key == "room")
    if isinstance(target, CommandError):
        return target
    text = _text(data, "text", required=True)
    if isinstance(text, CommandError):
        return text
    kind = data.get("kind", "privmsg")
    if kind not in ("privmsg", "action", "notice"):
        return CommandError("bad_field", "'kind' must be privmsg, action or notice")
    if len(split_lines(text, MAX_TEXT_BYTES_PER_LINE)) > MAX_LINES_PER_SEND:
        return CommandError("too_large", f"text would need more than {MAX_LINES_PER_SEND} lines")
    reply = _msgid(data, "reply", required=False)
    if isinstance(reply, CommandError):
        return reply
    return Send(target, text, kind, reply)


def _msgid(data: dict[str, Any], key: str, *, required: bool = True) -> str | None | CommandError:
    value = data.get(key)
    if value is None and not required:
        return None
    if (not isinstance(value, str) or not value or len(value) > MAX_NAME
            or any(ch in value for ch in _FORBIDDEN) or not _unicode(value)):
        return CommandError("bad_field", f"'{key}' must be a message id")
    return value


def _target(data: dict[str, Any]) -> str | CommandError:
    key = "room" if "room" in data else "nick"
    return _name(data, key, room=key == "room")


def _react(data: dict[str, Any]) -> Command | CommandError:
    target, msgid = _target(data), _msgid(data, "msgid")
    emoji = data.get("emoji")
    if isinstance(target, CommandError) or isinstance(msgid, CommandError):
        return target if isinstance(target, CommandError) else msgid  # type: ignore[return-value]
    if (not isinstance(emoji, str) or not emoji.strip() or len(emoji) > MAX_EMOJI
            or any(ch in emoji for ch in _FORBIDDEN) or not _unicode(emoji)):
        return CommandError("bad_field", f"'emoji' must be 1 to {MAX_EMOJI} characters without spaces")
    return React(target, str(msgid), emoji)


def _redact(data: dict[str, Any]) -> Command | CommandError:
    target, msgid = _target(data), _msgid(data, "msgid")
    if isinstance(target, CommandError) or isinstance(msgid, CommandError):
        return target if isinstance(target, CommandError) else msgid  # type: ignore[return-value]
    reason = _text(data, "reason", required=False)
    if isinstance(reason, CommandError):
        return reason
    return Redact(target, str(msgid), " ".join(reason.splitlines()))


def _typing(data: dict[str, Any]) -> Command | CommandError:
    target = _target(data)
    if isinstance(target, CommandError):
        return target
    state = data.get("state")
    if state not in TYPING_STATES:
        return CommandError("bad_field", "'state' must be active, paused or done")
    return Typing(target, str(state))


def _nick(data: dict[str, Any]) -> Command | CommandError:
    nick = _name(data, "nick")
    return nick if isinstance(nick, CommandError) else Nick(nick)


def _topic(data: dict[str, Any]) -> Command | CommandError:
    parsed = _room_and_line(data, "text")
    return parsed if isinstance(parsed, CommandError) else Topic(*parsed)


def _history(data: dict[str, Any], max_history: int) -> Command | CommandError:
    room = _name(data, "room")
    if isinstance(room, CommandError):
        return room
    limit = data.get("limit", 50)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= max_history:
        return CommandError("bad_field", f"'limit' must be an integer from 1 to {max_history}")
    before = data.get("before")
    if before is not None and (not isinstance(before, str) or not before or len(before) > MAX_NAME
                               or any(ch in before for ch in _FORBIDDEN) or not _unicode(before)):
        return CommandError("bad_field", "'before' must be a message id")
    return History(room, limit, before)


_BUILDERS = {
    "hello": _hello,
    "join": _join,
    "part": _part,
    "send": _send,
    "nick": _nick,
    "topic": _topic,
    "react": _react,
    "redact": _redact,
    "typing": _typing,
}  # and "history", which parse_command builds with its bound
_BUILDERS.update(account_builders(_name))  # conversations, markread, register_room (accounts.py)


def to_messages(cmd: Command, caps: frozenset[str] | set[str] = frozenset()) -> list[Message]:
    """The IRC messages that carry out a (validated) browser command; ``caps``: the server's
    capabilities this session has (``draft/multiline`` sends several lines as one message)."""
    if isinstance(cmd, Hello | Nick):
        return [Message("NICK", (cmd.nick,))]
    if isinstance(cmd, Join):
        return [Message("JOIN", (cmd.room,))]
    if isinstance(cmd, Part):
        return [Message("PART", (cmd.room, cmd.reason) if cmd.reason else (cmd.room,))]
    if isinstance(cmd, Topic):
        return [Message("TOPIC", (cmd.room, cmd.text))]
    if isinstance(cmd, History):
        anchor = f"msgid={cmd.before}" if cmd.before else "*"
        sub = "BEFORE" if cmd.before else "LATEST"
        return [Message("CHATHISTORY", (sub, cmd.room, anchor, str(cmd.limit)))]
    if isinstance(cmd, React | Redact | Typing):
        return [extensions.to_message(cmd)]
    verb = "NOTICE" if cmd.kind == "notice" else "PRIVMSG"
    lines = split_lines(cmd.text, MAX_TEXT_BYTES_PER_LINE)
    if extensions.MULTILINE in caps and cmd.kind != "action" and len(lines) > 1:
        return extensions.multiline(verb, cmd.target, cmd.text, cmd.reply, MAX_TEXT_BYTES_PER_LINE)
    if cmd.kind == "action":
        lines = [f"\x01ACTION {line}\x01" for line in lines]
    tags = {extensions.REPLY: cmd.reply} if cmd.reply else {}
    return [Message(verb, (cmd.target, line), None, tags if i == 0 else {}) for i, line in enumerate(lines)]
