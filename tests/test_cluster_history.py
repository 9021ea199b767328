"""History when clustered: every node on one PostgreSQL database, each message stored once."""

from __future__ import annotations

from pathlib import Path

import pytest

from .cluster_fixtures import cluster, redis_server, users  # noqa: F401  (fixtures)
from .support import sync
from .test_history_store import fresh_pg_url, pg_socket_dir  # noqa: F401  (fixture)

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
