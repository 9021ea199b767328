"""A node SIGKILLed mid-chat, and Redis restarted mid-chat: the rest of the cluster carries on."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import pytest

from ..support import RawClient, ServerProcess, sync
from .support import NODE, until_known

pytestmark = pytest.mark.redis
TTL = NODE["cluster_heartbeat_ttl"]


async def _texts(client: RawClient, count: int) -> list[str]:
    """The next ``count`` PRIVMSG texts, then whatever else arrives before a PING round trip."""
    out = [(await client.expect("PRIVMSG")).params[1] for _ in range(count)]
    out += [m.params[1] for m in await sync(client) if m.command == "PRIVMSG"]
    return out


async def _chat(senders: list[RawClient], listeners: list[RawClient], tag: str, per: int = 10) -> None:
    """Each sender says ``per`` lines; every listener gets each line exactly once."""
    await asyncio.gather(*(s.send(*(f"PRIVMSG #room :{tag}-{s.nick}-{k}" for k in range(per))) for s in senders))
    for listener in listeners:
        expected = {f"{tag}-{s.nick}-{k}" for s in senders if s is not listener for k in range(per)}
        got = await _texts(listener, len(expected))
        counts = Counter(got)
        assert set(counts) == expected, f"{listener.nick} lost or got foreign lines"
        assert max(counts.values()) == 1, f"{listener.nick} got a line twice"


async def test_sigkill_one_node_others_see_quit_and_keep_chatting(cluster, users, redis_server):  # noqa: F811
    a, b = await cluster(), await cluster()
    child = ServerProcess(
        "--redis-url", redis_server.url, "--node-id", "doomed", "--no-history", "--flood-rate", "0",
        "--cluster-heartbeat-ttl", str(TTL), "--use-uvloop",
    ).start()
    try:
        alice, bob = await users(a, "alice"), await users(b, "bob")
        victims = [await users(child.port, "vic1"), await users(child.port, "vic2")]
        for u in (alice, bob, *victims):
            await u.join("#room")
        for u in (alice, bob):
            await sync(u)
        await _chat([alice, bob, victims[0]], [alice, bob, victims[1]], "before")
        await victims[0].send(*(f"PRIVMSG #room :mid-{k}" for k in range(5)))
        child.stop(signal.SIGKILL)
        for u in (alice, bob):  # within a bound of a few heartbeat TTLs (expect's timeout)
            quits = set()
            while len(quits) < 2:
                msg = await u.expect("QUIT", timeout=4 * TTL + 2)
                assert msg.params[0] == "node lost"
                quits.add(msg.source.split("!")[0])
            assert quits == {"vic1", "vic2"}
        await _chat([alice, bob], [alice, bob], "after")
        await alice.send("NAMES #room")
        assert set((await alice.expect("353")).params[-1].split()) <= {"@alice", "alice", "bob", "@bob"}
        late = await users(b, "vic1")  # the dead node's nicks are free again
        assert late.nick == "vic1"
    finally:
        child.stop(signal.SIGKILL)


async def test_redis_restart_mid_chat_nodes_recover(cluster, users, redis_server):  # noqa: F811
    a, b = await cluster(), await cluster()
    alice, amy, bob = await users(a, "alice"), await users(a, "amy"), await users(b, "bob")
    for u in (alice, amy, bob):
        await u.join("#room")
    for u in (alice, amy, bob):
        await sync(u)
    await _chat([alice, bob], [alice, amy, bob], "before")
    redis_server.stop()
    for _ in range(200):  # bounded: until both nodes noticed (heartbeat or a failed publish)
        if not a.cluster.bus.up and not b.cluster.bus.up:
            break
        await asyncio.sleep(0.05)
    assert not a.cluster.bus.up and not b.cluster.bus.up
    await alice.send("PRIVMSG #room :while redis is down")  # same-node users keep chatting
    assert (await amy.expect("PRIVMSG")).params[1] == "while redis is down"
    redis_server.start()
    for _ in range(200):  # bounded: until both nodes are back on Redis
        if a.cluster.bus.up and b.cluster.bus.up:
            break
        await asyncio.sleep(0.05)
    assert a.cluster.bus.up and b.cluster.bus.up
    await until_known(alice, "bob")
    await _chat([alice, bob], [alice, amy, bob], "after")
    await bob.send("PRIVMSG alice :direct after restart")
    assert (await alice.expect("PRIVMSG")).params == ("alice", "direct after restart")
    c = await cluster()  # a node that joins after the restart learns every nick from Redis again
    fresh = await users(c, "late")
    await fresh.send("NICK alice")
    assert (await fresh.expect("433")).params[1] == "alice"
    await fresh.send("JOIN #room")  # and every membership
    assert set((await fresh.expect("353")).params[-1].split()) == {"@alice", "amy", "bob", "late"}


async def test_node_restarted_with_same_id_starts_clean(cluster, users, redis_server):  # noqa: F811
    a = await cluster()
    args = ("--redis-url", redis_server.url, "--node-id", "phoenix", "--no-history", "--flood-rate", "0",
            "--cluster-heartbeat-ttl", "30")  # the TTL is long: only the restart can clean up
    child = ServerProcess(*args).start()
    try:
        alice = await users(a, "alice")
        old = await users(child.port, "old")
        await old.join("#room")
        await alice.join("#room")
        await sync(old)
        child.stop(signal.SIGKILL)
        child = ServerProcess(*args).start()  # same node id, new epoch
        quit_ = await alice.expect("QUIT")
        assert quit_.source.startswith("old!") and quit_.params[0] == "node lost"
        again = await users(child.port, "old")  # its nick was freed with the stale state
        await again.send("JOIN #room")
        assert set((await again.expect("353")).params[-1].split()) == {"alice", "old"}
    finally:
        child.stop(signal.SIGKILL)


async def test_node_stalled_past_its_ttl_is_reaped_then_comes_back(cluster, users, redis_server):  # noqa: F811
    a = await cluster()
    child = ServerProcess(
        "--redis-url", redis_server.url, "--node-id", "sleepy", "--no-history", "--flood-rate", "0",
        "--cluster-heartbeat-ttl", str(TTL),
    ).start()
    try:
        alice, bob = await users(a, "alice"), await users(child.port, "bob")
        await alice.join("#room")
        await bob.join("#room")
        await sync(alice)
        assert child.proc is not None
        child.proc.send_signal(signal.SIGSTOP)  # a stalled node: no heartbeat
        quit_ = await alice.expect("QUIT", timeout=4 * TTL + 2)
        assert quit_.source.startswith("bob!") and quit_.params[0] == "node lost"
        child.proc.send_signal(signal.SIGCONT)  # it notices it was declared lost and announces again
        join = await alice.expect("JOIN", timeout=4 * TTL + 2)
        assert join.source.startswith("bob!")
        await bob.send("PRIVMSG #room :back")
        assert (await alice.expect("PRIVMSG")).params == ("#room", "back")
        await alice.send("PRIVMSG bob :welcome back")
        assert (await bob.expect("PRIVMSG", lambda m: m.params[0] == "bob")).params[1] == "welcome back"
    finally:
        if child.proc is not None:
            child.proc.send_signal(signal.SIGCONT)
        child.stop(signal.SIGKILL)


async def test_graceful_shutdown_of_a_node_quits_its_users_everywhere(cluster, users):  # noqa: F811
    a, b = await cluster(), await cluster()
    alice = await users(a, "alice")
    await alice.join("#room")
    leaving = [await users(b, f"bye{i}") for i in range(3)]
    for u in leaving:
        await u.join("#room")
    await sync(alice)
    await b.shutdown()
    quits = set()
    while len(quits) < 3:
        msg = await alice.expect("QUIT")
        quits.add(msg.source.split("!")[0])
    assert quits == {"bye0", "bye1", "bye2"}
    await alice.send("NAMES #room")
    assert (await alice.expect("353")).params[-1].split() == ["@alice"]
    c = await cluster()  # their nicks are free again on the other nodes
    await users(c, "bye0")
