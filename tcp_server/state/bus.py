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

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .client import TAGS_ALL

if TYPE_CHECKING:
    from .channel import Channel
    from .client import Client
    from .registry import ServerState
    from .responses import Late, ResponseBuffer

Variants = tuple[bytes, bytes, bytes, bytes, bytes]
"""A line pre-encoded per tag level (``Client.tag_level``), see ``build_variants``."""
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

        ``only`` narrows the members: ``tags`` (message-tags clients: TAGMSG), ``cap:<name>``
        (clients with that capability: REDACT), or member modes one of which a recipient must
        have (``o``, ``ov``: STATUSMSG).
        """
        members = channel.members
        self.state.relay(select(members, only) if only else members, variants, skip=skip)

    def to_channel_batch(
        self, channel: Channel, plain: Variants, batched: Variants, skip: Client, caps: tuple[str, ...]
    ) -> None:
        """A multiline message to every member (but ``skip``) on every node: those with all of
        ``caps`` get it as one ``batched`` BATCH, the others as ``plain`` separate lines."""
        for member in channel.members:
            if member is not skip and not member.gone:
                form = batched if all(cap in member.caps for cap in caps) else plain
                member.outbox.send(form[member.tag_level])

    def to_nick(self, target: Client, variants: Variants, only: str = "", sender: Client | None = None) -> None:
        """Deliver a private message to ``target``, wherever it is connected (``only``: if it is
        a message-tags client, ``tags``, or has the capability ``cap:<name>``). A clustered bus
        tells ``sender`` (a PRIVMSG's) when the message cannot reach the target's node."""
        if not only or select((target,), only):
            target.outbox.send(variants[target.tag_level])

    def to_nick_batch(
        self, target: Client, plain: Variants, batched: Variants, caps: tuple[str, ...],
        sender: Client | None = None,
    ) -> None:
        """A private multiline message to ``target``, wherever it is connected: one ``batched``
        BATCH if it has all of ``caps``, ``plain`` separate lines else. A clustered bus tells
        ``sender`` (a PRIVMSG's) when the message cannot reach the target's node."""
        form = batched if all(cap in target.caps for cap in caps) else plain
        target.outbox.send(form[target.tag_level])

    def to_mode(self, mode: str, variants: Variants) -> None:
        """Deliver to every user with user mode ``mode`` (WALLOPS: ``w``) on every node."""
        self.state.relay((c for c in self.state.clients.values() if mode in c.modes and c.registered), variants)

    def echo(
        self, rb: ResponseBuffer, variants: Variants, commit: bool = False, label: str | None = None
    ) -> PendingEcho | None:
        """The sender's ``echo-message`` copy of the message it just handed to ``to_channel``.

        Alone it is part of the command's reply (``rb``), or with ``commit`` it comes when the
        caller calls ``committed`` on the returned ``PendingEcho`` (in its place, with the
        command's label or ``label``). A clustered bus also waits for the message's turn in the
        channel's order.
        """
        if not commit:
            rb.add(variants[rb.client.tag_level])
            return None
        return PendingEcho(rb.later(label), variants[rb.client.tag_level], turn=False, commit=True)

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

    def disconnect(self, target: Client, reason: str, line: bytes = b"") -> None:
        """Close ``target``'s connection (KILL), on whichever node it is connected to; ``line``
        (the KILL message) reaches it first, so a client knows it was killed, not dropped."""
        if line:
            target.outbox.send(line)
        self.state.disconnect(target, reason, reason)

    def oper_changed(self, client: Client) -> None:
        """``client`` became (or stopped being) an IRC operator: other nodes learn it."""

    def operators(self) -> int:
        """IRC operators online on the whole network, for LUSERS."""
        return self.state.oper_count

    def remote_users(self) -> list[tuple[Client, str]]:
        """Users connected to other nodes, with their node id (STATS l); none when alone."""
        return []

    # ---- queries about the whole network (a clustered bus asks Redis) ----------------------
    def find_channel(
        self, rb: ResponseBuffer, name: str, then: Callable[[ResponseBuffer, Channel | None], None]
    ) -> None:
        """``then(rb, channel)`` for a query about ``name`` (TOPIC, NAMES, MODE, WHO), None if
        it does not exist. A clustered bus loads a channel this node has no member in from Redis
        first; ``then`` then runs later, with the buffer of the reply's reserved place."""
        then(rb, self.state.get_channel(name))

    def list_channels(
        self, rb: ResponseBuffer, names: list[str] | None, then: Callable[[ResponseBuffer, list[Channel]], None]
    ) -> None:
        """``then(rb, channels)`` for LIST: those called ``names``, or every channel (None)."""
        state = self.state
        if names is None:
            then(rb, list(state.channels.values()))
            return
        found = (state.get_channel(n) for n in names)
        then(rb, [c for c in found if c is not None])

    def counts(self) -> tuple[int, int, int]:
        """(servers, registered users, channels) of the whole network, for LUSERS."""
        return 1, self.state.registered_count, len(self.state.channels)


class PendingEcho:
    """A sender's echo that waits for its turn in the channel's cluster order (``turn``), for
    the history store's commit (``committed``), or both; it goes out after the last of them.

    Its place in the sender's output is a hold: replies to later commands wait behind it. Until
    its turn the hold is ``passable``: channel lines placed before it in that order go ahead.
    """

    __slots__ = ("late", "line", "waiting")

    def __init__(self, late: Late, line: bytes, turn: bool, commit: bool) -> None:
        self.late = late
        self.line = line
        self.waiting = int(turn) + int(commit)
        late.hold.passable = turn

    def turn(self) -> None:
        """The message came back in the channel's order: later lines now wait behind the echo."""
        if self.late.hold.passable:
            self.late.hold.passable = False
            self._one_less()

    def committed(self, failure: bytes | None = None) -> None:
        """The message is stored (``failure``: it is not, and this line replaces the echo)."""
        if failure is not None:
            self.line = failure
        self._one_less()

    def _one_less(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            if self.late.rb.client.gone:
                self.late.release()
            else:
                self.late.send(self.line)


CAP_ONLY = "cap:"
"""``only="cap:<name>"``: recipients that negotiated capability ``name``."""


def select(members: Iterable[Client] | dict[Client, str], only: str) -> list[Client]:
    """The members ``only`` admits (see ``Bus.to_channel``)."""
    if only == "tags":
        return [m for m in members if m.tag_level == TAGS_ALL]
    if only.startswith(CAP_ONLY):
        cap = only[len(CAP_ONLY):]
        return [m for m in members if cap in m.caps]
    if not isinstance(members, dict):
        return []
    return [m for m, modes in members.items() if any(r in modes for r in only)]


LocalBus = Bus
"""The in-process bus of a node running alone (the default)."""
