"""The history store interface suite, run against SQLite and a throwaway PostgreSQL.

PostgreSQL comes from Debian's package: initdb + pg_ctl in a temp dir, listening only on a unix
socket there (run as the ``postgres`` user when the tests run as root). The SQLite store's own file
and writer-process behaviour is in ``test_store_sqlite.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tcp_server.history.base import HistoryError, StoredMessage
from tcp_server.history.keys import channel_key, private_key
from tcp_server.history.query import Ref, UnknownReference, run_query

from ..postgres import fresh_pg_url
from .support import BASE, Backend, append_all, msg, texts


def stored(records: list[StoredMessage]) -> list[StoredMessage]:
    """``records`` as the store returns them (msgid tag filled in)."""
    return [
        StoredMessage(r.msgid, r.time, r.command, r.source, r.sender, r.target, r.text,
                      {**{k: v for k, v in r.tags.items() if k != "msgid"}, "msgid": r.msgid})
        for r in records
    ]


async def test_append_commits_then_reads_back_in_order(backend: Backend) -> None:
    store = await backend.open()
    records = [msg(i, **{"+draft/reply": f"r{i}"}) for i in range(20)]
    assert await append_all(store, records) == [None] * 20
    got = await store.select(channel_key("#room"), (), 100, newest_first=False)
    assert got == stored(records)
    assert got[3].tags == {"msgid": records[3].msgid, "+draft/reply": "r3"}


async def test_group_commit_batches_rows_committed_together(backend: Backend) -> None:
    store = await backend.open(commit_interval=0.01)
    await append_all(store, [msg(i) for i in range(500)])
    committer = store._committer  # type: ignore[attr-defined]
    assert committer.rows == 500
    assert committer.batches <= 5


async def test_channel_names_are_case_insensitive(backend: Backend) -> None:
    store = await backend.open()
    await append_all(store, [msg(0, "#Room"), msg(1, "#ROOM"), msg(2, "#room[x]"), msg(3, "#ROOM{X}")])
    assert texts(await store.select(channel_key("#rOOm"), (), 10, False)) == ["message 0", "message 1"]
    assert texts(await store.select(channel_key("#ROOM[X]"), (), 10, False)) == ["message 2", "message 3"]


async def test_private_conversation_holds_both_directions_only(backend: Backend) -> None:
    store = await backend.open()
    await append_all(store, [
        msg(0, "Bob", "alice"), msg(1, "alice", "bob"), msg(2, "carol", "alice"), msg(3, "ALICE", "Bob"),
    ])
    conv = await store.select(private_key("bob", "Alice"), (), 10, False)
    assert texts(conv) == ["message 0", "message 1", "message 3"]
    assert texts(await store.select(private_key("alice", "carol"), (), 10, False)) == ["message 2"]


async def test_chathistory_windows_by_msgid_and_timestamp(backend: Backend) -> None:
    store = await backend.open()
    records = [msg(i) for i in range(10)]
    await append_all(store, records)
    key = channel_key("#room")
    ms = [round(r.time * 1000) for r in records]
    ids = [Ref(msgid=r.msgid) for r in records]
    ts = [Ref(ms=m) for m in ms]

    async def q(sub: str, *refs: Ref | None, limit: int = 100) -> list[str]:
        return [m.text.split()[-1] for m in await run_query(store, sub, key, refs, limit)]

    assert await q("LATEST", None) == [str(i) for i in range(10)]
    assert await q("LATEST", None, limit=3) == ["7", "8", "9"]
    assert await q("LATEST", ids[4]) == ["5", "6", "7", "8", "9"]
    assert await q("LATEST", ts[4], limit=2) == ["8", "9"]
    assert await q("BEFORE", ids[6]) == ["0", "1", "2", "3", "4", "5"]
    assert await q("BEFORE", ts[6], limit=2) == ["4", "5"]
    assert await q("AFTER", ids[3], limit=3) == ["4", "5", "6"]
    assert await q("AFTER", ts[3]) == ["4", "5", "6", "7", "8", "9"]
    assert await q("AROUND", ids[7], limit=1) == ["7"]
    assert await q("AROUND", ids[7], limit=3) == ["6", "7", "8"]
    assert "7" in await q("AROUND", ts[7], limit=3)
    assert await q("BETWEEN", ids[0], ids[9]) == [str(i) for i in range(1, 9)]
    assert await q("BETWEEN", ids[9], ids[0]) == [str(i) for i in range(1, 9)]
    assert await q("BETWEEN", ids[0], ids[9], limit=3) == ["1", "2", "3"]
    assert await q("BETWEEN", ids[9], ids[0], limit=3) == ["6", "7", "8"]
    assert await q("BETWEEN", ts[0], ts[9], limit=3) == ["1", "2", "3"]
    assert await q("BETWEEN", ts[9], ts[0], limit=3) == ["6", "7", "8"]
    with pytest.raises(UnknownReference):
        await q("AFTER", Ref(msgid="no-such-id"))
    with pytest.raises(UnknownReference):  # a msgid from another target is not a reference here
        await run_query(store, "AFTER", channel_key("#other"), (ids[3],), 10)


async def test_targets_lists_channels_and_own_conversations(backend: Backend) -> None:
    store = await backend.open()
    await append_all(store, [
        msg(0, "#a"), msg(1, "bob", "alice"), msg(2, "#b"), msg(3, "carol", "dave"), msg(4, "#c"),
    ])
    rows = await store.targets((channel_key("#a"), channel_key("#b")), "alice", (), (), 10)
    assert [r.key for r in rows] == ["#a", private_key("alice", "bob"), "#b"]
    assert [r.time_us for r in rows] == sorted(r.time_us for r in rows)
    assert len(await store.targets(("#a", "#b"), "alice", (), (), 2)) == 2


async def test_duplicate_msgid_is_ignored_not_a_failed_batch(backend: Backend) -> None:
    store = await backend.open()
    first = msg(0)
    assert await append_all(store, [first, first, msg(1)]) == [None, None, None]
    assert texts(await store.select("#room", (), 10, False)) == ["message 0", "message 1"]


async def test_history_survives_reopen_and_close_commits_pending(backend: Backend) -> None:
    store = await backend.open()
    await append_all(store, [msg(0)])
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    store.append(msg(1), fut.set_result)
    await store.close()  # the queued row is committed before close returns
    assert fut.result() is None
    backend.opened.remove(store)
    again = await backend.open()
    assert texts(await again.select("#room", (), 10, False)) == ["message 0", "message 1"]
    late = loop.create_future()
    store.append(msg(2), late.set_result)  # the closed store refuses at once
    assert isinstance(late.result(), HistoryError)


async def test_retention_keeps_newest_rows_per_target(backend: Backend) -> None:
    store = await backend.open(max_rows_per_target=3)
    await append_all(store, [msg(i, "#a") for i in range(10)] + [msg(i, "#b") for i in range(10, 12)])
    assert await store.apply_retention() == 7
    assert texts(await store.select("#a", (), 10, False)) == ["message 7", "message 8", "message 9"]
    assert len(await store.select("#b", (), 10, False)) == 2


async def test_retention_by_age_runs_in_the_background(backend: Backend) -> None:
    store = await backend.open()
    await append_all(store, [msg(0)])  # BASE is in 2026, well inside the 20 years kept below
    old = StoredMessage("ancient", 1_000_000_000.0, "PRIVMSG", "a!~a@h", "a", "#room", "old")
    await append_all(store, [old])
    await store.close()
    backend.opened.remove(store)
    aged = await backend.open(max_age_days=365 * 20)  # drops only the 2001 message
    for _ in range(200):
        if len(await aged.select("#room", (), 10, False)) == 1:
            break
        await asyncio.sleep(0.02)
    assert texts(await aged.select("#room", (), 10, False)) == ["message 0"]


async def test_a_failed_commit_reports_the_error_and_the_store_recovers(backend: Backend) -> None:
    store = await backend.open(write_timeout=0.3)
    assert await append_all(store, [msg(0)]) == [None]
    if backend.kind == "sqlite":  # another process holds the write lock
        blocker = sqlite3.connect(backend.where, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        release = blocker.execute
    else:  # another session locks the table against writers
        import asyncpg

        con = await asyncpg.connect(backend.where)
        tx = con.transaction()
        await tx.start()
        await con.execute("LOCK TABLE messages IN EXCLUSIVE MODE")
    try:
        errors = await append_all(store, [msg(1), msg(2)])
        assert all(isinstance(e, HistoryError) for e in errors), errors
        assert texts(await store.select("#room", (), 10, False)) == ["message 0"]  # reads still work
    finally:
        if backend.kind == "sqlite":
            release("ROLLBACK")
            blocker.close()
        else:
            await tx.rollback()
            await con.close()
    assert await append_all(store, [msg(3)]) == [None]
    assert texts(await store.select("#room", (), 10, False)) == ["message 0", "message 3"]


@pytest.mark.postgres
async def test_server_on_postgres_acks_after_commit_and_serves_chathistory(
    pg_socket_dir: tuple[str, int], make_server, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    from ..support import RawClient

    url = await fresh_pg_url(pg_socket_dir)
    server = await make_server(history=True, database_url=url, data_dir=tmp_path)
    alice = await RawClient.connect(server.port)
    await alice.register("alice", "message-tags server-time echo-message batch draft/chathistory")
    await alice.join("#pg")
    for i in range(5):
        await alice.send(f"PRIVMSG #pg :pg {i}")
        await alice.expect("PRIVMSG", lambda m, i=i: m.params[1] == f"pg {i}")
    await alice.send("CHATHISTORY LATEST #PG * 3")
    await alice.expect("BATCH")
    got = [await alice.expect("PRIVMSG") for _ in range(3)]
    assert [m.params[1] for m in got] == ["pg 2", "pg 3", "pg 4"]
    assert not list(tmp_path.iterdir())  # nothing written to the data dir
    await alice.close()


@pytest.mark.postgres
async def test_server_reports_database_errors_and_recovers_on_postgres(
    pg_socket_dir: tuple[str, int], make_server, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    import asyncpg

    from ..support import RawClient, sync

    url = await fresh_pg_url(pg_socket_dir)
    server = await make_server(history=True, database_url=url, data_dir=tmp_path)
    alice = await RawClient.connect(server.port)
    await alice.register("alice", "message-tags server-time echo-message batch draft/chathistory")
    await alice.join("#pg")
    admin = await asyncpg.connect(url)
    try:
        await admin.execute("ALTER TABLE messages RENAME TO messages_away")  # the schema breaks
        await alice.send("PRIVMSG #pg :lost")
        assert (await alice.expect("FAIL")).params[:2] == ("PRIVMSG", "MESSAGE_NOT_STORED")
        await alice.send("CHATHISTORY LATEST #pg * 10")
        assert (await alice.expect("FAIL")).params[:2] == ("CHATHISTORY", "MESSAGE_ERROR")
        assert await sync(alice) == []  # still connected and served
    finally:
        await admin.execute("ALTER TABLE messages_away RENAME TO messages")
        await admin.close()
    await alice.send("PRIVMSG #pg :kept")
    await alice.expect("PRIVMSG", lambda m: m.params[1] == "kept")
    await alice.send("CHATHISTORY LATEST #pg * 10")
    await alice.expect("BATCH")
    assert (await alice.expect("PRIVMSG")).params[1] == "kept"
    await alice.close()


async def test_any_text_round_trips_and_a_lone_surrogate_cannot_poison_history(backend: Backend) -> None:
    store = await backend.open()
    fine = StoredMessage("u1", BASE, "PRIVMSG", "a!~a@h", "a", "#room", "é ü 漢字 😀 \x01ACTION waves\x01",
                         {"msgid": "u1", "+draft/react": "👍; \\ x"})
    odd = StoredMessage("u2", BASE + 1, "PRIVMSG", "a!~a@h", "a", "#room", "bad \udc80 byte")
    assert await append_all(store, [fine, odd, msg(3)]) == [None, None, None]
    got = await store.select("#room", (), 10, False)
    assert got[0] == fine
    assert got[1].text == "bad ? byte" and got[2].text == "message 3"


async def test_find_and_delete_one_message_for_redact(backend: Backend) -> None:
    store = await backend.open()
    records = [msg(1), msg(2), msg(3, target="#other")]
    await append_all(store, records)
    found = await store.find(channel_key("#ROOM"), records[1].msgid)
    assert found is not None and found.text == "message 2" and found.sender == "alice"
    assert await store.find(channel_key("#room"), records[2].msgid) is None  # another target
    assert await store.delete(channel_key("#room"), records[1].msgid)
    assert not await store.delete(channel_key("#room"), records[1].msgid)
    rows = await store.select(channel_key("#room"), (), 10, newest_first=False)
    assert texts(rows) == ["message 1"]


async def test_leaving_times_only_move_forward_and_survive_reopening(backend: Backend) -> None:
    """The JOIN replay's leaving times (``history/left.py``): readable at once, written in the
    background, flushed by close, kept by the database."""
    store = await backend.open()
    key = channel_key("#Room")
    assert await store.left.get("bob", key) is None
    store.left.record("bob", key, 2_000)
    store.left.record("bob", key, 1_000)  # an earlier time (a join recorded late) never wins
    store.left.record("$a:carol", key, 3_000)
    assert await store.left.get("bob", key) == 2_000  # pending or written: the same answer
    await store.close()
    store = await backend.open()
    assert await store.read_left("bob", key) == 2_000
    assert await store.read_left("$a:carol", key) == 3_000
    await store.write_left([("bob", key, 1_500)])  # the database keeps the later time too
    assert await store.left.get("bob", key) == 2_000
    assert await store.left.get("bob", channel_key("#other")) is None
