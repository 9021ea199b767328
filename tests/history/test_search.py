"""Full-text search of a room's history (issue 14): the stores (SQLite FTS5, PostgreSQL
``to_tsvector``/``plainto_tsquery``), the migration that indexes an existing database, the vendor
``SEARCH`` command over a real socket, and ``GET /api/rooms/{room}/messages?q=`` end to end."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tcp_server.history.keys import channel_key
from tcp_server.history.sqlite import MIGRATIONS, SQLiteStore

from ..admin_harness import BASIC, start_stack, stop_stack, tcp
from .support import Backend, append_all, msg, texts

WORDS = ["the quick brown fox", "a lazy dog", "Quick thinking", "brown bread", 'quote " and * stars OR']


def said(i: int, text: str, target: str = "#room"):  # type: ignore[no-untyped-def]
    m = msg(i, target)
    return m.__class__(m.msgid, m.time, m.command, m.source, m.sender, m.target, text, m.tags)


async def test_search_finds_every_word_newest_first_limit_in_order(backend: Backend) -> None:  # noqa: F811
    store = await backend.open()
    records = [said(i, t) for i, t in enumerate(WORDS)] + [said(9, "quick fox elsewhere", "#other")]
    assert await append_all(store, records) == [None] * len(records)
    key = channel_key("#room")
    assert texts(await store.search(key, "QUICK", 10)) == ["the quick brown fox", "Quick thinking"]
    assert texts(await store.search(key, "brown fox", 10)) == ["the quick brown fox"]
    assert texts(await store.search(key, "brown", 1)) == ["brown bread"]  # the newest match
    assert texts(await store.search(key, "cat", 10)) == []
    # the user's text is words, not query syntax
    assert texts(await store.search(key, 'quote " * OR', 10)) == ['quote " and * stars OR']
    # a deleted (REDACTed) message leaves the index too
    assert await store.delete(key, records[0].msgid)
    assert texts(await store.search(key, "fox", 10)) == []


async def test_migration_indexes_an_existing_database(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with sqlite3.connect(path) as db:  # a database as the previous release left it: schema 1
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute(
            "INSERT INTO messages (msgid, time_us, target_key, command, source, sender, target, text) "
            "VALUES ('old1', 1, ?, 'PRIVMSG', 'a!a@h', 'a', '#room', 'written before the upgrade')",
            (channel_key("#room"),),
        )
        db.execute("PRAGMA user_version = 1")
    store = SQLiteStore(path)
    await store.start()
    try:
        assert texts(await store.search(channel_key("#room"), "upgrade", 5)) == ["written before the upgrade"]
        await append_all(store, [said(1, "written after the upgrade")])
        assert len(await store.search(channel_key("#room"), "upgrade", 5)) == 2
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_search_command_and_api(make_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, server={"history": True, "data_dir": tmp_path})
    try:
        alice = await tcp(stack, "alice", "#log")
        await alice.send("CAP REQ :echo-message message-tags batch")
        await alice.expect("CAP")
        ids = []
        for text in ["deploy went fine", "lunch?", "the deploy broke prod", "rollback the Deploy"]:
            await alice.send(f"PRIVMSG #log :{text}")
            echo = await alice.expect("PRIVMSG", lambda m, t=text: m.params[1] == t)
            ids.append(echo.tags["msgid"])
        # the command itself: members may search, a batch of the matches, oldest first
        await alice.send("SEARCH #log 10 :deploy")
        start = await alice.expect("BATCH")
        assert start.params[1] == "tcpchat.example/search"
        found = [(await alice.expect("PRIVMSG")).params[1] for _ in range(3)]
        assert found == ["deploy went fine", "the deploy broke prod", "rollback the Deploy"]
        bob = await tcp(stack, "bob")
        await bob.send("SEARCH #log 10 :deploy")
        refused = await bob.expect("FAIL")
        assert refused.params[:2] == ("SEARCH", "INVALID_TARGET")

        resp = await stack.http.get("/api/rooms/log/messages", params={"q": "deploy prod"})
        assert resp.status_code == 200, resp.text
        assert [(m["id"], m["text"], m["from"]) for m in resp.json()["messages"]] == [
            (ids[2], "the deploy broke prod", "alice")
        ]
        resp = await stack.http.get("/api/rooms/log/messages", params={"q": "deploy", "limit": 2})
        assert [m["text"] for m in resp.json()["messages"]] == ["the deploy broke prod", "rollback the Deploy"]
        assert (await stack.http.get("/api/rooms/log/messages", params={"q": "nothing-like-it"})).json()["messages"] == []
        assert (await stack.http.get("/api/rooms/log/messages", params={"q": "  "})).status_code == 422
        resp = await stack.http.get("/api/rooms/log/messages", params={"q": "deploy", "before": ids[3]})
        assert resp.status_code == 400
        # a redacted message is gone from the results
        await alice.send(f"REDACT #log {ids[2]}")
        await alice.expect("REDACT")
        resp = await stack.http.get("/api/rooms/log/messages", params={"q": "prod"})
        assert resp.json()["messages"] == []
        # members-only rooms: admins only, as for the history itself
        await alice.send("MODE #log +i")
        await alice.expect("MODE")
        assert (await stack.http.get("/api/rooms/log/messages", params={"q": "deploy"})).status_code == 404
        resp = await stack.http.get("/api/rooms/log/messages", params={"q": "fine"}, auth=BASIC)
        assert [m["text"] for m in resp.json()["messages"]] == ["deploy went fine"]
    finally:
        await stop_stack(stack)
