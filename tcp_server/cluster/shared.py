"""What a cluster shares beyond messages and membership: echo order, WALLOPS, network queries.

A mixin of ``RedisBus``:
- a sender's echo waits for its message to come back from Redis (``echo``/``turn``), so the
  sender sees its line where every other member does;
- WALLOPS goes to ``+w`` users on every node (an event on the users channel);
- TOPIC/NAMES/MODE/WHO about a channel this node has no member in, and LIST, read the channel's
  meta and member hashes from Redis; the answer then takes its reserved place in the asker's
  replies with its label (``rb.later``);
- LUSERS counts every node's users and operators (their stand-ins are here, the users' records
  say who is an operator) and the network's channels and nodes (read from Redis with each
  heartbeat).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import RedisError

from ..protocol import casefold
from ..state import Channel, Client, ServerState
from ..state.bus import Bus, PendingEcho, Variants
from ..state.presence import WhowasEntry
from . import wire
from .meta import apply_meta
from .mirror import Mirror, is_ghost
from .outage import undelivered

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

    from ..state.responses import ResponseBuffer
    from .link import Link

log = logging.getLogger("tcpchat.cluster")

FAILURES = (RedisError, OSError)
T = TypeVar("T")
_running: set[asyncio.Task[None]] = set()
"""Queries waiting for Redis."""


def deliver(recipients: Iterable[Client], variants: Variants, skip: Client | None = None) -> None:
    """Hand a channel event to local members in the channel's order (``Outbox.deliver``)."""
    for member in recipients:
        if member is not skip:
            member.outbox.deliver(variants[member.tag_level])


def deliver_batch(channel: Channel, plain: Variants, batched: Variants, caps: list[str], skip: Client | None) -> None:
    """A multiline message: the BATCH form to members with all of ``caps``, plain lines else."""
    for member in channel.members:
        if member is not skip:
            form = batched if all(cap in member.caps for cap in caps) else plain
            member.outbox.deliver(form[member.tag_level])


class AwaitedEcho:
    """A published channel message whose sender's echo waits for it to come back."""

    __slots__ = ("folded", "pending")

    def __init__(self, folded: str) -> None:
        self.folded = folded
        self.pending: PendingEcho | None = None
        """Set by ``echo`` (None: the sender asked for no echo of it after all)."""

    def turn(self) -> None:
        """Its turn came (or it was lost): the echo may go."""
        if self.pending is not None:
            self.pending.turn()


