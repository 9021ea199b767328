"""Following IRC channels: which Redis channels a node subscribes to, and what it loads then.

A node follows (subscribes to) exactly the channels it has local members in. When it starts
following one it loads the channel's remote members, topic, modes, lists and invitations from
Redis, and the sequence number from which its events are new.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from ..state import Channel
from . import wire
from .bus import apply_meta

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

    from ..state import ServerState
    from .bus import RedisBus
    from .gapfill import SeenIds

FAILURES = (RedisError, OSError)


class Following:
    """The subscription half of ``Link`` (a mixin: it uses the link's connections and state)."""

    bus: RedisBus
    state: ServerState
    redis: Redis
    pubsub: PubSub | None
    subscribed: set[str]
    last_seq: dict[str, int]
    last_rx: dict[str, float]
    seen: SeenIds
    sub_lock: asyncio.Lock
    sharded: bool

    def down(self, exc: BaseException) -> None:
        """Redis failed (``Link.down``)."""
        raise NotImplementedError

    async def subscribe(self, folded: str, name: str) -> None:
        """Receive the channel's events from now on; load its remote members and topic."""
        async with self.sub_lock:
            if folded in self.subscribed or self.pubsub is None:
                return
            topic = wire.channel_topic(folded)
            await (self.pubsub.ssubscribe(topic) if self.sharded else self.pubsub.subscribe(topic))
            seq = await self.redis.get(wire.channel_seq(folded))
            members = await self.redis.hgetall(wire.channel_members(folded))
            meta = await self.redis.hgetall(wire.channel_meta(folded))
            remote = {f: v.partition(" ") for f, v in members.items() if not v.startswith(self.bus.node + " ")}
            missing = [f for f in remote if self.bus.mirror.ghost(f) is None]
            infos = await self.redis.hmget(wire.USERS, missing) if missing else []
            self.last_seq[folded] = int(seq or 0)
            self.subscribed.add(folded)
        for f, raw in zip(missing, infos, strict=True):
            if raw:
                self.bus.mirror.upsert(f, json.loads(raw))
        self._load_channel(folded, name, remote, meta)

    def _load_channel(self, folded: str, name: str, remote: dict[str, tuple[str, str, str]],
                      meta: dict[str, str]) -> None:
        state, mirror = self.state, self.bus.mirror
        ghosts = [(g, r[2]) for f, r in remote.items() if (g := mirror.ghost(f)) is not None]
        channel = state.channels.get(folded)
        if channel is None:
            if not ghosts:
                return
            channel = state.channels[folded] = Channel(meta.get("name") or name, folded)
        if meta and not self.bus.mirror.has_local(channel):
            apply_meta(channel, meta)
        for ghost, modes in ghosts:
            if ghost not in channel.members:
                mirror.add_member(channel, ghost, modes)

    def unsubscribe(self, folded: str) -> None:
        """Stop receiving a channel nobody on this node is in (unless someone is joining it)."""
        if folded in self.subscribed:
            asyncio.create_task(self._unsubscribe(folded))

    async def _unsubscribe(self, folded: str) -> None:
        async with self.sub_lock:
            joining = any(f == folded for _, f in self.bus.pending_joins)
            if folded in self.state.channels or joining or folded not in self.subscribed:
                return
            self.subscribed.discard(folded)
            self.last_seq.pop(folded, None)
            self.last_rx.pop(folded, None)
            self.seen.forget(folded)
            topic = wire.channel_topic(folded)
            try:
                if self.pubsub is not None:
                    await (self.pubsub.sunsubscribe(topic) if self.sharded else self.pubsub.unsubscribe(topic))
            except FAILURES as exc:
                self.down(exc)

