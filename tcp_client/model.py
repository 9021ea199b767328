"""What a chat user sees, derived from session events: rooms, members, topics and display lines.

No I/O and no UI: ``ChatModel.apply(event)`` turns one event into the ``Line`` objects to show, and
keeps rooms and members current. Line mode prints the lines; the full-screen UI files them into
panes. Rooms are keyed by casefolded name; the server room ``*`` holds server replies.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from tcp_server.protocol import Message, casefold, is_channel_name
from tcp_server.protocol import numerics as N

from .events import Event, SessionStatus

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


def _clock(msg: Message | None) -> str:
    stamp = msg.tags.get("time") if msg is not None else None
    if stamp:
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone().strftime("%H:%M:%S")
        except ValueError:
            pass
    return time.strftime("%H:%M:%S")


def _nick_of(source: str | None) -> str:
    return (source or "").split("!", 1)[0]


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

    def apply(self, event: Event) -> list[Line]:
        """Update rooms from ``event``; return the lines to show for it."""
        if isinstance(event, SessionStatus):
            self.state = event.state
            self.nick = event.nick or self.nick
            text = {"connected": f"connected as {event.nick}", "reconnecting": "reconnecting…"}.get(
                event.state, event.state
            )
            if event.reason:
                text += f" ({event.reason})"
            return [self._file(Line(_clock(None), SERVER_ROOM, "status", "", text))]
        return [self._file(line) for line in self._lines(event)]

    def _lines(self, msg: Message) -> list[Line]:
        cmd, who, when = msg.command, _nick_of(msg.source), _clock(msg)
        hist = "batch" in msg.tags
        if cmd in ("PRIVMSG", "NOTICE"):
            return self._chat(msg, who, when, hist)
        if cmd == "JOIN":
            room = self.room(msg.param(0))
            if self._me(who):
                room.joined, room.name = True, msg.param(0)
            room.members.setdefault(casefold(who), who)
            return [Line(when, room.name, "join", who, f"{who} joined {room.name}")]
        if cmd in ("PART", "KICK"):
            room = self.room(msg.param(0))
            gone = msg.param(1) if cmd == "KICK" else who
            room.members.pop(casefold(gone), None)
            if self._me(gone):
                room.joined = False
                room.members.clear()
            reason = msg.param(2 if cmd == "KICK" else 1)
            verb = f"was kicked by {who}" if cmd == "KICK" else "left"
            return [Line(when, room.name, "part", gone, f"{gone} {verb}" + (f" ({reason})" if reason else ""))]
        if cmd in ("QUIT", "NICK"):
            return self._everywhere(msg, who, when)
        if cmd == "TOPIC":
            room = self.room(msg.param(0))
            room.topic = msg.param(1)
            return [Line(when, room.name, "topic", who, f"{who} set the topic: {room.topic}")]
        if cmd == N.RPL_TOPIC:
            room = self.room(msg.param(1))
            room.topic = msg.param(2)
            return [Line(when, room.name, "topic", "", f"topic: {room.topic}")]
        if cmd == N.RPL_NAMREPLY:
            names = self._names.setdefault(casefold(msg.param(2)), {})
            for item in msg.params[-1].split():
                names[casefold(item.lstrip("@+%~&"))] = item
            return []
        if cmd == N.RPL_ENDOFNAMES:
            room = self.room(msg.param(1))
            names = self._names.pop(casefold(msg.param(1)), {})
            if room.joined:
                room.members = names
            shown = " ".join(sorted(names.values(), key=lambda n: casefold(n.lstrip("@+"))))
            return [Line(when, room.name, "info", "", f"members: {shown}")]
        if cmd in SILENT:
            return []
        if cmd in ("MODE", "INVITE", "AWAY"):
            return self._other(msg, who, when)
        return self._numeric(msg, who, when)

    def _other(self, msg: Message, who: str, when: str) -> list[Line]:
        """MODE changes, invitations and away-notify, in words."""
        if msg.command == "MODE":
            target = msg.param(0)
            room = self.room(target).name if is_channel_name(target) else SERVER_ROOM
            if is_channel_name(target):
                self._apply_modes(self.room(target), msg.params[1:])
            return [Line(when, room, "event", who, f"{who} sets mode {' '.join(msg.params[1:])}")]
        if msg.command == "INVITE":
            return [Line(when, "", "event", who, f"{who} invites you to {msg.param(1)} (/join {msg.param(1)})")]
        folded = casefold(who)
        text = f"{who} is away: {msg.param(0)}" if msg.param(0) else f"{who} is back"
        return [Line(when, r.name, "event", who, text) for r in self.rooms.values() if folded in r.members]

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

    def _chat(self, msg: Message, who: str, when: str, hist: bool) -> list[Line]:
        target, text = msg.param(0), msg.param(1)
        own = self._me(who)
        if "!" not in (msg.source or "") or target == "*":
            room = SERVER_ROOM
        elif is_channel_name(target):
            room = self.room(target).name
        else:
            room = self.room(target if own else who).name
        kind = "notice" if msg.command == "NOTICE" else "msg"
        if text.startswith("\x01ACTION ") and text.endswith("\x01"):
            kind, text = "action", text[8:-1]
        elif text.startswith("\x01"):
            return []  # other CTCP requests are not shown
        mention = not own and self.mentions_me(text)
        return [Line(when, room, kind, who, text, own=own, mention=mention, history=hist)]

    def _everywhere(self, msg: Message, who: str, when: str) -> list[Line]:
        """QUIT and NICK: a line in every room the nick shares with us."""
        folded = casefold(who)
        rooms = [r for r in self.rooms.values() if folded in r.members]
        if msg.command == "NICK":
            new = msg.param(0)
            if self._me(who):
                self.nick = new
                rooms = [r for r in self.rooms.values() if r.joined] or [self.rooms[SERVER_ROOM]]
            for r in rooms:
                old = r.members.pop(folded, who)
                r.members[casefold(new)] = old[: len(old) - len(old.lstrip("@+"))] + new
            return [Line(when, r.name, "nick", who, f"{who} is now known as {new}") for r in rooms]
        for r in rooms:
            r.members.pop(folded, None)
        reason = msg.param(0)
        return [Line(when, r.name, "quit", who, f"{who} quit" + (f" ({reason})" if reason else "")) for r in rooms]

    def _numeric(self, msg: Message, who: str, when: str) -> list[Line]:
        """Server replies: errors go to the current room, other numerics to the server room."""
        cmd = msg.command
        args = list(msg.params[1:])
        if cmd == N.RPL_LIST:
            text = f"{msg.param(1)} ({msg.param(2)} users) {msg.param(3)}".rstrip()
            return [Line(when, "", "info", "", text)]
        if cmd == N.RPL_LISTEND:
            return [Line(when, "", "info", "", "end of room list")]
        if cmd in (N.RPL_WHOISUSER, N.RPL_WHOISCHANNELS, N.RPL_WHOISSERVER, N.RPL_WHOISIDLE,
                   N.RPL_WHOISOPERATOR, N.RPL_WHOISACTUALLY, N.RPL_AWAY, N.RPL_WHOISACCOUNT):
            return [Line(when, "", "info", "", f"{msg.param(1)}: " + " ".join(args[1:]))]
        if cmd in (N.RPL_NOTOPIC,):
            return [Line(when, msg.param(1), "topic", "", "no topic is set")]
        if cmd == "ERROR":
            return [Line(when, SERVER_ROOM, "status", "", msg.param(0))]
        if cmd == "FAIL":
            return [Line(when, "", "error", "", " ".join(msg.params[1:]))]
        if cmd.isdigit() and cmd[0] in "45":
            return [Line(when, "", "error", "", " ".join(args))]
        if cmd.isdigit():
            return [Line(when, SERVER_ROOM, "info", "", " ".join(args))]
        text = " ".join(msg.params)
        return [Line(when, SERVER_ROOM, "info", who, f"{cmd} {text}".strip())]
