"""``stored_message`` (the relay's fast way to build a history record) gives a real, frozen
``StoredMessage`` equal to the dataclass's own."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tcp_server.history.base import StoredMessage, stored_message

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=100)


@settings(max_examples=300, deadline=None)
@given(st.tuples(text, st.floats(allow_nan=False), text, text, text, text, text,
                 st.dictionaries(text, text, max_size=3)))
def test_stored_message_builds_the_same_frozen_record(fields):
    record = stored_message(*fields)
    assert type(record) is StoredMessage
    assert record == StoredMessage(*fields)
    try:
        record.text = "changed"  # type: ignore[misc]
    except AttributeError:  # FrozenInstanceError is one
        pass
    else:
        raise AssertionError("a stored_message record must stay frozen")


async def test_sqlite_search_index_holds_each_stored_row_once(tmp_path):
    """The writer indexes each batch's new rows (not a trigger per row): a msgid sent again (a
    retried append, in the same batch or a later one) is stored and indexed once, and what was
    written before the index moved to the writer stays findable."""
    import sqlite3

    from tcp_server.history.keys import channel_key
    from tcp_server.history.sqlite import SQLiteStore

    from .support import append_all, msg, texts

    path = tmp_path / "history.db"
    store = SQLiteStore(path, commit_interval=0.002)
    await store.start()
    try:
        first = [msg(i) for i in range(5)]
        assert await append_all(store, [*first, first[2]]) == [None] * 6  # a duplicate in the batch
        assert await append_all(store, [first[0], msg(7)]) == [None, None]  # and in a later one
        key = channel_key("#room")
        assert texts(await store.search(key, "message", 20)) == [f"message {i}" for i in (0, 1, 2, 3, 4, 7)]
        assert texts(await store.search(key, "3", 20)) == ["message 3"]
    finally:
        await store.close()
    db = sqlite3.connect(path)
    try:
        (rows,) = db.execute("SELECT count(*) FROM messages").fetchone()
        (indexed,) = db.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'message'").fetchone()
        assert rows == indexed == 6
        db.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        db.close()


async def test_sqlite_batch_mixing_channel_and_private_rows_keeps_their_order_and_columns(tmp_path):
    """The writer inserts a channel's rows without their NULL ``dm_a``/``dm_b`` and a private
    conversation's with them: in one batch, the rows still get ``seq`` in the order appended,
    each private row names both nicks, and both kinds read back (also after reopening)."""
    import sqlite3

    from tcp_server.history.keys import channel_key, private_key
    from tcp_server.history.sqlite import SQLiteStore

    from .support import append_all, msg, texts

    path = tmp_path / "history.db"
    batch = [msg(0), msg(1, "Bob"), msg(2), msg(3), msg(4, "bob"), msg(5, "#other"), msg(6, "BOB")]
    for round_ in range(2):  # the second time on a reopened store (a new writer process)
        store = SQLiteStore(path, commit_interval=0.002)
        await store.start()
        try:
            if round_ == 0:
                assert await append_all(store, batch) == [None] * len(batch)
            room = await store.select(channel_key("#room"), (), 10, False)
            private = await store.select(private_key("alice", "bob"), (), 10, False)
            assert texts(room) == ["message 0", "message 2", "message 3"]
            assert texts(private) == ["message 1", "message 4", "message 6"]
        finally:
            await store.close()
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT text, target_key, dm_a, dm_b FROM messages ORDER BY seq").fetchall()
    finally:
        db.close()
    assert [r[0] for r in rows] == [f"message {i}" for i in range(7)]
    assert [r[2:] for r in rows] == [
        (None, None), ("alice", "bob"), (None, None), (None, None), ("alice", "bob"), (None, None), ("alice", "bob"),
    ]
