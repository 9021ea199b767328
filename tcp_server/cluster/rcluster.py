"""Redis Cluster support: the same ``Link`` over redis-py's asyncio ``RedisCluster``.

Every per-channel key and the channel's sharded pub/sub channel share a ``{hash tag}``
(wire.py), so a channel lives on one shard. redis-py's cluster client differs from the plain
one in three ways this module smooths over, so link.py, follow.py and reaper.py run unchanged:

- its pipelines refuse PUBLISH and EVALSHA (``PIPELINE_BLOCKED_COMMANDS``) and split a batch
  per shard with no order between shards: ``OrderedPipeline`` sends consecutive other commands
  as one cluster pipeline and PUBLISH/EVALSHA on their own, in queue order (more round trips
  than against one Redis; order, which the cluster relies on, is kept);
- INFO answers for one node: ``ClusterClient.info`` asks every primary and joins their run
  ids, so a restart of any shard reads as a Redis restart (the node re-registers);
- sharded subscriptions live on one connection per shard and ``ClusterPubSub.listen`` reads
  only the plain one: ``MergedPubSub.listen`` reads all of them, each shard in its own order.

Plain PUBLISH (users and node channels) reaches subscribers on every shard, so those
subscriptions stay on one connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub, RedisCluster
from redis.exceptions import RedisError

from ..settings import ServerSettings

log = logging.getLogger("tcpchat.cluster")

ALONE = frozenset({"publish", "evalsha"})
"""Commands a cluster pipeline refuses: sent on their own, in their place in the batch."""


class OrderedPipeline:
    """Records a batch like a pipeline; ``execute`` runs it in order over the cluster."""

    def __init__(self, client: ClusterClient) -> None:
        self.client = client
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    async def __aenter__(self) -> OrderedPipeline:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.calls.clear()

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> OrderedPipeline:
            if name == "delete" and len(args) > 1:  # keys of different slots: one DEL each
                self.calls.extend(("delete", (key,), {}) for key in args)
            else:
                self.calls.append((name, args, kwargs))
            return self

        return record

    async def execute(self) -> list[Any]:
        """Run the recorded commands; their results in order, as a pipeline returns them."""
        results: list[Any] = []
        pipe: Any = None
        for name, args, kwargs in self.calls:
            if name in ALONE:
                if pipe is not None:
                    results += await pipe.execute()
                    pipe = None
                results.append(await getattr(self.client, name)(*args, **kwargs))
                continue
            if pipe is None:
                pipe = RedisCluster.pipeline(self.client, transaction=False)
            getattr(pipe, name)(*args, **kwargs)
        if pipe is not None:
            results += await pipe.execute()
        self.calls.clear()
        return results


class MergedPubSub(ClusterPubSub):
    """Cluster pub/sub whose ``listen`` yields messages of the plain and every shard connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inbox: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()
        self.readers: dict[str, asyncio.Task[None]] = {}

    async def ssubscribe(self, *args: Any, **kwargs: Any) -> None:
        await super().ssubscribe(*args, **kwargs)
        for name, shard in self.node_pubsub_mapping.items():  # a new shard: read it too
            task = self.readers.get(name)
            if task is None or task.done():
                self.readers[name] = asyncio.create_task(self._read(shard))

    async def _read(self, source: PubSub) -> None:
        try:
            async for message in PubSub.listen(source):
                self.inbox.put_nowait(message)
        except (RedisError, OSError) as exc:
            self.inbox.put_nowait(exc)

    async def listen(self) -> AsyncIterator[dict[str, Any]]:  # type: ignore[override]
        plain = asyncio.create_task(self._read(self))
        try:
            while True:
                item = await self.inbox.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            plain.cancel()

    async def aclose(self) -> None:
        for task in self.readers.values():
            task.cancel()
        self.readers.clear()
        await super().aclose()


class ClusterClient(RedisCluster):
    """``RedisCluster`` with the plain client's pipeline order, INFO and listen (see above)."""

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> Any:
        return OrderedPipeline(self)

    def pubsub(self, *args: Any, **kwargs: Any) -> MergedPubSub:
        return MergedPubSub(self, *args, **kwargs)

    async def info(self, section: Any = None, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if args or kwargs:
            return await super().info(section, *args, **kwargs)
        per_node = await super().info(section, target_nodes=RedisCluster.PRIMARIES)
        infos = [v for v in per_node.values() if isinstance(v, dict)] or [per_node]
        merged = dict(infos[0])
        if all("run_id" in i for i in infos):
            merged["run_id"] = ",".join(sorted(i["run_id"] for i in infos))
        return merged


async def open_redis(settings: ServerSettings) -> aioredis.Redis | ClusterClient:
    """A client for ``redis_url``: the cluster client when that node runs in cluster mode."""
    options: dict[str, Any] = {
        "decode_responses": True, "socket_timeout": settings.cluster_redis_timeout,
        "socket_connect_timeout": settings.cluster_redis_timeout,
    }
    url = settings.redis_url or ""
    plain = aioredis.from_url(url, **options)
    try:
        enabled = int((await plain.info("cluster")).get("cluster_enabled", 0))
    except (RedisError, OSError):
        return plain  # unreachable: Link.start reports it
    if not enabled:
        return plain
    await plain.aclose()
    log.info("cluster: %s is a Redis Cluster node: using the cluster client", url)
    client = ClusterClient.from_url(url, **options)
    await client.initialize()
    return client
