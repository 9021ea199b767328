"""The cluster seam: where command handlers hand over what must reach users on other nodes.

Handlers never talk to Redis. They call the bus for the few things a cluster must share:
a channel message, a private message, a nick claim, and membership changes (join, part, kick,
topic, mode). ``LocalBus`` is the single-node path: every call does at once, synchronously, exactly
what the handlers did before the seam existed, so a node without ``redis_url`` runs unchanged.
``tcp_server.cluster.RedisBus`` implements the same methods with I/O (publish, then deliver in
the order Redis hands events out), calling back into the same completion functions.

Pure bookkeeping with no I/O, like the rest of ``state/``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .client import TAGS_ALL

if TYPE_CHECKING:
    from .channel import Channel
    from .client import Client
    from .registry import ServerState

Variants = tuple[bytes, bytes, bytes]
Refusal = Callable[["Channel"], "tuple[str, str] | None"]


class Bus:
    """What a cluster shares, as one interface; this base is the single-node behaviour.

    Every method finishes its work (or hands it to ``done``/``complete``) synchronously here;
    a clustered bus may call those later, after a round trip, in the cluster-wide order.
    """

    clustered = False
    """True when other nodes exist: some callbacks then run later (after a Redis round trip)."""
    node = ""
    """This node's id in a cluster (STATS l's node column); empty when alone."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def to_channel(
        self, channel: Channel, variants: Variants, skip: Client | None = None, only: str = ""
    ) -> None:
        """Deliver a channel message to every member (but ``skip``) on every node.

        ``only`` narrows the members: ``tags`` (message-tags clients: TAGMSG), or member modes
        one of which a recipient must have (``o``, ``ov``: STATUSMSG).
        """
        members = channel.members
        self.state.relay(select(members, only) if only else members, variants, skip=skip)

    def to_nick(self, target: Client, variants: Variants, only: str = "", sender: Client | None = None) -> None:
        """Deliver a private message to ``target``, wherever it is connected (``only="tags"``:
        if it is a message-tags client). A clustered bus tells ``sender`` (a PRIVMSG's) when
        the message cannot reach the target's node."""
        if not only or target.tag_level == TAGS_ALL:
            target.outbox.send(variants[target.tag_level])

    def claim_nick(self, client: Client, nick: str, done: Callable[[bool], None]) -> None:
        """Give ``nick`` to ``client`` unless someone holds it; ``done(ok)`` with the answer."""
        done(self.state.claim_nick(client, nick))

    def join(
        self, client: Client, name: str, complete: Callable[[], None],
        refusal: Refusal | None = None,
    ) -> None:
        """``client`` joins channel ``name`` (the handler's checks passed): ``complete()`` adds it
        and announces it. ``refusal(channel)`` checks +b/+i/+k/+l again (the numeric and text to
        answer, or None); a clustered bus calls it once it learnt the channel's state elsewhere."""
        complete()

    def leave(self, channel: Channel, member: Client, variants: Variants) -> None:
        """``member`` leaves ``channel`` (PART, KICK): every member sees ``variants``, then it is out."""
        self.state.relay(channel.members, variants)
        self.state.part(member, channel)

    def channel_changed(self, channel: Channel, variants: Variants) -> None:
        """Topic or modes changed (already applied here): members everywhere see ``variants``."""
        self.state.relay(channel.members, variants)

    def invited(self, channel: Channel, target: Client, variants: Variants) -> None:
        """``target`` was invited to ``channel`` (the handler told it and local members): other
        nodes learn the invitation and tell the target and their invite-notify members."""

    def user_changed(self, client: Client, variants: Variants, cap: str) -> None:
        """``client``'s away message or real name changed; the handler has told local peers.

        Other nodes update their copy and tell their users that share a channel and asked for
        ``cap`` (``away-notify``, ``setname``). Nothing to do on a lone node.
        """

    def disconnect(self, target: Client, reason: str) -> None:
        """Close ``target``'s connection (KILL), on whichever node it is connected to."""
        self.state.disconnect(target, reason, reason)

    def remote_users(self) -> list[tuple[Client, str]]:
        """Users connected to other nodes, with their node id (STATS l); none when alone."""
        return []


def select(members: dict[Client, str], only: str) -> list[Client]:
    """The members ``only`` admits (see ``Bus.to_channel``)."""
    if only == "tags":
        return [m for m in members if m.tag_level == TAGS_ALL]
    return [m for m, modes in members.items() if any(r in modes for r in only)]


LocalBus = Bus
"""The in-process bus of a node running alone (the default)."""
