"""The server's whole chat state: clients by id and nick, channels by name. Synchronous, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..protocol import Message, casefold, fit_text, format_line
from .bus import Bus, LocalBus
from .channel import Channel
from .client import TIMED_LEVELS, Client, Outbox, display_host
from .credentials import CredentialChecks
from .delivery import MsgIdGenerator, build_variants, server_time
from .guard import ConnectThrottle
from .presence import Presence
from .readmarkers import ReadMarkers
from .responses import numeric_line

if TYPE_CHECKING:
    from ..accounts import AccountService
    from ..history.base import HistoryStore
    from ..settings import ServerSettings

log = logging.getLogger("tcpchat.server")

VERSION = f"tcpchat-{__version__}"


class Counters:
    """Totals the metrics endpoint exports."""

    __slots__ = ("connections", "messages", "sendq_drops", "kills", "floods")

    def __init__(self) -> None:
        self.connections = 0
        self.messages = 0
        self.sendq_drops = 0
        self.kills = 0
        self.floods = 0


class ServerState(CredentialChecks):
    """Registry of clients and channels plus the helpers handlers use to reply and relay."""

    def __init__(self, settings: ServerSettings, history: HistoryStore | None = None) -> None:
        self.settings = settings
        self.name = settings.server_name
        self.clients: dict[int, Client] = {}
        self.nicks: dict[str, Client] = {}
        self.channels: dict[str, Channel] = {}
        self.created = time.time()
        self.history = history
        self.counters = Counters()
        self.registered_count = 0
        """Registered clients, kept as a count: LUSERS answers every registration, and scanning
        every client for it made a burst of N registrations cost O(N²)."""
        self.oper_count = 0
        self.invisible_count = 0
        """Registered +i clients of this node, a count for the same reason (irssi sets +i on
        every connect; LUSERS 251 says how many are invisible)."""
        self.peak_users = 0
        """Most registered clients at once (LUSERS 265/266)."""
        self.new_msgid = MsgIdGenerator(settings.node_id)
        self._next_id = 1
        self._init_credentials(settings)
        self.call_later: Callable[[float, Callable[[], None]], Any] = lambda delay, fn: fn()
        """Runs ``fn`` after ``delay`` seconds; the server installs the event loop's (tests: at once)."""
        self.connect_throttle = ConnectThrottle(settings.connect_rate_per_ip, settings.connect_burst_per_ip)
        self._cloak_key = (
            settings.cloak_secret.get_secret_value().encode() if settings.cloak_secret else os.urandom(32)
        )
        self._cloak_suffix = re.sub(r"[^A-Za-z0-9-]", "", settings.network_name) or "tcpchat"
        self._per_ip: dict[str, int] = {}
        self.on_disconnect: list[Callable[[Client, str], Any]] = []
        self.shutting_down = False
        """Set by server shutdown: everyone is leaving, so peers are not told of each QUIT (n²)."""
        self.on_join: list[Callable[[Client, Channel], Any]] = []
        self.on_leave: list[Callable[[Client, Channel], Any]] = []
        """Called as a member leaves a channel: PART, KICK, QUIT, a lost connection, shutdown."""
        # accounts (commands/accounts.py, chanserv.py): the service (None when off), hooks after
        # a topic/mode change and after a registered client's nick is set, the restorer of an
        # empty registered channel, and the member modes a joiner gets (``o`` by account).
        self.accounts: AccountService | None = None
        self.on_channel_change: list[Callable[[Channel], Any]] = []
        self.on_nick: list[Callable[[Client], Any]] = []
        self.channel_restorer: Callable[[str], Channel | None] | None = None
        self.join_modes: Callable[[Client, Channel, str], str] | None = None
        self.presence = Presence(self)
        """WHOWAS memory and MONITOR lists (hooks itself into ``on_disconnect``)."""
        self.read_markers = ReadMarkers(settings.read_markers_max)
        self.bus: Bus = LocalBus(self)
        """The cluster seam (``bus.py``): a RedisBus replaces it when the node joins a cluster."""

    # ---- connections -------------------------------------------------------------------
    def add_client(self, outbox: Outbox, ip: str, port: int, transport: str = "tcp") -> Client:
        """Create the state for a new connection."""
        client = Client(self._next_id, outbox, ip, port, transport)
        client.host = self.host_for(ip)
        self._count_ip(ip, 1)
        self._next_id += 1
        self.clients[client.id] = client
        self.counters.connections += 1
        return client

    def host_for(self, ip: str) -> str:
        """The host other users see for ``ip``: a keyed hash when ``cloak_hosts`` (the default).

        Operators (WHOIS 338, STATS l) and the user itself still see the address.
        """
        if not self.settings.cloak_hosts:
            return display_host(ip)
        digest = hmac.new(self._cloak_key, ip.encode(), hashlib.sha256).hexdigest()
        return f"cloak-{digest[:12]}.{self._cloak_suffix}"

    def clients_from_ip(self, ip: str) -> int:
        """How many connections come from ``ip`` (for max_clients_per_ip); O(1)."""
        return self._per_ip.get(ip, 0)

    def may_connect(self, ip: str) -> str | None:
        """Why a new connection from ``ip`` is refused (per-address limit, connect throttle), or None.

        Trusted gateways (WEBIRC) are counted by their users' addresses later, at WEBIRC."""
        settings = self.settings
        if (settings.webirc_password and ip in settings.webirc_allowed) or ip in settings.per_ip_exempt_set:
            return None
        if self.ip_is_full(ip):
            return "Too many connections from your address"
        if not self.connect_throttle.allow(ip, time.monotonic()):
            return "Reconnecting too fast; wait a moment"
        return None

    def ip_is_full(self, ip: str) -> bool:
        """True when ``ip`` already has ``max_clients_per_ip`` connections (and is not exempt)."""
        limit = self.settings.max_clients_per_ip
        return bool(limit) and self._per_ip.get(ip, 0) >= limit and ip not in self.settings.per_ip_exempt_set

    def set_ip(self, client: Client, ip: str) -> None:
        """Record ``client``'s real address (WEBIRC), keeping the per-address counts right."""
        self._count_ip(client.ip, -1)
        client.ip = ip
        self._count_ip(ip, 1)

    def _count_ip(self, ip: str, delta: int) -> None:
        count = self._per_ip.get(ip, 0) + delta
        if count > 0:
            self._per_ip[ip] = count
        else:
            self._per_ip.pop(ip, None)

    def disconnect(self, client: Client, reason: str, quit_message: str | None = None) -> None:
        """Remove ``client`` everywhere, tell its channel peers once, and close its socket.

        Idempotent: the transport calls it again from ``connection_lost``.
        """
        if client.gone:
            return
        client.gone = True
        if client.registered:
            self.registered_count -= 1
            if "i" in client.modes:
                self.invisible_count -= 1
        if client.is_oper:
            self.oper_count -= 1
        text = quit_message if quit_message is not None else reason
        if client.registered and not self.shutting_down:
            variants = build_variants(client.prefix, "QUIT", (text,), server_time())
            for peer in self.peers_of(client):
                peer.outbox.send(variants[peer.tag_level])
        for channel in list(client.channels.values()):
            self._leave(channel, client)
        if client.folded and self.nicks.get(client.folded) is client:
            del self.nicks[client.folded]
        if self.clients.pop(client.id, None) is not None:
            self._count_ip(client.ip, -1)
        self.auth_guard.forget(client.id)
        for hook in self.on_disconnect:
            hook(client, reason)
        log.info(
            "disconnect id=%s nick=%s addr=%s:%s transport=%s reason=%r",
            client.id, client.nick, client.ip, client.port, client.transport, reason,
        )
        closing = fit_text("", "ERROR", "", f"Closing Link: {client.host} ({reason})")
        error = f"ERROR :{closing}\r\n".encode("utf-8", "replace")
        client.outbox.close(error)

    def set_user_mode(self, client: Client, mode: str, on: bool) -> None:
        """Set or clear a user mode the user sets on itself (+i is counted for LUSERS)."""
        if on == (mode in client.modes):
            return
        client.modes = client.modes | {mode} if on else client.modes - {mode}
        if mode == "i" and client.registered:
            self.invisible_count += 1 if on else -1

    def mark_registered(self, client: Client) -> None:
        """``client`` finished registration (counted for LUSERS)."""
        if not client.registered:
            client.registered = True
            self.registered_count += 1
            self.peak_users = max(self.peak_users, self.registered_count)

    def set_oper(self, client: Client, on: bool) -> None:
        """Give or take user mode +o (counted for LUSERS)."""
        if on and not client.is_oper:
            client.modes = client.modes | {"o"}
            self.oper_count += 1
            self.bus.oper_changed(client)
        elif not on and client.is_oper:
            client.modes = client.modes - {"o"}
            self.oper_count -= 1
            self.bus.oper_changed(client)

    # ---- nicks -------------------------------------------------------------------------
    def find_nick(self, nick: str) -> Client | None:
        """The registered client using ``nick``, if any.

        A connection still registering holds its nick (``claim_nick`` refuses it to others) but
        is no target yet: it has no user name to show and must not receive messages.
        """
        client = self.nicks.get(casefold(nick))
        return client if client is not None and client.registered else None

    def claim_nick(self, client: Client, nick: str) -> bool:
        """Give ``nick`` to ``client`` unless someone else holds it; frees the old nick."""
        folded = casefold(nick)
        holder = self.nicks.get(folded)
        if holder is not None and holder is not client:
            return False
        if client.folded and self.nicks.get(client.folded) is client:
            del self.nicks[client.folded]
        self.nicks[folded] = client
        client.set_nick(nick, folded)
        return True

    # ---- channels ----------------------------------------------------------------------
    def get_channel(self, name: str) -> Channel | None:
        """The channel called ``name`` (any case), if it exists."""
        return self.channels.get(casefold(name))

    def join(self, client: Client, name: str) -> Channel:
        """Add ``client`` to ``name``, creating it (with the creator as op) if needed."""
        folded = casefold(name)
        channel = self.channels.get(folded)
        if channel is None:
            channel = self.channels[folded] = Channel(name, folded)
            modes = "o"
        else:
            modes = ""
        if self.join_modes is not None:
            modes = self.join_modes(client, channel, modes)
        channel.members[client] = modes
        channel.invites.discard(client.folded)
        client.channels[folded] = channel
        return channel

    def part(self, client: Client, channel: Channel) -> None:
        """Remove ``client`` from ``channel`` (dropping the channel when it empties)."""
        self._leave(channel, client)

    def _leave(self, channel: Channel, client: Client) -> None:
        if channel.members.pop(client, None) is not None:
            for hook in self.on_leave:
                hook(client, channel)
        client.channels.pop(channel.folded, None)
        if not channel.members:
            self.channels.pop(channel.folded, None)

    def peers_of(self, client: Client) -> set[Client]:
        """Everyone sharing at least one channel with ``client`` (excluding itself)."""
        peers: set[Client] = set()
        for channel in client.channels.values():
            peers.update(channel.members)
        peers.discard(client)
        return peers

    # ---- output ------------------------------------------------------------------------
    def numeric(self, client: Client, code: str, *params: str) -> None:
        """Send numeric ``code`` to ``client`` outside a command (a handler uses ``rb.numeric``)."""
        client.outbox.send(numeric_line(self.name, client.nick, code, *params))

    def send_from_server(self, client: Client, command: str, *params: str) -> None:
        """Send a server-sourced command such as NOTICE or CAP."""
        client.outbox.send(format_line(Message(command, params, self.name)))

    def relay(
        self,
        recipients: Iterable[Client],
        variants: tuple[bytes, bytes, bytes, bytes, bytes],
        skip: Client | None = None,
    ) -> None:
        """Hand the right pre-encoded variant to each recipient (runs once per delivery: the loop
        does nothing else)."""
        for member in recipients:
            if member is not skip:
                member.outbox.send(variants[member.tag_level])

    def send_to_client(self, client: Client, source: str, command: str, *params: str) -> None:
        """Send one line with a server-time tag when the client asked for it."""
        msg = Message(command, params, source)
        if client.tag_level in TIMED_LEVELS:
            msg = Message(command, params, source, {"time": server_time()})
        client.outbox.send(format_line(msg))
