"""The IRCv3 extensions the chat page uses, both ways (sans-I/O, like commands.py and events.py).

Browser -> IRC: ``draft/multiline`` batches (Shift+Enter text as one message), reactions and
typing notifications (``TAGMSG`` with the client-only tags ``+draft/react``, ``+draft/reply``,
``+typing``), ``REDACT``. IRC -> browser: :class:`Extras` turns ``TAGMSG`` into ``react``/``typing``
events and ``REDACT`` into ``redact`` events (a multiline batch comes back as one chat line from
``tcp_client.decode``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tcp_server.protocol import Message, is_channel_name

if TYPE_CHECKING:
    from .commands import React, Redact, Typing

Event = dict[str, Any]

MULTILINE = "draft/multiline"
CONCAT = "draft/multiline-concat"
REDACTION = "draft/message-redaction"
REPLY = "+draft/reply"
REACT = "+draft/react"
TYPING = "+typing"
WANTED_CAPS = (MULTILINE, REDACTION)
"""Capabilities the gateway asks for on top of the client's defaults (when the server offers them)."""
_refs = itertools.count(1)


def to_message(cmd: React | Redact | Typing) -> Message:
    """A reaction, deletion or typing notification as its IRC line."""
    from .commands import React, Redact

    if isinstance(cmd, React):
        return Message("TAGMSG", (cmd.target,), None, {REACT: cmd.emoji, REPLY: cmd.msgid})
    if isinstance(cmd, Redact):
        return Message("REDACT", (cmd.target, cmd.msgid, cmd.reason) if cmd.reason else (cmd.target, cmd.msgid))
    return Message("TAGMSG", (cmd.target,), None, {TYPING: cmd.state})


def _pieces(line: str, limit: int) -> list[str]:
    """One line cut into chunks of at most ``limit`` UTF-8 bytes, nothing dropped (the server
    joins them back with ``draft/multiline-concat``); a cut goes after a space when there is one."""
    out: list[str] = []
    while len(line.encode("utf-8")) > limit:
        cut = line.encode("utf-8")[:limit].decode("utf-8", "ignore")
        space = cut.rfind(" ")
        if space > len(cut) // 2:
            cut = cut[: space + 1]
        out.append(cut)
        line = line[len(cut):]
    out.append(line)
    return out


def multiline(verb: str, target: str, text: str, reply: str | None, limit: int) -> list[Message]:
    """``text`` as one ``draft/multiline`` batch: a line per row (blank rows kept inside, dropped
    at the ends), long rows in concat pieces; ``reply`` goes on the batch, i.e. the message."""
    ref = f"web{next(_refs)}"
    rows = text.strip("\r\n").splitlines()
    head: dict[str, str] = {REPLY: reply} if reply else {}
    out = [Message("BATCH", (f"+{ref}", MULTILINE, target), None, head)]
    for row in rows:
        for i, piece in enumerate(_pieces(row.rstrip(), limit)):
            tags = {"batch": ref, CONCAT: ""} if i else {"batch": ref}
            out.append(Message(verb, (target, piece), None, tags))
    out.append(Message("BATCH", (f"-{ref}",)))
    return out


def _conversation(target: str, sender: str, mine: bool) -> tuple[str, str]:
    """("room", name) or ("nick", the other person) for a line sent by ``sender`` to ``target``."""
    if is_channel_name(target):
        return "room", target
    return "nick", target if mine else sender


class Extras:
    """Per browser: ``TAGMSG`` and ``REDACT`` lines turned into events (multiline batches are put
    back together by ``tcp_client.decode``, which hands the bridge one chat line)."""

    def __init__(self, is_me: Callable[[str], bool]) -> None:
        self._is_me = is_me

    def feed(self, msg: Message) -> list[Event] | None:
        """Events for ``msg``; None when it is not an extension's line."""
        if msg.command == "TAGMSG":
            return self._tagmsg(msg)
        if msg.command == "REDACT":
            return self._redact(msg)
        return None

    def _tagmsg(self, msg: Message) -> list[Event]:
        """``react {room|nick, from, msgid, emoji, self}`` and ``typing {room|nick, from, state}``."""
        tags, sender = msg.tags or {}, (msg.source or "").split("!", 1)[0]
        if not sender or not msg.params:
            return []
        mine = self._is_me(sender)
        kind, where = _conversation(msg.params[0], sender, mine)
        if tags.get(REACT) and tags.get(REPLY):
            return [{"type": "react", kind: where, "from": sender, "msgid": tags[REPLY],
                     "emoji": tags[REACT], "self": mine}]
        state = tags.get(TYPING)
        if state in ("active", "paused", "done") and not mine:
            return [{"type": "typing", kind: where, "from": sender, "state": state}]
        return []

    def _redact(self, msg: Message) -> list[Event]:
        """``redact {room|nick, msgid, by}``: a message was deleted (from history too)."""
        sender = (msg.source or "").split("!", 1)[0]
        if len(msg.params) < 2 or not sender:
            return []
        kind, where = _conversation(msg.params[0], sender, self._is_me(sender))
        return [{"type": "redact", kind: where, "msgid": msg.params[1], "by": sender}]


def reply_of(tags: Any) -> str | None:
    """The msgid a chat line answers (``+draft/reply``), for the ``message`` event's ``reply``."""
    value = tags.get(REPLY) if tags else None
    return str(value) if value else None
