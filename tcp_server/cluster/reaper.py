"""A node's registrations in Redis, and cleaning up after a node that died.

``register_node`` refreshes the heartbeat; after a (re)connect it also writes back everything
this node owns (nicks, user infos, memberships) and removes what an earlier incarnation of the
same node id left behind. ``reap`` finds nodes whose heartbeat expired; one survivor (a short
``SET NX`` lock) publishes ``QUIT :node lost`` for each of their users, which every node shows
to the local users sharing a channel with them, and frees their nicks and memberships.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from . import wire
from .mirror import user_info
from .outage import settle

if TYPE_CHECKING:
    from .link import Link

log = logging.getLogger("tcpchat.cluster")

NODE_LOST = "node lost"


async def register_node(link: Link, announce: bool) -> None:
    """Refresh this node's heartbeat; with ``announce``, (re)write all it owns into Redis.

    Announcing also republishes each local membership as a JOIN: a node that lost these users
    (it reaped us, or Redis restarted) shows them joining again; one that kept them ignores it.
    """
    bus, redis = link.bus, link.redis
    node = bus.node
    ttl_ms = int(link.settings.cluster_heartbeat_ttl * 1000)
    users = link.local_users() if announce else []
    members: dict[str, dict[str, str]] = {}
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(wire.node_alive(node), bus.epoch, px=ttl_ms)
        pipe.sadd(wire.NODES, node)
        for client in users:
            info = user_info(client, node)
            pipe.set(wire.nick_key(client.folded), bus.outage.value(client), nx=True)
            pipe.hset(wire.USERS, client.folded, json.dumps(info))
            pipe.publish(wire.USERS_CHANNEL, wire.encode({"k": "u", "f": client.folded, "o": None, "i": info}))
        if announce:
            for channel in link.state.channels.values():
                local = {m: modes for m, modes in channel.members.items() if m.id > 0}
                if local:
                    members[channel.folded] = {m.folded: f"{node} {modes}" for m, modes in local.items()}
                    pipe.hset(wire.channel_members(channel.folded), mapping=members[channel.folded])
                    pipe.sadd(wire.node_channels(node), channel.folded)
                    # nodes that dropped these users (a reaped node, a restarted Redis) show them again
                    link._add_run(pipe, channel.folded, [wire.encode(
                        {"k": "j", "n": node, "c": m.id, "f": m.folded, "m": modes, "i": user_info(m, node)}
                    ) for m, modes in local.items()])
        results = await pipe.execute()
    if not announce:
        if results[1]:  # our id was gone from the node set: another node reaped us (we were too slow)
            log.warning("cluster: node %s was declared lost; announcing its users again", node)
            await register_node(link, announce=True)
        return
    for client in users:
        bus.claimed[client.id] = client.folded
        bus._user_names[client.id] = client.folded
    await purge_node(link, node, keep={c.folded for c in users}, keep_members=members)
    for i, client in enumerate(users):
        if not results[2 + 3 * i] and not client.gone:  # held already: ours, or given out twice
            await settle(link, client)


async def purge_node(
    link: Link, node: str, keep: set[str] | None = None, keep_members: dict[str, dict[str, str]] | None = None
) -> int:
    """Free the nicks and memberships ``node`` holds (but ``keep``); publish their QUITs."""
    redis = link.redis
    keep = keep or set()
    keep_members = keep_members or {}
    gone = [
        f for f, raw in (await redis.hgetall(wire.USERS)).items()
        if json.loads(raw).get("node") == node and f not in keep
    ]
    channels = await redis.smembers(wire.node_channels(node))
    stale: list[tuple[str, str]] = []
    for folded in channels:
        for f, value in (await redis.hgetall(wire.channel_members(folded))).items():
            if value.startswith(node + " ") and f not in keep_members.get(folded, {}):
                stale.append((folded, f))
    async with redis.pipeline(transaction=False) as pipe:
        for f in gone:
            pipe.delete(wire.nick_key(f))
            pipe.hdel(wire.USERS, f)
            pipe.publish(wire.USERS_CHANNEL, wire.encode({"k": "q", "f": f, "t": NODE_LOST}))
        for folded, f in stale:
            pipe.hdel(wire.channel_members(folded), f)
        for folded in channels:
            if folded not in keep_members:
                pipe.srem(wire.node_channels(node), folded)
        await pipe.execute()
    return len(gone)


async def reap(link: Link) -> None:
    """Clean up after every node whose heartbeat expired (one survivor per dead node)."""
    redis, me = link.redis, link.bus.node
    lock_ms = int(link.settings.cluster_heartbeat_ttl * 1000)
    if time.monotonic() - link.connected_at < link.settings.cluster_heartbeat_ttl:
        return  # just (re)connected: a shard that restarted lost live nodes' heartbeats too
    for node in await redis.smembers(wire.NODES):
        if node == me or await redis.exists(wire.node_alive(node)):
            continue
        if not await redis.set(wire.reap_lock(node), me, nx=True, px=lock_ms):
            continue  # another survivor does it
        count = await purge_node(link, node)
        await redis.srem(wire.NODES, node)
        log.warning("cluster: node %s lost (no heartbeat): %d user(s) quit", node, count)
