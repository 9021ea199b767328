"""What users see while Redis is away: no private message lost silently, no nick held twice."""

from __future__ import annotations

import asyncio

import pytest

from ..support import sync
from .support import until_known

pytestmark = pytest.mark.redis
TRIES = 200
BURST = 500


async def _until(check, tries: int = TRIES) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never held")


async def test_private_message_to_another_node_while_redis_is_down_fails_visibly(
    cluster, users, redis_server
) -> None:
    a, b = await cluster(), await cluster()
    alice, amy, bob = await users(a, "alice"), await users(a, "amy"), await users(b, "bob")
    await until_known(alice, "bob")
    redis_server.stop()
    await _until(lambda: not a.cluster.bus.up)
    await alice.send("PRIVMSG bob :are you there?")
    fail = await alice.expect("FAIL")
    assert fail.params[:4] == ("PRIVMSG", "TEMPORARILY_UNAVAILABLE", "bob", fail.params[3])
    assert fail.params[2] == "bob" and "not delivered" in fail.params[-1]
    await alice.send("NOTICE bob :no reply to a notice", "PRIVMSG amy :same node still works")
    assert (await amy.expect("PRIVMSG")).params[1] == "same node still works"
    got = await sync(alice)
    assert [m.command for m in got if m.command == "FAIL"] == []  # NOTICE: no automatic reply
    assert a.cluster.bus.outage.undelivered == 2
    assert [m for m in bob.seen if m.command in ("PRIVMSG", "NOTICE")] == []


async def test_nick_given_out_twice_while_redis_was_away_goes_to_the_earlier_claim(
    cluster, users, redis_server
) -> None:
    a, b = await cluster(), await cluster()
    watcher = await users(a, "watcher")
    redis_server.stop()
    await _until(lambda: not a.cluster.bus.up and not b.cluster.bus.up)
    first = await users(a, "dup")  # both nodes hand out "dup": A first, then B
    await asyncio.sleep(0.01)
    second = await users(b, "dup")
    redis_server.start()
    await _until(lambda: a.cluster.bus.up and b.cluster.bus.up)
    nick = await second.expect("NICK")  # the later claim is renamed, and told why
    assert nick.source.startswith("dup!") and nick.params[0].startswith("Guest")
    notice = await second.expect("NOTICE", lambda m: "another server" in m.params[-1])
    assert nick.params[0] in notice.params[-1]
    await until_known(watcher, nick.params[0])
    await watcher.send("PRIVMSG dup :to the one who kept it", f"PRIVMSG {nick.params[0]} :to the renamed one")
    assert (await first.expect("PRIVMSG")).params == ("dup", "to the one who kept it")
    assert (await second.expect("PRIVMSG")).params == (nick.params[0], "to the renamed one")
    assert [m for m in first.seen if m.command == "NICK"] == []
    await second.send("NICK dup")  # and the nick stays taken cluster-wide
    assert (await second.expect("433")).params[1] == "dup"



async def test_burst_redis_took_but_never_handed_back_reaches_every_same_node_member_once(
    cluster, users, redis_server
) -> None:
    """Redis drops its subscribers mid-burst (a tiny pub/sub output limit): it has taken the
    events, so the publishes succeed, but their copies never come back to the origin node."""
    import redis

    a, b = await cluster(), await cluster()
    alice, amy, ann = await users(a, "alice"), await users(a, "amy"), await users(a, "ann")
    bob = await users(b, "bob")
    for u in (alice, amy, ann, bob):
        await u.join("#room")
    for u in (alice, amy, ann, bob):
        await sync(u)
    admin = redis.Redis.from_url(redis_server.url)
    admin.config_set("client-output-buffer-limit", "pubsub 4kb 0 0")
    lines = [f"line {k}" for k in range(BURST)]
    await alice.send(*(f"PRIVMSG #room :{text}" for text in lines))
    await _until(lambda: not a.cluster.bus.up)
    admin.config_set("client-output-buffer-limit", "pubsub 32mb 8mb 60")
    admin.close()
    await _until(lambda: a.cluster.bus.up and b.cluster.bus.up)  # back: nothing comes twice
    for member in (amy, ann):
        await sync(member)
        got = [m.params[1] for m in member.seen if m.command == "PRIVMSG"]
        assert sorted(got, key=lambda t: int(t.split()[1])) == lines, f"{member.nick} lost or doubled lines"
        assert got == lines, f"{member.nick} got the lines out of order"
    echoes = [m for m in await sync(alice) if m.command == "PRIVMSG"]
    assert echoes == []  # alice has no echo-message: nothing of hers comes back to her
