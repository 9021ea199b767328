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
