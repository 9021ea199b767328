"""``relay_after_commit``: what anyone received is already in history.

By default the sender's echo waits for the commit but the others get the message at once, so a
crash in between can lose a message others saw (the sender's guarantee holds). With
``relay_after_commit`` every recipient gets it only after the commit: whenever a line arrives, its
``msgid`` is already in the database file.
"""

from __future__ import annotations

import sqlite3

import pytest

from ..support import RawClient

CAPS = "message-tags server-time echo-message"


def _stored(db: str, msgid: str) -> bool:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT 1 FROM messages WHERE msgid = ?", (msgid,)).fetchone() is not None


@pytest.mark.parametrize("after_commit", [True, False])
async def test_recipients_see_only_committed_messages_with_relay_after_commit(make_server, tmp_path, after_commit):
    srv = await make_server(
        history=True, data_dir=tmp_path, history_commit_interval=0.2, relay_after_commit=after_commit
    )
    alice = await RawClient.connect(srv.port)
    await alice.register("alice", CAPS)
    bob = await RawClient.connect(srv.port)
    await bob.register("bob", CAPS)
    for c in (alice, bob):
        await c.join("#safe")
    db = str(tmp_path / "history.db")
    count = 20
    await alice.send(*[f"PRIVMSG #safe :n{i}" for i in range(count)], "PRIVMSG bob :private")
    seen_committed = []
    for _ in range(count + 1):
        m = await bob.expect("PRIVMSG")
        seen_committed.append(_stored(db, m.tags["msgid"]))
    if after_commit:
        assert all(seen_committed)
    else:  # the default relays before the commit: the difference this setting makes
        assert not all(seen_committed)
    for i in range(count):
        await alice.expect("PRIVMSG", lambda m, i=i: m.params[1] == f"n{i}")  # echoes all came back
    await alice.close()
    await bob.close()
