"""Remote users as local stand-ins ("ghosts"): synchronous state changes, no I/O.

A node keeps one ``Client`` per user connected to another node, with an outbox that drops
everything (that user's own node delivers to it). Ghosts sit in ``state.nicks`` and in the
members of channels this node has local members in, so NAMES, WHO, WHOIS, KICK and PRIVMSG
find remote users with the handlers unchanged. They are never in ``state.clients``: LUSERS,
STATS l and the liveness sweep count this node's own connections only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

from ..state import Channel, Client, ServerState, build_variants, server_time
from ..state.ordering import Hold

_ghost_ids = itertools.count(-1, -1)


class GhostOutbox:
    """The outbox of a remote user: its own node delivers, so this one drops everything."""

    sendq_bytes = 0

    def send(self, data: bytes) -> None:
        """Dropped: the user's node has delivered the same event."""

    def deliver(self, data: bytes) -> None:
        """Dropped too."""

    def close(self, error_line: bytes) -> None:
        """Nothing to close here."""

    def hold(self) -> Hold:
        """Never waits for anything."""
        return Hold()

    def release(self, hold: Hold, write: Callable[[], None] | None = None) -> None:
        """Nothing is held."""

    def release_paced(self, hold: Hold, lines: Iterable[bytes], done: Callable[[], None] | None = None) -> None:
        """Nothing is paced."""


GHOST_OUTBOX = GhostOutbox()


def is_ghost(client: Client) -> bool:
    """True for a stand-in of a user on another node (ids below zero)."""
    return client.id < 0


def user_info(client: Client, node: str) -> dict[str, Any]:
    """What other nodes need to show ``client``: the fields of WHOIS, WHO and the prefix."""
    return {
        "node": node, "nick": client.nick, "user": client.user, "host": client.host,
        "realname": client.realname, "account": client.account, "ip": client.ip, "away": client.away,
        "oper": client.is_oper,
    }


class Mirror:
    """The ghosts of remote users and the changes remote events make to local state."""

    def __init__(self, state: ServerState, node: str) -> None:
        self.state = state
        self.node = node
        self.node_of: dict[str, str] = {}
        """Casefolded nick of each ghost -> the node it is connected to."""
        self.opers: set[str] = set()
        """Casefolded nicks of the ghosts that are IRC operators (LUSERS counts them)."""

    def ghost(self, folded: str) -> Client | None:
        """The ghost holding ``folded``, if that nick is a remote user's."""
        client = self.state.nicks.get(folded)
        return client if client is not None and is_ghost(client) else None

    def upsert(self, folded: str, info: dict[str, Any], old: str | None = None) -> Client | None:
        """Create or update the ghost of a remote user; a nick change is shown to local peers."""
        state = self.state
        if info.get("node") == self.node:
            return None
        ghost = self.ghost(old) if old else None
        ghost = ghost or self.ghost(folded)
        holder = state.nicks.get(folded)
        if holder is not None and not is_ghost(holder):
            return None  # a local user holds it (only after a Redis restart lost the claims)
        arrived = ghost is None
        if ghost is None:
            ghost = Client(next(_ghost_ids), GHOST_OUTBOX, info.get("ip") or "0", 0, "remote")
            ghost.registered = True
        old_prefix, old_nick = ghost.prefix, ghost.nick
        renamed = bool(ghost.folded) and ghost.nick != info["nick"]
        if ghost.folded and state.nicks.get(ghost.folded) is ghost:
            del state.nicks[ghost.folded]
            self.node_of.pop(ghost.folded, None)
            self.opers.discard(ghost.folded)
        ghost.user = info.get("user") or "~user"
        ghost.host = ghost.real_host = info.get("host") or "remote"
        ghost.realname = info.get("realname") or ""
        ghost.account = info.get("account")
        ghost.away = info.get("away")
        oper = bool(info.get("oper"))  # WHOIS/WHO/USERHOST show it; never in state.oper_count
        ghost.modes = ghost.modes | {"o"} if oper else ghost.modes - {"o"}
        ghost.set_nick(info["nick"], folded)
        state.nicks[folded] = ghost
        self.node_of[folded] = info["node"]
        (self.opers.add if oper else self.opers.discard)(folded)
        if renamed:
            variants = build_variants(old_prefix, "NICK", (ghost.nick,), server_time())
            state.relay(state.peers_of(ghost), variants)
            for channel in ghost.channels.values():  # members see the member under its new nick
                channel.members[ghost] = channel.members.pop(ghost)
            state.presence.nick_changed(ghost, old_nick)  # WHOWAS and MONITOR, as for a local user
        elif arrived:
            state.presence.came_online(ghost)
        return ghost

    def remove(self, folded: str, text: str) -> bool:
        """A remote user quit (or its node died): QUIT to local peers, then forget it."""
        ghost = self.ghost(folded)
        if ghost is None:
            return False
        state = self.state
        variants = build_variants(ghost.prefix, "QUIT", (text,), server_time())
        state.relay(state.peers_of(ghost), variants)
        for channel in list(ghost.channels.values()):
            self.leave(channel, ghost)
        del state.nicks[folded]
        self.node_of.pop(folded, None)
        self.opers.discard(folded)
        ghost.gone = True
        state.presence.remember(ghost)  # WHOWAS and MONITOR, as for a local user
        state.presence.went_offline(ghost.nick)
        return True

    def add_member(self, channel: Channel, ghost: Client, modes: str) -> None:
        """Put a ghost in a local channel with its member modes."""
        channel.members[ghost] = modes
        ghost.channels[channel.folded] = channel

    def leave(self, channel: Channel, member: Client) -> None:
        """Take a member out; a channel left with ghosts only is dropped (no local reader)."""
        self.state.part(member, channel)
        if channel.members and not self.has_local(channel):
            self.drop(channel)

    def drop(self, channel: Channel) -> None:
        """Forget a channel with no local member (its ghosts' memberships too)."""
        for member in list(channel.members):
            member.channels.pop(channel.folded, None)
        channel.members.clear()
        self.state.channels.pop(channel.folded, None)

    @staticmethod
    def has_local(channel: Channel) -> bool:
        """True when a member of ``channel`` is connected to this node."""
        return any(m.id > 0 for m in channel.members)

    def of_node(self, node: str) -> list[str]:
        """Casefolded nicks of the ghosts connected to ``node``."""
        return [f for f, n in self.node_of.items() if n == node]
