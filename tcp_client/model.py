"""What a chat user sees, derived from typed session events: rooms, members, topics and display lines.

No I/O and no UI: ``ChatModel.apply(event)`` turns one event into the ``Line`` objects to show, and
keeps rooms and members current. Line mode prints the lines; the full-screen UI files them into
panes. Rooms are keyed by casefolded name; the server room ``*`` holds server replies.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tcp_server.protocol import casefold, is_channel_name
from tcp_server.protocol import numerics as N

from . import events as E

SERVER_ROOM = "*"
ROOM_SCROLLBACK = 1000
"""Lines kept per room (older ones drop off)."""
SILENT = frozenset({
    "PING", "PONG", "CAP", "BATCH", N.RPL_YOURHOST, N.RPL_CREATED, N.RPL_MYINFO, N.RPL_ISUPPORT,
    N.RPL_LUSERCLIENT, N.RPL_LUSEROP, N.RPL_LUSERUNKNOWN, N.RPL_LUSERCHANNELS, N.RPL_LUSERME,
    "265", "266", N.RPL_MOTDSTART, N.RPL_ENDOFMOTD, N.RPL_TOPICWHOTIME, N.RPL_CREATIONTIME,
    N.RPL_ENDOFWHOIS, N.RPL_LISTSTART, N.RPL_ENDOFWHO, N.RPL_NAMREPLY,
})
"""Events that produce no line (the model may still learn from them)."""
CHAT_KINDS = frozenset({"msg", "action", "notice"})


@dataclass(frozen=True)
class Line:
    """One displayable line. ``room`` is a room name, or "" for "the room the user is looking at"."""

    time: str
    room: str
    kind: str  # msg action notice join part quit nick topic event info error status
    nick: str
    text: str
    own: bool = False
    mention: bool = False
    history: bool = False

    def plain(self) -> str:
        """The line-mode rendering, e.g. ``12:01:05 #lobby <alice> hi``."""
        room = self.room or SERVER_ROOM
        body = {
            "msg": f"<{self.nick}> {self.text}",
            "action": f"* {self.nick} {self.text}",
            "notice": f"-{self.nick}- {self.text}",
            "error": f"! {self.text}",
        }.get(self.kind, f"-- {self.text}" if self.kind != "info" else self.text)
        return f"{self.time} {room} {body}"


@dataclass
class Room:
    """A channel or a private conversation."""

    name: str
    members: dict[str, str] = field(default_factory=dict)  # casefolded nick -> "@nick" display
    topic: str = ""
    lines: deque[Line] = field(default_factory=lambda: deque(maxlen=ROOM_SCROLLBACK))
    unread: int = 0
    mentioned: bool = False
    joined: bool = True

    @property
    def is_channel(self) -> bool:
        return is_channel_name(self.name)


def _clock(stamp: str | None) -> str:
    if stamp:
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone().strftime("%H:%M:%S")
        except ValueError:
            pass
    return time.strftime("%H:%M:%S")


def _when(event: E.ClientEvent) -> str:
    """The event's server-time as a local clock (now, for events without one)."""
    return _clock(event.msg.tags.get("time") if event.msg is not None else None)


