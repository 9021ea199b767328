"""Nodes on a real 3-master Redis Cluster: sharded pub/sub with one hash tag per IRC channel.

The fixture starts three ``redis-server --cluster-enabled yes`` on free ports (and free cluster
bus ports) in temp dirs and joins them with ``redis-cli --cluster create``; the two chat nodes
enter the cluster through different masters.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tcp_server.cluster.rcluster import ClusterClient
from tcp_server.server import ChatServer

from ..support import sync
from .support import NODE, free_port, until_known

pytestmark = pytest.mark.redis
STARTUP = 30.0
"""Seconds the cluster may take to come up (bounded waits)."""


class RedisClusterServers:
    """Three masters, no replicas, each in its own temp dir; all 16384 slots covered."""

    def __init__(self, root: Path, count: int = 3) -> None:
        self.root = root
        self.ports = [free_port() for _ in range(count)]
        self.bus_ports = [free_port() for _ in range(count)]
        self.procs: list[subprocess.Popen[bytes]] = []

    def url(self, i: int) -> str:
        return f"redis://127.0.0.1:{self.ports[i]}"

    def start(self) -> None:
        server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if server is None or cli is None:
            pytest.skip("redis-server/redis-cli are not installed (scripts/system-deps)")
        for port, bus in zip(self.ports, self.bus_ports, strict=True):
            where = self.root / str(port)
            where.mkdir()
            self.procs.append(subprocess.Popen(
                [server, "--port", str(port), "--cluster-port", str(bus), "--bind", "127.0.0.1",
                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--dir", str(where),
                 "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        deadline = time.monotonic() + STARTUP
        for port in self.ports:
            while not _accepts(port):
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server (cluster mode) did not start")
                time.sleep(0.05)
        subprocess.run([cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                        "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True, timeout=STARTUP)
        while not all(_cluster_ok(cli, p) for p in self.ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster never reported cluster_state:ok")
            time.sleep(0.1)

    def restart(self, i: int) -> None:
        """Kill master ``i`` and start it again on its port and dir (its nodes.conf keeps its slots;
        its keys are gone); waits until the cluster is ok again."""
        proc = self.procs[i]
        proc.kill()
        proc.wait(10)
        self.procs[i] = subprocess.Popen(proc.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cli = shutil.which("redis-cli")
        assert cli is not None
        deadline = time.monotonic() + STARTUP
        while not (_accepts(self.ports[i]) and all(_cluster_ok(cli, p) for p in self.ports)):
            if time.monotonic() > deadline:
                raise RuntimeError("the restarted master never rejoined")
            time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _cluster_ok(cli: str, port: int) -> bool:
    out = subprocess.run([cli, "-p", str(port), "cluster", "info"], capture_output=True, text=True, timeout=5)
    return "cluster_state:ok" in out.stdout


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[RedisClusterServers]:
    servers = RedisClusterServers(tmp_path)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


@pytest.fixture
async def cluster_nodes(redis_cluster: RedisClusterServers) -> AsyncIterator[Callable[..., Awaitable[ChatServer]]]:
    """Chat nodes on the Redis Cluster, node i entering through master i."""
    from tcp_server.settings import ServerSettings

    started: list[ChatServer] = []

    async def node(**overrides: Any) -> ChatServer:
        n = len(started) + 1
        settings = ServerSettings(**{**NODE, "redis_url": redis_cluster.url((n - 1) % 3), "node_id": f"n{n}",
                                     "server_name": f"n{n}.tcpchat.local", **overrides})
        srv = ChatServer(settings)
        await srv.start()
        started.append(srv)
        return srv

    yield node
    for srv in started:
        if not srv.stopped:
            await srv.shutdown()


async def test_cross_node_chat_in_one_order_over_a_redis_cluster(cluster_nodes, users):
    a, b = await cluster_nodes(), await cluster_nodes()
    assert isinstance(a.cluster.redis, ClusterClient) and isinstance(b.cluster.redis, ClusterClient)
    rooms = [f"#room{i}" for i in range(6)]
    slots = {a.cluster.redis.keyslot(f"tcpchat:chan:{{{r}}}") for r in rooms}
    shards = {a.cluster.redis.nodes_manager.get_node_from_slot(s).name for s in slots}
    assert len(shards) >= 2  # the rooms' sharded channels live on different masters
    clients = [await users((a, b)[i % 2], f"u{i}") for i in range(4)]
    for c in clients:
        for room in rooms:
            await c.join(room)
    for c in clients:
        await sync(c)
    per_sender = 10
    await asyncio.gather(*(
        c.send(*(f"PRIVMSG {room} :{c.nick}-{room}-{k}" for k in range(per_sender) for room in rooms))
        for c in clients[:2]
    ))
    seen = []
    for c in clients[2:]:  # listeners on both nodes
        lines = [(await c.expect("PRIVMSG")).params for _ in range(2 * per_sender * len(rooms))]
        seen.append(lines)
    for room in rooms:  # one order per room on both nodes, each sender's lines in its order
        orders = [[text for target, text in lines if target == room] for lines in seen]
        assert orders[0] == orders[1] and len(orders[0]) == 2 * per_sender
        for sender in ("u0", "u1"):
            assert [t for t in orders[0] if t.startswith(sender)] == [f"{sender}-{room}-{k}" for k in range(per_sender)]
    await until_known(clients[0], "u1")
    await clients[0].send("PRIVMSG u1 :across the cluster")
    assert (await clients[1].expect("PRIVMSG", lambda m: m.params[0] == "u1")).params[1] == "across the cluster"
    late = await users(b, "late")
    await late.send("NICK u0")  # nick claims are keys on the cluster too
    assert (await late.expect("433")).params[1] == "u0"


async def test_a_restarted_master_loses_its_keys_and_the_nodes_recover(
    cluster_nodes, users, redis_cluster
) -> None:
    ttl = 2.0
    a = await cluster_nodes(cluster_heartbeat_ttl=ttl, cluster_reconnect_interval=1.0)  # back < ttl after b
    b = await cluster_nodes(cluster_heartbeat_ttl=ttl)
    rooms = [f"#room{i}" for i in range(6)]
    alice, bob = await users(a, "alice"), await users(b, "bob")
    client = a.cluster.redis  # restart a master that holds none of the node registry's keys,
    registry = ("tcpchat:nodes", "tcpchat:users", "tcpchat:alive:n1", "tcpchat:alive:n2")  # so only
    held = {int(client.nodes_manager.get_node_from_slot(client.keyslot(k)).port) for k in registry}  # the
    spare = [p for p in redis_cluster.ports if p not in held]  # nodes' outage expires their heartbeats
    if not spare:
        pytest.skip("every master holds a registry key in this slot layout")
    shard = redis_cluster.ports.index(spare[0])
    for room in rooms:
        await alice.join(room)
        await bob.join(room)
    await sync(alice)
    await sync(bob)
    await asyncio.to_thread(redis_cluster.restart, shard)
    for _ in range(200):  # bounded: both nodes back on the cluster
        if a.cluster.bus.up and b.cluster.bus.up and a.cluster.connected_at and b.cluster.connected_at:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(2 * ttl)  # past a heartbeat TTL: nobody reaped
    for sender, reader in ((alice, bob), (bob, alice)):
        await sender.send(*(f"PRIVMSG {room} :{sender.nick} after {room}" for room in rooms))
        got = sorted([(await reader.expect("PRIVMSG")).params[1] for _ in rooms])
        assert got == sorted(f"{sender.nick} after {room}" for room in rooms)
    for user in (alice, bob):  # neither node reaped the other while it was reconnecting
        assert [m for m in user.seen if m.command in ("QUIT", "PART")] == []
    assert a.cluster.bus.up and b.cluster.bus.up
