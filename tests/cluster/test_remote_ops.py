"""Cross-node leftovers: a private multiline message, an operator's MODE on a channel with no
member on its node, and LUSERS' operator count of the whole network."""

from __future__ import annotations

import asyncio

import pytest

from ..conformance.test_chat_ext import read_batch
from ..support import sync
from .support import until_known

pytestmark = pytest.mark.redis
CAPS = "batch draft/multiline message-tags"
TRIES = 200


async def test_private_multiline_reaches_a_user_on_another_node(cluster, users):  # noqa: F811
    a, b = await cluster(), await cluster()
    alice, bob, carol = await users(a, "alice", CAPS), await users(b, "bob", CAPS), await users(b, "carol")
    await until_known(alice, "carol")
    await alice.send("BATCH +p1 draft/multiline bob", "@batch=p1 PRIVMSG bob :one",
                     "@batch=p1;draft/multiline-concat PRIVMSG bob :+two", "BATCH -p1")
    got = await read_batch(bob)  # with the caps: one batch, as sent
    assert got[0].source.startswith("alice!") and got[0].params[1:] == ("draft/multiline", "bob")
    assert [m.params[1] for m in got[1:]] == ["one", "+two"]
    await alice.send("BATCH +p2 draft/multiline carol", "@batch=p2 PRIVMSG carol :line a",
                     "@batch=p2 PRIVMSG carol :line b", "BATCH -p2")
    plain = [await carol.expect("PRIVMSG") for _ in range(2)]  # without: separate lines
    assert [(m.source.split("!")[0], m.params) for m in plain] == [("alice", ("carol", "line a")),
                                                                   ("alice", ("carol", "line b"))]
    assert [m for m in await sync(alice) if m.command == "FAIL"] == []


async def test_private_multiline_to_another_node_while_redis_is_down_fails_visibly(
    cluster, users, redis_server
) -> None:
    a, b = await cluster(), await cluster()
    alice, bob = await users(a, "alice", CAPS), await users(b, "bob", CAPS)
    await until_known(alice, "bob")
    redis_server.stop()
    for _ in range(TRIES):
        if not a.cluster.bus.up:
            break
        await asyncio.sleep(0.05)
    await alice.send("BATCH +p1 draft/multiline bob", "@batch=p1 PRIVMSG bob :lost?", "BATCH -p1")
    fail = await alice.expect("FAIL")
    assert fail.params[:3] == ("PRIVMSG", "TEMPORARILY_UNAVAILABLE", "bob")
    assert a.cluster.bus.outage.undelivered == 1
    assert [m for m in bob.seen if m.command in ("PRIVMSG", "BATCH")] == []


async def test_operator_mode_change_on_a_channel_with_no_member_on_its_node(cluster, users):  # noqa: F811
    a, b = await cluster(), await cluster(oper_password="pw")
    op, bob = await users(a, "op"), await users(a, "bob")
    await op.join("#far")
    await bob.join("#far")
    admin = await users(b, "admin")
    await until_known(admin, "bob")
    await admin.send("OPER admin pw")
    await admin.expect("381")
    await admin.send("MODE #far +mo bob")
    for u in (op, bob):  # applied through the bus: the members' node shows and keeps it
        m = await u.expect("MODE")
        assert m.source.startswith("admin!") and m.params == ("#far", "+mo", "bob")
    assert [m for m in await sync(admin) if m.command == "403"] == []
    await op.send("NAMES #far")
    assert set((await op.expect("353")).params[-1].split()) == {"@op", "@bob"}
    carol = await users(b, "carol")  # a later joiner on the operator's node sees the new modes
    await carol.join("#far")
    await carol.send("PRIVMSG #far :muted?")
    assert (await carol.expect("404")).params[1] == "#far"
    await carol.send("MODE #far")
    assert "m" in (await carol.expect("324")).params[2]


async def test_mode_change_by_a_non_operator_without_membership_is_still_refused(cluster, users):  # noqa: F811
    a, b = await cluster(), await cluster()
    op = await users(a, "op")
    await op.join("#far")
    eve = await users(b, "eve")
    await until_known(eve, "op")
    await eve.send("MODE #far +m")
    assert (await eve.expect("403")).params[1] == "#far"  # not an operator: nothing read or changed
    await op.send("MODE #far")
    assert "m" not in (await op.expect("324")).params[2]


async def _opers_seen(client, wanted: str) -> None:  # type: ignore[no-untyped-def]
    """Poll LUSERS (bounded) until its 252 says ``wanted`` (user events are asynchronous)."""
    count = None
    for _ in range(TRIES):
        await client.send("LUSERS")
        count = (await client.expect("252")).params[1]
        if count == wanted:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"LUSERS said {count} operators, not {wanted}")


async def test_lusers_counts_the_operators_of_every_node(cluster, users):  # noqa: F811
    a, b = await cluster(oper_password="pw"), await cluster(oper_password="pw")
    watcher, local = await users(a, "watcher"), await users(a, "local")
    admin, other = await users(b, "admin"), await users(b, "other")
    await until_known(watcher, "admin")
    await _opers_seen(watcher, "0")
    await admin.send("OPER admin pw")
    await admin.expect("381")
    await _opers_seen(watcher, "1")  # another node's operator counts
    await local.send("OPER admin pw")
    await local.expect("381")
    await _opers_seen(watcher, "2")
    await _opers_seen(other, "2")
    await watcher.send("WHOIS admin")
    assert (await watcher.expect("313")).params[1] == "admin"  # shown as an operator there too
    await admin.send("MODE admin -o")
    await admin.expect("MODE")
    await _opers_seen(watcher, "1")
    await local.send("QUIT :bye")
    await _opers_seen(watcher, "0")
    await other.send("OPER admin pw")
    await other.expect("381")
    await _opers_seen(watcher, "1")
    await other.send("QUIT :bye")
    await _opers_seen(watcher, "0")  # a remote operator who quits is no longer counted
