"""History when clustered: every node on one PostgreSQL database, each message stored once."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..postgres import fresh_pg_url
from ..support import sync

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
CAPS = "message-tags server-time batch draft/chathistory"


async def test_history_on_join_shows_messages_sent_through_other_nodes(
    cluster, users, pg_socket_dir, tmp_path: Path  # noqa: F811
) -> None:
    url = await fresh_pg_url(pg_socket_dir)
    nodes = [await cluster(history=True, database_url=url, data_dir=tmp_path) for _ in range(3)]
    speakers = [await users(nodes[i], f"s{i}", "echo-message") for i in range(3)]
    for s in speakers:
        await s.join("#pg")
    for s in speakers:
        await sync(s)
    sent = []
    for round_ in range(3):
        for s in speakers:
            text = f"{s.nick} says {round_}"
            await s.send(f"PRIVMSG #pg :{text}")
            sent.append(text)
            for other in speakers:  # the echo is the sender's ack: sent once it is committed
                await other.expect("PRIVMSG", lambda m, t=text: m.params[1] == t)
    late = await users(nodes[2], "late", CAPS)
    await late.join("#pg")
    await late.send("CHATHISTORY LATEST #pg * 50")
    await late.expect("BATCH")
    got = []
    while True:
        msg = await late.recv()
        if msg.command == "BATCH":
            break
        if msg.command == "PRIVMSG":
            got.append(msg.params[1])
    assert got == sent  # each once (stored by the sender's node only), in commit order
    ids = [m.tags.get("msgid") for m in late.seen if m.command == "PRIVMSG"]
    assert len(set(ids)) == len(ids) == len(sent)
    assert {i.split("-")[0] for i in ids} == {"n1", "n2", "n3"}  # node-prefixed msgids


async def test_messages_said_while_redis_was_away_are_filled_from_history_once(
    cluster, users, redis_server, pg_socket_dir, tmp_path: Path  # noqa: F811
) -> None:
    import asyncio

    url = await fresh_pg_url(pg_socket_dir)
    a, b = (
        await cluster(history=True, database_url=url, data_dir=tmp_path),
        await cluster(history=True, database_url=url, data_dir=tmp_path),
    )
    alice, bob = await users(a, "alice"), await users(b, "bob")
    await alice.join("#gap")
    await bob.join("#gap")
    await sync(alice)
    await alice.send("PRIVMSG #gap :before")
    assert (await bob.expect("PRIVMSG")).params[1] == "before"
    redis_server.stop()
    for _ in range(200):  # bounded: until both nodes noticed
        if not a.cluster.bus.up and not b.cluster.bus.up:
            break
        await asyncio.sleep(0.05)
    assert not a.cluster.bus.up and not b.cluster.bus.up
    await alice.send("PRIVMSG #gap :during 1", "PRIVMSG #gap :during 2")
    await bob.send("PRIVMSG #gap :bob during")
    await sync(alice)
    await sync(bob)
    redis_server.start()
    got_bob = [(await bob.expect("PRIVMSG")).params[1] for _ in range(2)]
    got_alice = [(await alice.expect("PRIVMSG")).params[1]]
    assert got_bob == ["during 1", "during 2"] and got_alice == ["bob during"]
    await alice.send("PRIVMSG #gap :after")
    later = [m for m in await _until(bob, "after") if m.command == "PRIVMSG"]
    assert [m.params[1] for m in later] == ["after"]  # nothing twice: "before" is not filled again
    assert b.cluster.bus.filled == 2 and a.cluster.bus.filled == 1


async def _until(client, text):  # type: ignore[no-untyped-def]
    out = []
    while True:
        msg = await client.recv()
        out.append(msg)
        if msg.command == "PRIVMSG" and msg.params[1] == text:
            return out
