"""Cluster mode: several server nodes share rooms, nicks and live traffic through Redis.

``RedisBus`` (bus.py) stands behind the ``state.bus`` seam; ``Link`` (link.py) owns the Redis
connections and tasks; ``mirror.py`` keeps remote users as local stand-ins; ``reaper.py``
cleans up after dead nodes; ``wire.py`` names the keys and encodes the events; ``rcluster.py`` adapts redis-py's
Redis Cluster client; ``outage.py`` is what users see while Redis is away. History is
shared by pointing every node at the same PostgreSQL ``database_url``: each message is stored
once, by the node its sender is connected to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .bus import RedisBus
from .link import Link
from .rcluster import open_redis

if TYPE_CHECKING:
    from ..settings import ServerSettings
    from ..state import ServerState


async def join_cluster(state: ServerState, settings: ServerSettings) -> Link:
    """Replace the node's LocalBus with a RedisBus and connect it (raises if Redis is down)."""
    bus = RedisBus(state, settings)
    link = Link(bus, settings, await open_redis(settings))
    await link.start()
    state.bus = bus
    return link


__all__ = ["Link", "RedisBus", "join_cluster"]