class ChatModel:
    """Rooms and members as seen by the user ``nick`` (kept current from NICK events)."""

    def __init__(self, nick: str) -> None:
        self.nick = nick
        self.rooms: dict[str, Room] = {SERVER_ROOM: Room(SERVER_ROOM, joined=False)}
        self._names: dict[str, dict[str, str]] = {}
        self.state = "connecting"

    def room(self, name: str) -> Room:
        """The room called ``name``, created on first use."""
        key = casefold(name)
        if key not in self.rooms:
            self.rooms[key] = Room(name)
        return self.rooms[key]

    def _me(self, nick: str) -> bool:
        return casefold(nick) == casefold(self.nick)

    def mentions_me(self, text: str) -> bool:
        """True when ``text`` contains our nick as a word."""
        me = casefold(self.nick)
        return any(casefold(w.strip(",:;.!?@<>()'\"")) == me for w in text.split())

    def local(self, room: str, kind: str, text: str) -> Line:
        """A line the client itself produces (help, errors), not from the server."""
        return self._file(Line(_clock(None), room, kind, "", text))

    def _file(self, line: Line) -> Line:
        if line.room:
            self.room(line.room).lines.append(line)
        return line

    def apply(self, event: E.Event) -> list[Line]:
        """Update rooms from ``event``; return the lines to show for it."""
        if isinstance(event, E.SessionStatus):
            self.state = event.state
            self.nick = event.nick or self.nick
            text = {"connected": f"connected as {event.nick}", "reconnecting": "reconnecting…"}.get(
                event.state, event.state
            )
            if event.reason:
                text += f" ({event.reason})"
            return [self._file(Line(_clock(None), SERVER_ROOM, "status", "", text))]
        if isinstance(event, E.History):
            return [self._file(line) for m in event.messages for line in self._chat(m, history=True)]
        handler = _APPLY.get(type(event))
        return [self._file(line) for line in handler(self, event)] if handler is not None else []

    def _chat(self, ev: E.ChatMessage | E.ServerNotice, history: bool = False) -> list[Line]:
        when = _clock(ev.time) if isinstance(ev, E.ChatMessage) else _when(ev)
        kind = {"privmsg": "msg"}.get(ev.kind, ev.kind)
        if isinstance(ev, E.ServerNotice):
            return [Line(when, SERVER_ROOM, kind, ev.source, ev.text, history=history)]
        room = SERVER_ROOM if ev.target == "*" else self.room(ev.room or ev.peer).name
        mention = not ev.own and self.mentions_me(ev.text)
        return [Line(when, room, kind, ev.sender, ev.text, own=ev.own, mention=mention, history=history)]

    def _joined(self, ev: E.Joined) -> list[Line]:
        room = self.room(ev.room)
        if ev.own:
            room.joined, room.name = True, ev.room
        room.members.setdefault(casefold(ev.nick), ev.nick)
        return [Line(_when(ev), room.name, "join", ev.nick, f"{ev.nick} joined {room.name}")]

    def _parted(self, ev: E.Parted) -> list[Line]:
        room = self.room(ev.room)
        room.members.pop(casefold(ev.nick), None)
        if ev.own:
            room.joined = False
            room.members.clear()
        verb = f"was kicked by {ev.by}" if ev.by is not None else "left"
        text = f"{ev.nick} {verb}" + (f" ({ev.reason})" if ev.reason else "")
        return [Line(_when(ev), room.name, "part", ev.nick, text)]

    def _nick_changed(self, ev: E.NickChanged) -> list[Line]:
        """A line in every room the nick shares with us (or all our rooms, for our own)."""
        folded = casefold(ev.old)
        rooms = [r for r in self.rooms.values() if folded in r.members]
        if ev.own:
            self.nick = ev.new
            rooms = [r for r in self.rooms.values() if r.joined] or [self.rooms[SERVER_ROOM]]
        for r in rooms:
            old = r.members.pop(folded, ev.old)
            r.members[casefold(ev.new)] = old[: len(old) - len(old.lstrip("@+"))] + ev.new
        return [Line(_when(ev), r.name, "nick", ev.old, f"{ev.old} is now known as {ev.new}") for r in rooms]

    def _quit(self, ev: E.Quit) -> list[Line]:
        folded = casefold(ev.nick)
        rooms = [r for r in self.rooms.values() if folded in r.members]
        for r in rooms:
            r.members.pop(folded, None)
        text = f"{ev.nick} quit" + (f" ({ev.reason})" if ev.reason else "")
        return [Line(_when(ev), r.name, "quit", ev.nick, text) for r in rooms]

    def _topic(self, ev: E.Topic) -> list[Line]:
        room = self.room(ev.room)
        room.topic = ev.text
        if ev.by is not None:
            return [Line(_when(ev), room.name, "topic", ev.by, f"{ev.by} set the topic: {ev.text}")]
        return [Line(_when(ev), room.name, "topic", "", f"topic: {ev.text}" if ev.text else "no topic is set")]

    def _names(self, ev: E.Names) -> list[Line]:
        room = self.room(ev.room)
        names = {casefold(m.nick): m.shown for m in ev.members}
        if room.joined:
            room.members = names
        shown = " ".join(sorted(names.values(), key=lambda n: casefold(n.lstrip("@+"))))
        return [Line(_when(ev), room.name, "info", "", f"members: {shown}")]

    def _mode(self, ev: E.ModeChanged) -> list[Line]:
        channel = is_channel_name(ev.target)
        room = self.room(ev.target).name if channel else SERVER_ROOM
        if channel:
            self._apply_modes(self.room(ev.target), ev.modes)
        return [Line(_when(ev), room, "event", ev.by, f"{ev.by} sets mode {' '.join(ev.modes)}")]

    def _invited(self, ev: E.Invited) -> list[Line]:
        return [Line(_when(ev), "", "event", ev.by, f"{ev.by} invites you to {ev.room} (/join {ev.room})")]

    def _away(self, ev: E.AwayChanged) -> list[Line]:
        folded = casefold(ev.nick)
        text = f"{ev.nick} is away: {ev.text}" if ev.text else f"{ev.nick} is back"
        return [Line(_when(ev), r.name, "event", ev.nick, text) for r in self.rooms.values() if folded in r.members]

    @staticmethod
    def _apply_modes(room: Room, params: tuple[str, ...]) -> None:
        """Keep member prefixes (@ op, + voice) current after ``MODE #room +o nick``."""
        if not params:
            return
        sign, args = "+", list(params[1:])
        for ch in params[0]:
            if ch in "+-":
                sign = ch
            elif ch in "ov" and args:
                nick = args.pop(0)
                shown = room.members.get(casefold(nick))
                if shown is not None:
                    bare = shown.lstrip("@+")
                    marks = set(shown[: len(shown) - len(bare)])
                    mark = "@" if ch == "o" else "+"
                    marks = marks | {mark} if sign == "+" else marks - {mark}
                    room.members[casefold(nick)] = "".join(m for m in "@+" if m in marks) + bare
            elif ch in "kl" and sign == "+" and args:
                args.pop(0)

    def _error_reply(self, ev: E.ErrorReply) -> list[Line]:
        """Errors go to the room the user is looking at."""
        return [Line(_when(ev), "", "error", "", " ".join(ev.args))]

    def _failed(self, ev: E.Failed) -> list[Line]:
        text = " ".join((ev.code, *ev.context, ev.description) if ev.description else (ev.code, *ev.context))
        return [Line(_when(ev), "", "error", "", text)]

    def _closing(self, ev: E.ServerClosing) -> list[Line]:
        return [Line(_when(ev), SERVER_ROOM, "status", "", ev.reason)]

    def _server_line(self, ev: E.ServerLine) -> list[Line]:
        """Other server replies: LIST and WHOIS to the room in view, the rest to the server room."""
        cmd, when, args = ev.command, _when(ev), ev.params[1:]
        if cmd in SILENT:
            return []
        p = ev.params
        if cmd == N.RPL_LIST:
            text = f"{_at(p, 1)} ({_at(p, 2)} users) {_at(p, 3)}".rstrip()
            return [Line(when, "", "info", "", text)]
        if cmd == N.RPL_LISTEND:
            return [Line(when, "", "info", "", "end of room list")]
        if cmd in WHOIS_REPLIES:
            return [Line(when, "", "info", "", f"{_at(p, 1)}: " + " ".join(args[1:]))]
        if cmd.isdigit():
            return [Line(when, SERVER_ROOM, "info", "", " ".join(args))]
        return [Line(when, SERVER_ROOM, "info", ev.sender, f"{cmd} {' '.join(p)}".strip())]


def _at(params: tuple[str, ...], index: int) -> str:
    return params[index] if index < len(params) else ""


WHOIS_REPLIES = frozenset({
    N.RPL_WHOISUSER, N.RPL_WHOISCHANNELS, N.RPL_WHOISSERVER, N.RPL_WHOISIDLE, N.RPL_WHOISOPERATOR,
    N.RPL_WHOISACTUALLY, N.RPL_AWAY, N.RPL_WHOISACCOUNT,
})
_APPLY: dict[type, Callable[[ChatModel, Any], list[Line]]] = {
    E.ChatMessage: ChatModel._chat,
    E.ServerNotice: ChatModel._chat,
    E.Joined: ChatModel._joined,
    E.Parted: ChatModel._parted,
    E.NickChanged: ChatModel._nick_changed,
    E.Quit: ChatModel._quit,
    E.Topic: ChatModel._topic,
    E.Names: ChatModel._names,
    E.ModeChanged: ChatModel._mode,
    E.Invited: ChatModel._invited,
    E.AwayChanged: ChatModel._away,
    E.ErrorReply: ChatModel._error_reply,
    E.Failed: ChatModel._failed,
    E.ServerClosing: ChatModel._closing,
    E.ServerLine: ChatModel._server_line,
}
