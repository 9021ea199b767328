"""The asyncio side of the cluster: the Redis connections and the node's background tasks.

- publisher: what handlers queued goes out in pipelines, in queue order, one round trip a batch;
- listener: one pub/sub connection (the users channel, this node's channel, and one sharded
  channel per IRC channel with local members) feeding ``RedisBus.on_*`` in Redis's order;
- heartbeat: refreshes this node's key (TTL ``cluster_heartbeat_ttl``), notices a Redis restart
  (its run id changes) and reaps dead nodes (``reaper.py``);
- recovery: when Redis fails the node serves its own users alone, retries every
  ``cluster_reconnect_interval`` and re-registers nicks, memberships and subscriptions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..state import Client
from . import wire
from .follow import Following
from .gapfill import SeenIds, fill
from .inflight import InFlight
from .mirror import is_ghost, user_info
from .outage import now_ms
from .pending import input_gate
from .reaper import reap, register_node

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline, PubSub

    from ..settings import ServerSettings
    from ..state.bus import Refusal
    from .bus import Op, RedisBus

log = logging.getLogger("tcpchat.cluster")

FAILURES = (RedisError, OSError)


class Link(Following):
    """One node's connection to the cluster through Redis."""

    def __init__(self, bus: RedisBus, settings: ServerSettings, redis: Any = None) -> None:
        self.bus = bus
        self.state = bus.state
        self.settings = settings
        self.redis = redis or aioredis.from_url(
            settings.redis_url or "", decode_responses=True,
            socket_timeout=settings.cluster_redis_timeout,
            socket_connect_timeout=settings.cluster_redis_timeout,
        )
        self.pubsub: PubSub | None = None
        self.items: deque[tuple[Op | None, Callable[[], None] | None, tuple[str, str] | None]] = deque()
        self.wake = asyncio.Event()
        self.subscribed: set[str] = set()
        self.last_seq: dict[str, int] = {}
        self.sub_lock = asyncio.Lock()
        self.sha = ""
        self.sharded = True
        self.run_id = ""
        self.tasks: list[asyncio.Task[Any]] = []
        self.listener: asyncio.Task[None] | None = None
        self.recovery: asyncio.Task[None] | None = None
        self.seen = SeenIds(settings.cluster_seen_ids)
        """Msgids delivered per followed channel (a gap fill skips them)."""
        self.last_rx: dict[str, float] = {}
        """Wall time of the last message event delivered per channel (where a gap fill starts)."""
        self.inflight = InFlight()
        """Channel events published and not back yet: delivered here if Redis dies first."""
        self.down_at = 0.0
        self.connected_at = 0.0
        """Monotonic time of the last (re)connect: reaping waits one heartbeat TTL after it."""
        bus.link = self

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect and register (raises when Redis cannot be reached at start)."""
        await self.connect(first=True)
        self.tasks.append(asyncio.create_task(self._publish_loop()))
        self.tasks.append(asyncio.create_task(self._heartbeat_loop()))

    async def connect(self, first: bool = False) -> None:
        """(Re)build the subscriptions and this node's registrations from local state."""
        if self.listener is not None:
            self.listener.cancel()
        if self.pubsub is not None:
            try:
                await self.pubsub.aclose()
            except FAILURES:
                pass
        info = await self.redis.info("server")
        self.run_id = info["run_id"]
        self.sharded = int(str(info["redis_version"]).split(".")[0]) >= 7
        self.sha = await self.redis.script_load(wire.PUBLISH_SCRIPT)
        self.pubsub = self.redis.pubsub()
        await self.pubsub.subscribe(wire.USERS_CHANNEL, wire.node_channel(self.bus.node))
        self.subscribed.clear()
        self.last_seq.clear()
        for folded, raw in (await self.redis.hgetall(wire.USERS)).items():
            self.bus.mirror.upsert(folded, json.loads(raw))
        await register_node(self, announce=True)
        if first:
            await self.bus.load_whowas()
        for channel in list(self.state.channels.values()):
            if self.bus.mirror.has_local(channel):
                await self.subscribe(channel.folded, channel.name)
        self.listener = asyncio.create_task(self._listen(self.pubsub))
        self.connected_at = time.monotonic()
        self.bus.up = True
        await self.bus.refresh_network()
        if not first:  # what other nodes said meanwhile reached only their own users
            for folded in list(self.subscribed):
                self.fill_gap(folded)
        log.info(
            "cluster: node %s %s redis (version %s, %s pub/sub)", self.bus.node,
            "joined" if first else "back on", info["redis_version"], "sharded" if self.sharded else "plain",
        )

    async def close(self) -> None:
        """Flush what is queued (the QUITs of a shutdown), leave the cluster, close."""
        while self.bus.up and self.items:
            await self._flush_once()
        for task in [*self.tasks, self.listener, self.recovery]:
            if task is not None:
                task.cancel()
        if self.bus.up:
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.srem(wire.NODES, self.bus.node)
                    pipe.delete(wire.node_alive(self.bus.node), wire.node_channels(self.bus.node))
                    await pipe.execute()
            except FAILURES:
                pass
        self.bus.up = False
        try:
            if self.pubsub is not None:
                await self.pubsub.aclose()
            await self.redis.aclose()
        except FAILURES:
            pass

    def down(self, exc: BaseException) -> None:
        """Redis failed: serve local users alone, deliver what was queued locally, reconnect later."""
        bus = self.bus
        if bus.up:
            self.down_at = time.time()
            log.warning(
                "cluster: redis unreachable (%r): serving this node's users only, retrying every %ss",
                exc, self.settings.cluster_reconnect_interval,
            )
        bus.up = False
        items, self.items = self.items, deque()
        lost = self.inflight.deliver_published({channel for _, _, channel in items if channel is not None})
        if lost:
            log.warning("cluster: %d published event(s) never came back from redis: delivered here", lost)
        for _, fallback, _ in items:
            if fallback is not None:
                fallback()
        joins, bus.pending_joins = bus.pending_joins, {}
        for run in joins.values():
            run()
        bus.turn_all()
        if self.recovery is None or self.recovery.done():
            self.recovery = asyncio.create_task(self._recover())

    async def _recover(self) -> None:
        while True:
            await asyncio.sleep(self.settings.cluster_reconnect_interval)
            try:
                await self.connect()
                return
            except FAILURES as exc:
                log.debug("cluster: reconnect failed: %r", exc)

    # ---- publishing --------------------------------------------------------------------------
    def queue(self, op: Op | None, fallback: Callable[[], None] | None = None,
              channel: tuple[str, str] | None = None) -> None:
        """Send ``op`` (or the channel event ``(folded, payload)``) with the next batch;
        ``fallback`` runs instead if the batch fails, or (a channel event) if Redis fails
        before handing the event back (``inflight.py``)."""
        if channel is not None and fallback is not None:
            fallback = self.inflight.track(channel, fallback)
        self.items.append((op, fallback, channel))
        self.wake.set()

    def _add_run(self, pipe: Pipeline, folded: str, payloads: list[str]) -> None:
        """Consecutive events of one channel: numbered and published by one script call."""
        command = "SPUBLISH" if self.sharded else "PUBLISH"
        pipe.evalsha(self.sha, 2, wire.channel_seq(folded), wire.channel_topic(folded), command, *payloads)

    async def _publish_loop(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.items and self.bus.up:
                await self._flush_once()

    async def _flush_once(self) -> None:
        limit = self.settings.cluster_batch
        batch = [self.items.popleft() for _ in range(min(limit, len(self.items)))]
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                run: list[str] = []
                run_folded = ""
                for op, _, channel in batch:
                    if channel is not None and channel[0] == run_folded:
                        run.append(channel[1])
                        continue
                    if run:
                        self._add_run(pipe, run_folded, run)
                    run, run_folded = [], ""
                    if channel is not None:
                        run_folded, run = channel[0], [channel[1]]
                    elif op is not None:
                        op(pipe)
                if run:
                    self._add_run(pipe, run_folded, run)
                await pipe.execute()
        except FAILURES as exc:
            self.items.extendleft(reversed(batch))  # down() delivers them locally, in order
            self.down(exc)
        except Exception:  # a bug in one op must not stop the node's publishing
            log.exception("cluster: publishing a batch failed")
            for _, fallback, _ in batch:
                if fallback is not None:
                    fallback()

    # ---- nicks and channels -------------------------------------------------------------------
    def claim(self, client: Client, nick: str, folded: str, done: Callable[[bool], None]) -> None:
        """Claim ``nick`` in Redis; the client's later output waits for the answer, and so do the
        lines it sent after the NICK (``NICK``/``USER``/``JOIN`` in one write: the JOIN must find
        it registered, as on a single server)."""
        hold = client.outbox.hold()
        gate = input_gate(client)
        if gate is not None:
            gate.wait_input()
        task = asyncio.create_task(self._claim(client, nick, folded, done, hold))
        if gate is not None:
            task.add_done_callback(lambda _: gate.resume_input())

    async def _claim(self, client: Client, nick: str, folded: str, done: Callable[[bool], None], hold: Any) -> None:
        bus = self.bus
        mine = f"{bus.node} {bus.epoch} {now_ms()}"  # the claim time settles a nick given out twice
        try:
            ok = bool(await self.redis.set(wire.nick_key(folded), mine, nx=True))
        except FAILURES as exc:
            self.down(exc)
            ok = True  # alone now: the local check decides
        result = False
        if not client.gone:
            result = ok and self.state.claim_nick(client, nick)
        old = bus.claimed.get(client.id)
        if result:
            bus.claimed[client.id] = folded
            if old and old != folded:
                self.queue(lambda pipe: pipe.delete(wire.nick_key(old)))
        elif ok and bus.up:
            self.queue(lambda pipe: pipe.delete(wire.nick_key(folded)))
        if not client.gone:
            client.outbox.release(hold, lambda: done(result))

    def join(self, client: Client, name: str, folded: str, refusal: Refusal | None) -> None:
        """Follow the channel (subscribe, load remote members), check it, then publish the JOIN."""
        asyncio.create_task(self._join(client, name, folded, refusal))

    async def _join(self, client: Client, name: str, folded: str, refusal: Refusal | None) -> None:
        bus = self.bus
        key = (client.id, folded)
        try:
            await self.subscribe(folded, name)
        except FAILURES as exc:
            self.down(exc)  # runs the pending join locally
            return
        if key not in bus.pending_joins or client.gone:
            bus.pending_joins.pop(key, None)
            return
        channel = self.state.channels.get(folded)
        refused = refusal(channel) if refusal is not None and channel is not None else None
        if refused is not None and channel is not None:  # +b/+i/+k/+l set on another node
            code, text, name_ = refused[0], refused[1], channel.name
            bus.pending_joins.pop(key).refuse(lambda: self.state.numeric(client, code, name_, text))
            others = any(f == folded for _, f in bus.pending_joins)
            if not others and not bus.mirror.has_local(channel):
                bus.mirror.drop(channel)
                self.unsubscribe(folded)
            return
        modes = "" if channel is not None and channel.members else "o"
        if channel is not None and self.state.join_modes is not None:  # a registered channel's ops list
            modes = self.state.join_modes(client, channel, modes)
        event = {"k": "j", "n": bus.node, "c": client.id, "f": client.folded, "m": modes,
                 "i": user_info(client, bus.node)}
        payload = wire.encode(event)
        value = f"{bus.node} {modes}"
        used = channel is not None and client.folded in channel.invites
        left = json.dumps(sorted(channel.invites - {client.folded})) if used and channel is not None else ""

        def op(pipe: Pipeline) -> None:
            if used:  # the invitation is used up: nodes that load the channel later see it gone
                pipe.hset(wire.channel_meta(folded), "invites", left)
            pipe.hset(wire.channel_members(folded), client.folded, value)
            pipe.hsetnx(wire.channel_meta(folded), "name", name)  # for LIST on other nodes
            pipe.sadd(wire.node_channels(bus.node), folded)

        def fallback() -> None:
            run = bus.pending_joins.pop(key, None)
            if run is not None:
                run()

        self.queue(op)
        self.queue(None, fallback, (folded, payload))

    # ---- receiving -----------------------------------------------------------------------------
    async def _listen(self, pubsub: PubSub) -> None:
        try:
            async for message in pubsub.listen():
                if message["type"] in ("smessage", "message"):
                    self._dispatch(message["channel"], message["data"])
        except FAILURES as exc:
            if pubsub is self.pubsub:
                self.down(exc)

    def _dispatch(self, channel: str, data: str) -> None:
        bus = self.bus
        try:
            if channel == wire.USERS_CHANNEL:
                bus.on_user_event(json.loads(data))
            elif channel.startswith(wire.PREFIX + "chan:{"):
                folded = channel[len(wire.PREFIX) + 6 : -1]
                seq, event = wire.decode_channel_event(data)
                waited = event.get("n") == bus.node and self.inflight.back((folded, data.partition("|")[2]))
                delivered_here = event.get("n") == bus.node and not waited  # when Redis went down
                last = self.last_seq.get(folded)
                if last is None:
                    return  # unsubscribed since
                if seq <= last:
                    return  # before we followed it, or already delivered: never twice
                if seq != last + 1:
                    bus.gaps += seq - last - 1
                    log.warning("cluster: %d event(s) of %s missed (seq %d after %d)", seq - last - 1, folded, seq, last)
                    self.fill_gap(folded)
                self.last_seq[folded] = seq
                if delivered_here:
                    return  # never twice
                if event["k"] in ("m", "b"):  # a message, or a multiline batch
                    self.last_rx[folded] = time.time()
                    if event.get("id"):
                        self.seen.add(folded, event["id"])
                bus.on_channel_event(folded, event)
            else:
                bus.on_node_event(json.loads(data))
        except Exception:  # one bad event must not stop the node's delivery
            log.exception("cluster: cannot apply event on %s", channel)

    def fill_gap(self, folded: str) -> None:
        """Deliver from the shared history what this node missed of ``folded`` (gapfill.py)."""
        if self.state.history is None:
            return
        since = self.last_rx.get(folded, self.down_at or time.time()) - self.settings.cluster_gap_fill_margin

        async def run() -> None:
            try:
                await fill(self, folded, since)
            except Exception:  # the history store reports its own errors; chat goes on
                log.exception("cluster: filling the gap of %s failed", folded)

        self.tasks.append(asyncio.create_task(run()))
        self.tasks = [t for t in self.tasks if not t.done()]

    # ---- liveness ------------------------------------------------------------------------------
    async def _heartbeat_loop(self) -> None:
        interval = self.settings.cluster_heartbeat_ttl / 3
        while True:
            await asyncio.sleep(interval)
            if not self.bus.up:
                continue
            try:
                info = await self.redis.info("server")
                if info["run_id"] != self.run_id:
                    raise ConnectionError("redis restarted (its run id changed)")
                await register_node(self, announce=False)
                await reap(self)
                await self.bus.refresh_network()
            except FAILURES as exc:
                self.down(exc)

    def local_users(self) -> list[Client]:
        """This node's registered users."""
        return [c for c in self.state.clients.values() if c.registered and not c.gone and not is_ghost(c)]
