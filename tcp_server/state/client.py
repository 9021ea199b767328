"""One connected client as the server sees it: identity, capabilities, counters. No I/O."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..protocol import TokenBucket
    from .channel import Channel
    from .ordering import Hold
    from .responses import Late


class Outbox(Protocol):
    """Where a client's outgoing bytes go; the transport implements it, tests use a list, and a
    labelled command's ``ResponseBuffer`` stands in for it while the command runs."""

    def send(self, data: bytes) -> None:
        """Queue bytes for the client (never blocks; may drop the client on sendq overflow)."""

    def deliver(self, data: bytes) -> None:
        """Like ``send``, for a line of a channel's cluster-wide order: it goes ahead of this
        client's echo still waiting for its turn in that order (``ordering.Hold.passable``)."""

    def close(self, error_line: bytes) -> None:
        """Send a final ``ERROR`` line and close the connection."""

    @property
    def sendq_bytes(self) -> int:
        """Bytes queued but not yet written to the socket."""

    def hold(self) -> Hold:
        """Reserve a place for a reply that comes later; later output waits behind it."""

    def release(self, hold: Hold, write: Callable[[], None] | None = None) -> None:
        """Send what ``write`` sends in the held place, then everything that waited for it."""

    def release_paced(self, hold: Hold, lines: Iterable[bytes], done: Callable[[], None] | None = None) -> None:
        """Release ``hold`` with a long reply sent as the socket drains (never over the sendq
        because of it); ``done()`` once every line is handed to the socket."""


def display_host(ip: str) -> str:
    """The address as a host name in replies: ``::1`` becomes ``0::1`` (no parameter may start with ':')."""
    return "0" + ip if ip.startswith(":") else ip


TAGS_NONE = 0
TAGS_TIME = 1
TAGS_ALL = 2
TAGS_ACCOUNT = 3
"""``account-tag`` without ``message-tags``: only the sender's ``account`` tag (IRCv3 account-tag
asks for it whether or not the client enabled message-tags)."""
TAGS_TIME_ACCOUNT = 4
"""``account-tag`` and ``server-time`` without ``message-tags``."""
TIMED_LEVELS = frozenset((TAGS_TIME, TAGS_ALL, TAGS_TIME_ACCOUNT))
"""The tag levels that get a ``time`` tag."""

NO_CAPS: frozenset[str] = frozenset()
"""Shared by every client that negotiated nothing (an empty set costs 216 bytes per client);
``set_caps`` replaces the collection, nobody mutates it in place. User modes (``modes``) start
from the same empty frozenset and are replaced too, never mutated."""


class Client:
    """A connection's chat state: nick, user, channels, caps, liveness and counters."""

    __slots__ = (
        "id", "outbox", "ip", "host", "port", "transport", "gateway",
        "nick", "folded", "user", "realname", "registered", "cap_negotiating",
        "caps", "tag_level", "pass_ok", "channels", "modes", "away",
        "signon", "last_active", "last_recv", "ping_sent_at",
        "msgs_in", "bytes_in", "msgs_out", "bytes_out", "gone", "prefix", "account",
        "real_host", "certfp", "history_queue", "history_bucket",
        "cap_version", "batch",
    )

    def __init__(self, client_id: int, outbox: Outbox, ip: str, port: int, transport: str) -> None:
        now = time.time()
        self.id = client_id
        self.outbox = outbox
        self.ip = ip
        self.host = display_host(ip)  # what others see (the server may cloak it)
        self.real_host = self.host  # what the user itself and operators see
        self.port = port
        self.transport = transport
        self.gateway: str | None = None
        self.nick = "*"
        self.folded = ""
        self.user = ""
        self.realname = ""
        self.registered = False
        self.cap_negotiating = False
        self.caps: set[str] | frozenset[str] = NO_CAPS
        self.tag_level = TAGS_NONE
        self.pass_ok = False
        self.channels: dict[str, Channel] = {}
        self.modes: frozenset[str] = NO_CAPS
        self.away: str | None = None
        self.signon = now
        self.last_active = now
        self.last_recv = 0.0
        self.ping_sent_at = 0.0
        self.msgs_in = 0
        self.bytes_in = 0
        self.msgs_out = 0
        self.bytes_out = 0
        self.gone = False
        self.prefix = "*"
        self.account: str | None = None
        """The account name the connection is logged in to (as registered), if any."""
        self.certfp: str | None = None
        """SHA-256 of the TLS client certificate, if the connection presented one."""
        self.history_queue: deque[tuple[Late, Any]] | None = None
        """CHATHISTORY requests being served one at a time (``commands/history.py``)."""
        self.history_bucket: TokenBucket | None = None
        """CHATHISTORY requests allowed (``chathistory_rate``/``_burst``); made on the first request."""
        self.cap_version = 0
        """301 or 302 from ``CAP LS``: 302 clients see capability values and get cap-notify."""
        self.batch: object | None = None
        """The client-initiated batch being collected (draft/multiline), if one is open."""

    def set_nick(self, nick: str, folded: str) -> None:
        """Change the nick and the cached ``nick!user@host`` source."""
        self.nick = nick
        self.folded = folded
        self.update_prefix()

    def update_prefix(self) -> None:
        """Recompute the ``nick!user@host`` source after nick, user or host change."""
        self.prefix = f"{self.nick}!{self.user or '*'}@{self.host}"

    def set_caps(self, caps: set[str] | frozenset[str]) -> None:
        """Replace the enabled capabilities and derive which tags this client receives."""
        self.caps = caps
        if "message-tags" in caps:
            self.tag_level = TAGS_ALL
        elif "account-tag" in caps:
            self.tag_level = TAGS_TIME_ACCOUNT if "server-time" in caps else TAGS_ACCOUNT
        elif "server-time" in caps:
            self.tag_level = TAGS_TIME
        else:
            self.tag_level = TAGS_NONE

    @property
    def is_oper(self) -> bool:
        """True once the client has done a successful OPER."""
        return "o" in self.modes

    def __repr__(self) -> str:
        return f"<Client {self.id} {self.nick} {self.ip}>"