class SharedState:
    """The ``RedisBus`` methods of this module (a mixin: it uses the bus's state and link)."""

    state: ServerState
    node: str
    up: bool
    link: Link | None
    mirror: Mirror
    echoes: dict[str, AwaitedEcho]
    network: tuple[int, int]
    _publish: Callable[[str, dict[str, Any], Callable[[], None]], None]
    _queue: Callable[..., None]
    _announce: Callable[[Client], None]
    """(nodes, channels) of the whole cluster, as read with the last heartbeat."""

    def to_channel_batch(
        self, channel: Channel, plain: Variants, batched: Variants, skip: Client, caps: tuple[str, ...]
    ) -> None:
        """Publish a multiline message; every node delivers it when Redis hands it out."""
        if not self.up:
            super().to_channel_batch(channel, plain, batched, skip, caps)
            return
        event = {"k": "b", "n": self.node, "s": skip.id, "v": wire.pack_variants(plain),
                 "b": wire.pack_variants(batched), "c": list(caps),
                 "id": wire.msgid_of(plain[2])}  # a gap fill skips it where it was delivered
        self._publish(channel.folded, event, lambda: Bus.to_channel_batch(self, channel, plain, batched, skip, caps))

    def to_nick_batch(
        self, target: Client, plain: Variants, batched: Variants, caps: tuple[str, ...],
        sender: Client | None = None,
    ) -> None:
        """A remote user's multiline message goes to its node's channel with both forms (its
        node picks one); ``sender`` hears if it cannot go out, as for ``to_nick``."""
        if not is_ghost(target):
            Bus.to_nick_batch(self, target, plain, batched, caps)  # type: ignore[arg-type]
            return
        node = self.mirror.node_of.get(target.folded)
        lost = partial(undelivered, self, sender, target)
        if self.up and node is not None:
            payload = wire.encode({"k": "p", "f": target.folded, "v": wire.pack_variants(plain),
                                   "b": wire.pack_variants(batched), "c": list(caps)})
            self._queue(lambda pipe: pipe.publish(wire.node_channel(node), payload), lost)
        else:
            lost()

    def on_private(self, target: Client, event: dict[str, Any]) -> None:
        """A private message from another node for local ``target`` (a multiline one has both
        forms, ``b`` the BATCH: it gets that if it has the caps ``c``)."""
        variants = wire.unpack_variants(event["v"])
        if "b" in event:
            Bus.to_nick_batch(self, target, variants, wire.unpack_variants(event["b"]), tuple(event["c"]))  # type: ignore[arg-type]
        else:
            Bus.to_nick(self, target, variants, event.get("o") or "")  # type: ignore[arg-type]

    # ---- echo order -----------------------------------------------------------------------
    def await_echo(self, folded: str, msgid: str) -> None:
        """A message to ``folded`` is published: its sender's echo (``echo``) waits for it."""
        self.echoes[msgid] = AwaitedEcho(folded)

    def echo(
        self, rb: ResponseBuffer, variants: Variants, commit: bool = False, label: str | None = None
    ) -> PendingEcho | None:
        """The sender's echo of a published channel message waits for it to come back from
        Redis, so the sender sees it where every member does (and, with ``commit``, stored)."""
        awaited = self.echoes.get(wire.msgid_of(variants[2]))
        if awaited is None:
            return Bus.echo(self, rb, variants, commit, label)  # type: ignore[arg-type]
        awaited.pending = PendingEcho(rb.later(label), variants[rb.client.tag_level], True, commit)
        return awaited.pending

    def turn(self, msgid: str | None) -> None:
        """A published message is back (or will not come back): its sender's echo may go.

        This node's messages come back in the order it published them, so older ones of the
        same channel still waiting were lost (a gap): their echoes go first.
        """
        echoes = self.echoes
        if not msgid or msgid not in echoes:
            return
        if next(iter(echoes)) != msgid:
            folded = echoes[msgid].folded
            for older in list(itertools.takewhile(lambda k: k != msgid, echoes)):
                if echoes[older].folded == folded:
                    echoes.pop(older).turn()
        echoes.pop(msgid).turn()

    def remote_users(self) -> list[tuple[Client, str]]:
        """Every ghost with the node it is connected to."""
        nicks = self.state.nicks
        return [(nicks[f], node) for f, node in self.mirror.node_of.items() if f in nicks]

    def turn_all(self) -> None:
        """Redis is gone: echoes waiting for messages that may never come back go now."""
        echoes, self.echoes = self.echoes, {}
        for awaited in echoes.values():
            awaited.turn()

    # ---- WALLOPS ------------------------------------------------------------------------
    def to_mode(self, mode: str, variants: Variants) -> None:
        """Local ``+mode`` users now; the other nodes' when the event reaches them."""
        Bus.to_mode(self, mode, variants)  # type: ignore[arg-type]
        if self.up and self.link is not None:
            payload = wire.encode({"k": "w", "n": self.node, "m": mode, "v": wire.pack_variants(variants)})

            def op(pipe: Pipeline) -> None:
                pipe.publish(wire.USERS_CHANNEL, payload)

            self.link.queue(op)

    def user_news(self, ghost: Client, cap: str, variants: Variants) -> None:
        """A remote user's AWAY, SETNAME or ACCOUNT: to local peers and extended-monitor
        watchers that asked for ``cap``."""
        from ..commands.monitor import extended_watchers

        told = self.state.peers_of(ghost) | extended_watchers(self.state, ghost, cap)
        self.state.relay((p for p in told if cap in p.caps), variants)

    def on_broadcast(self, event: dict[str, Any]) -> None:
        """Another node's WALLOPS: to this node's users with the mode."""
        if event["n"] != self.node:
            Bus.to_mode(self, event["m"], wire.unpack_variants(event["v"]))  # type: ignore[arg-type]

    # ---- queries about the network ------------------------------------------------------
    def _later(
        self, rb: ResponseBuffer, work: Awaitable[T], fallback: T, then: Callable[[ResponseBuffer, T], None]
    ) -> None:
        """``then(rb, await work)`` in the reply's reserved place (``fallback`` if Redis fails)."""
        late = rb.later()

        def write(rb: ResponseBuffer, value: T) -> None:
            try:
                then(rb, value)
            except Exception:  # a bug in one answer must not leave the client's output held
                log.exception("cluster: answering a query failed")

        async def run() -> None:
            try:
                value = await work
            except FAILURES as exc:
                if self.link is not None:
                    self.link.down(exc)
                value = fallback
            if late.rb.client.gone:
                late.release()
            else:
                late.release(lambda rb: write(rb, value))

        task = asyncio.get_running_loop().create_task(run())
        _running.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(_running.discard)

    def find_channel(
        self, rb: ResponseBuffer, name: str, then: Callable[[ResponseBuffer, Channel | None], None]
    ) -> None:
        """A channel this node follows at once; another node's is read from Redis."""
        channel = self.state.get_channel(name)
        if channel is not None or not self.up or self.link is None:
            then(rb, channel)
            return
        folded = casefold(name)
        self._later(rb, self._load([folded], name), [], lambda rb, found: then(rb, found[0] if found else None))

    def list_channels(
        self, rb: ResponseBuffer, names: list[str] | None, then: Callable[[ResponseBuffer, list[Channel]], None]
    ) -> None:
        """LIST: the channels this node follows, and the others' read from Redis."""
        if not self.up or self.link is None:
            Bus.list_channels(self, rb, names, then)  # type: ignore[arg-type]
            return
        self._later(rb, self._load_all(names), [], then)

    async def _load_all(self, names: list[str] | None) -> list[Channel]:
        if names is not None:
            wanted = list(dict.fromkeys(casefold(n) for n in names if n))
        else:
            wanted = sorted(await self._channel_names())
        return await self._load(wanted)

    async def _channel_names(self) -> set[str]:
        """Every channel some node has (or had) members in: the union of the nodes' sets."""
        assert self.link is not None
        redis = self.link.redis
        nodes = sorted(await redis.smembers(wire.NODES))
        async with redis.pipeline(transaction=False) as pipe:
            for node in nodes:
                pipe.smembers(wire.node_channels(str(node)))
            sets = await pipe.execute()
        return set().union(*sets) if sets else set()

    async def _load(self, folded: list[str], name: str = "") -> list[Channel]:
        """The channels ``folded``, in that order: followed ones as they are here, others built
        from their meta and member hashes (a snapshot, not kept); empty ones left out."""
        assert self.link is not None
        state = self.state
        remote = [f for f in folded if f not in state.channels]
        loaded: dict[str, Channel] = {}
        if remote:
            async with self.link.redis.pipeline(transaction=False) as pipe:
                for f in remote:
                    pipe.hgetall(wire.channel_meta(f))
                    pipe.hgetall(wire.channel_members(f))
                replies = await pipe.execute()
            for i, f in enumerate(remote):
                channel = snapshot(state, f, name or f, replies[2 * i], replies[2 * i + 1])
                if channel is not None:
                    loaded[f] = channel
        out = []
        for f in folded:
            channel = state.channels.get(f) or loaded.get(f)
            if channel is not None and channel.members:
                out.append(channel)
        return out

    # ---- WHOWAS --------------------------------------------------------------------------
    def share_whowas(self) -> None:
        """Record the nicks this node's users leave in Redis too (call once, at start)."""
        self.nick_of: dict[int, str] = {}
        self.state.on_nick.append(self._nick_set)
        self.state.on_disconnect.append(self._user_left)

    def _nick_set(self, client: Client) -> None:
        old = self.nick_of.get(client.id)
        if old is not None and old != client.nick:
            self._nick_left(client, old)
        self.nick_of[client.id] = client.nick

    def _user_left(self, client: Client, reason: str) -> None:
        self.nick_of.pop(client.id, None)
        self._nick_left(client, client.nick)

    def _nick_left(self, client: Client, nick: str) -> None:
        if client.id < 0 or not client.registered or not self.up or self.link is None:
            return
        entry = wire.encode({"nick": nick, "user": client.user, "host": client.host,
                             "realname": client.realname, "at": time.time()})
        size = self.state.settings.whowas_size

        def op(pipe: Pipeline) -> None:
            pipe.lpush(wire.WHOWAS, entry)
            pipe.ltrim(wire.WHOWAS, 0, size - 1)

        self.link.queue(op)

    async def load_whowas(self) -> None:
        """WHOWAS learns the nicks left anywhere before this node started (oldest first)."""
        assert self.link is not None
        presence = self.state.presence
        for raw in reversed(await self.link.redis.lrange(wire.WHOWAS, 0, -1)):
            e = json.loads(raw)
            host = e.get("host") or "*"
            presence.whowas.append(WhowasEntry(e["nick"], casefold(e["nick"]), e.get("user") or "*", host, host,
                                               e.get("realname") or "", float(e.get("at") or 0)))

    # ---- LUSERS -------------------------------------------------------------------------
    def oper_changed(self, client: Client) -> None:
        """Announce the user again: its record in Redis (``user_info``) says if it is an operator."""
        self._announce(client)

    def operators(self) -> int:
        """This node's operators and the other nodes' (their users' records say so)."""
        return self.state.oper_count + len(self.mirror.opers)

    def counts(self) -> tuple[int, int, int]:
        """Nodes and channels as of the last heartbeat; users as this node knows them now."""
        nodes, channels = self.network
        users = self.state.registered_count + len(self.mirror.node_of)
        return max(nodes, 1), users, max(channels, len(self.state.channels))

    async def refresh_network(self) -> None:
        """Read the number of live nodes and of channels with members (each heartbeat)."""
        assert self.link is not None
        names = sorted(await self._channel_names())
        redis = self.link.redis
        async with redis.pipeline(transaction=False) as pipe:
            pipe.scard(wire.NODES)
            for f in names:
                pipe.exists(wire.channel_members(f))
            replies = await pipe.execute()
        self.network = (int(replies[0]), sum(1 for r in replies[1:] if r))


def snapshot(
    state: ServerState, folded: str, name: str, meta: dict[str, str], members: dict[str, str]
) -> Channel | None:
    """A channel as Redis describes it (its members are the users' stand-ins here), or None."""
    if not members:
        return None
    channel = Channel(meta.get("name") or name, folded)
    if meta:
        apply_meta(channel, meta)
    for nick, value in members.items():
        member = state.nicks.get(nick)
        if member is not None:  # its ``channels`` stay as they are: the snapshot is not kept
            channel.members[member] = value.partition(" ")[2]
    return channel
