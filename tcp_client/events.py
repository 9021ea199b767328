"""Typed client events: what the session tells its consumer (the terminal UI, the web bridge).

Frozen dataclasses on an empty base, as wsproto's events: ``decode.EventDecoder`` turns the
server's IRC lines into them, the session adds its own ``SessionStatus``. Consumers read the typed
fields; ``msg`` (not part of equality) is the IRC line an event was decoded from, for logs, tests
and a UI that shows raw replies. The gateway maps them to JSON, the terminal UI to text lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tcp_server.protocol import Message, is_channel_name


@dataclass(frozen=True)
class ClientEvent:
    """Base of every event; ``msg`` is the IRC line it came from (None for synthetic events)."""

    msg: Message | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class SessionStatus(ClientEvent):
    """A synthetic event (not from the wire): the session's connection state changed."""

    state: str  # "connecting" | "connected" | "reconnecting" | "closed"
    nick: str
    reason: str = ""


@dataclass(frozen=True)
class ChatMessage(ClientEvent):
    """A PRIVMSG or NOTICE from a user: ``kind`` is ``privmsg``, ``notice`` or ``action`` (/me).

    ``own`` is true for our own line echoed back (echo-message: the send is confirmed); ``time``
    and ``msgid`` are the server's tags when it sent them.
    """

    target: str
    sender: str
    text: str
    kind: str = "privmsg"
    own: bool = False
    msgid: str | None = None
    time: str | None = None

    @property
    def room(self) -> str | None:
        """The channel it was said in, or None for a private message."""
        return self.target if is_channel_name(self.target) else None

    @property
    def peer(self) -> str:
        """For a private message: the other person of the conversation."""
        return self.target if self.own else self.sender


@dataclass(frozen=True)
class ServerNotice(ClientEvent):
    """A PRIVMSG/NOTICE from the server itself (no ``nick!user@host`` source): not a conversation."""

    source: str
    text: str
    kind: str = "notice"


@dataclass(frozen=True)
class Joined(ClientEvent):
    """``nick`` (``own``: we) joined ``room``."""

    room: str
    nick: str
    own: bool = False


@dataclass(frozen=True)
class Parted(ClientEvent):
    """``nick`` left ``room`` (``by`` is set when an operator kicked them)."""

    room: str
    nick: str
    reason: str = ""
    own: bool = False
    by: str | None = None


@dataclass(frozen=True)
class Quit(ClientEvent):
    """``nick``, who shares a room with us, disconnected."""

    nick: str
    reason: str = ""


@dataclass(frozen=True)
class NickChanged(ClientEvent):
    """``old`` is now known as ``new`` (``own``: our own nick changed)."""

    old: str
    new: str
    own: bool = False


@dataclass(frozen=True)
class Member:
    """One room member with its prefix characters (``@`` operator, ``+`` voice; may stack)."""

    nick: str
    modes: str = ""

    @property
    def shown(self) -> str:
        """``@+alice``: as NAMES spells it."""
        return self.modes + self.nick


@dataclass(frozen=True)
class Names(ClientEvent):
    """The full member list of ``room`` (the end of a NAMES reply)."""

    room: str
    members: tuple[Member, ...] = ()


@dataclass(frozen=True)
class Topic(ClientEvent):
    """``room``'s topic: changed by ``by``, or shown on join (``by`` None; ``text`` "" = no topic)."""

    room: str
    text: str
    by: str | None = None


@dataclass(frozen=True)
class History(ClientEvent):
    """A CHATHISTORY batch for ``target`` (a room or a nick), oldest first."""

    target: str
    messages: tuple[ChatMessage, ...] = ()


@dataclass(frozen=True)
class ModeChanged(ClientEvent):
    """``by`` set ``modes`` (mode string, then its arguments) on ``target`` (a room or a nick)."""

    target: str
    by: str
    modes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Invited(ClientEvent):
    """``by`` invites us to ``room``."""

    by: str
    room: str


@dataclass(frozen=True)
class AwayChanged(ClientEvent):
    """away-notify: ``nick`` is away with ``text``, or back when ``text`` is empty."""

    nick: str
    text: str = ""


@dataclass(frozen=True)
class ErrorReply(ClientEvent):
    """A 4xx/5xx numeric: ``code`` and its parameters after our nick (``args``)."""

    code: str
    args: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """The human-readable text (the last parameter)."""
        return self.args[-1] if self.args else self.code

    @property
    def target(self) -> str | None:
        """What the error is about (a nick, a room, a command), when the reply names one."""
        return self.args[0] if len(self.args) >= 2 else None


@dataclass(frozen=True)
class Failed(ClientEvent):
    """An IRCv3 standard reply ``FAIL command code [context...] :description``."""

    command: str
    code: str
    context: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class ServerClosing(ClientEvent):
    """``ERROR``: the server is about to close the connection, and says why."""

    reason: str


@dataclass(frozen=True)
class ServerLine(ClientEvent):
    """Any other line (welcome numerics, WHOIS/LIST replies, PING...): ``params`` as sent.

    The terminal UI shows most of them as text; the gateway ignores them.
    """

    command: str
    params: tuple[str, ...] = ()
    sender: str = ""


Event = ClientEvent
"""What a session hands its consumer: any of the classes above."""


class SessionClosed(ConnectionError):
    """The session is closed: nothing more can be sent and no more events will come."""
