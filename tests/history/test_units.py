"""Units of the history package without a database: keys, references, times, group commit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcp_server.history.base import Cond, HistoryError, StoredMessage
from tcp_server.history.groupcommit import GroupCommitter
from tcp_server.history.keys import channel_key, other_party, private_key, private_peers, record_key
from tcp_server.history.query import Ref, format_timestamp_us, parse_timestamp_ms
from tcp_server.history.sql import batch_rows, record_row, row_message, time_us
from tcp_server.state import server_time


def record(i: int, target: str = "#room", sender: str = "alice") -> StoredMessage:
    return StoredMessage(f"id{i}", 1_790_000_000 + i, "PRIVMSG", f"{sender}!~u@h", sender, target, f"t{i}")


def test_private_keys_name_both_sides_in_any_order_and_case() -> None:
    key = private_key("Alice", "bob[1]")
    assert key == private_key("BOB{1}", "alice")
    assert private_peers(key) == ("alice", "bob{1}")
    assert other_party(key, "ALICE") == "bob{1}" and other_party(key, "Bob[1]") == "alice"
    assert private_peers(channel_key("#Chan")) is None
    assert record_key(record(0, "Bob", "alice")) == record_key(record(1, "ALICE", "bob"))
    assert record_key(record(0, "#Room[x]")) == "#room{x}"


def test_references_parse_or_say_why_not() -> None:
    assert Ref.parse("msgid=abc-1") == Ref(msgid="abc-1")
    assert Ref.parse("timestamp=2026-01-02T03:04:05.678Z") == Ref(ms=parse_timestamp_ms("2026-01-02T03:04:05.678Z"))
    for bad in ("abc", "msgid=", "timestamp=", "timestamp=soon", "id=x", "*"):
        with pytest.raises(ValueError):
            Ref.parse(bad)


def test_conditions_only_name_known_columns_and_operators() -> None:
    Cond("seq", ">", 1)
    with pytest.raises(ValueError):
        Cond("seq; DROP TABLE messages", ">", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Cond("time_us", "=", 1)  # type: ignore[arg-type]


@given(st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False))
def test_stored_time_shows_the_same_millisecond_as_the_live_time_tag(ts: float) -> None:
    us = time_us(ts)
    assert format_timestamp_us(us) == server_time(ts)
    assert parse_timestamp_ms(server_time(ts)) == us // 1000
    assert server_time(us / 1_000_000) == server_time(ts)  # what CHATHISTORY sends back


def test_rows_round_trip_with_client_tags() -> None:
    original = StoredMessage("m1", 1_790_000_000.123456, "NOTICE", "a!~a@h", "a", "Bob", "hi; there",
                             {"msgid": "m1", "+draft/reply": "x y;z"})
    row = record_row(original)
    back = row_message((row[0], row[1], *row[5:]))
    assert back == original


async def test_group_commit_acks_after_the_write_in_one_batch() -> None:
    written: list[list[str]] = []
    acked: list[str] = []

    async def write(rows: list[StoredMessage]) -> None:
        assert not acked  # nobody is acknowledged before the transaction
        written.append([r.msgid for r in rows])

    gc = GroupCommitter(write, interval=0.001)
    done = asyncio.Event()

    def ack(err: BaseException | None, msgid: str) -> None:
        assert err is None
        acked.append(msgid)
        if len(acked) == 50:
            done.set()

    for i in range(50):
        gc.append(record(i), lambda err, i=i: ack(err, f"id{i}"))
    await asyncio.wait_for(done.wait(), 5)
    assert written == [[f"id{i}" for i in range(50)]]
    assert acked == [f"id{i}" for i in range(50)]


async def test_group_commit_failure_reaches_every_callback_and_a_bad_callback_harms_none() -> None:
    async def broken(rows: list[StoredMessage]) -> None:
        raise OSError("disk full")

    gc = GroupCommitter(broken, interval=0)
    errors: list[BaseException | None] = []

    def explode(err: BaseException | None) -> None:
        raise RuntimeError("callback bug")

    gc.append(record(0), explode)
    gc.append(record(1), errors.append)
    await gc.close()
    assert len(errors) == 1 and isinstance(errors[0], HistoryError) and "disk full" in str(errors[0])


async def test_group_commit_queue_is_bounded_and_closed_store_refuses() -> None:
    release = asyncio.Event()

    async def slow(rows: list[StoredMessage]) -> None:
        await release.wait()

    gc = GroupCommitter(slow, interval=0, max_pending=3)
    results: list[BaseException | None] = []
    for i in range(5):
        gc.append(record(i), results.append)
    assert len(results) == 2 and all("overloaded" in str(e) for e in results)
    release.set()
    await gc.close()
    assert results[2:] == [None, None, None]
    gc.append(record(9), results.append)
    assert "closed" in str(results[-1])


async def test_group_commit_splits_a_backlog_into_bounded_transactions() -> None:
    sizes: list[int] = []

    async def write(rows: list[StoredMessage]) -> None:
        sizes.append(len(rows))

    gc = GroupCommitter(write, interval=0.001, max_batch=40)
    acks: list[BaseException | None] = []
    for i in range(100):
        gc.append(record(i), acks.append)
    await gc.close()
    assert sizes == [40, 40, 20] and acks == [None] * 100


async def test_barrier_waits_for_rows_queued_before_it_only() -> None:
    gate = asyncio.Event()
    written: list[str] = []

    async def write(rows: list[StoredMessage]) -> None:
        await gate.wait()
        written.extend(r.msgid for r in rows)

    gc = GroupCommitter(write, interval=0)
    await gc.barrier()  # nothing queued: returns at once
    gc.append(record(0), lambda err: None)
    waiter = asyncio.create_task(gc.barrier())
    await asyncio.sleep(0.01)
    assert not waiter.done()  # row 0 is still being written
    gate.set()
    await asyncio.wait_for(waiter, 5)
    assert written == ["id0"]
    await gc.close()


async def test_closing_a_failing_store_fails_the_backlog_at_once() -> None:
    calls = 0

    async def broken(rows: list[StoredMessage]) -> None:
        nonlocal calls
        calls += 1
        raise OSError("database is locked")

    gc = GroupCommitter(broken, interval=0, max_batch=10)
    results: list[BaseException | None] = []
    for i in range(100):
        gc.append(record(i), results.append)
    await gc.close()
    assert calls == 1 and len(results) == 100 and all(isinstance(e, HistoryError) for e in results)


def test_history_settings_reach_the_store(tmp_path: Path) -> None:
    """Every ``history_*`` setting configures the store ``tcpchat server`` opens (none is a constant)."""
    from tcp_server.history.factory import make_history
    from tcp_server.history.sqlite import SQLiteStore
    from tcp_server.settings import ServerSettings

    settings = ServerSettings(
        data_dir=tmp_path,
        history_retention_interval=7.0,
        history_retention_chunk=11,
        history_sqlite_close_timeout=3.0,
        history_max_rows_per_target=5,
    )
    store = make_history(settings)
    assert isinstance(store, SQLiteStore)
    assert (store.retention_interval, store.retention_chunk) == (7.0, 11)
    assert (store.close_timeout, store.max_rows_per_target) == (3.0, 5)


@given(st.floats(min_value=-4_000_000_000, max_value=4_000_000_000, allow_nan=False))
def test_stored_time_rounds_as_datetime_does(ts: float) -> None:
    """``time_us`` (modf and round) gives the microsecond ``datetime.fromtimestamp`` gives (the
    one ``server_time`` shows), half microseconds included."""
    from datetime import UTC, datetime, timedelta

    def reference(value: float) -> int:
        return (datetime.fromtimestamp(value, UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)

    assert time_us(ts) == reference(ts)
    half = int(ts) + 0.0000005  # a half microsecond, where the rounding direction shows
    assert time_us(half) == reference(half)


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@given(st.lists(st.tuples(
    names, st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False), st.sampled_from(["PRIVMSG", "NOTICE"]),
    names, names, st.one_of(names, names.map(lambda n: "#" + n)), st.text(max_size=40),
    st.dictionaries(st.sampled_from(["msgid", "+draft/reply", "account", "bot"]), st.text(max_size=8), max_size=3),
), max_size=20))
def test_the_writers_batch_rows_equal_record_row(batch: list[tuple]) -> None:
    """The writer's ``batch_rows`` (field tuples, keys cached between batches) stores exactly the
    row ``record_row`` builds from the record, lone surrogates and client tags included."""
    keys: dict = {}
    expected = [record_row(StoredMessage(*fields)) for fields in batch]

    def full(row: tuple) -> tuple:  # a channel's row leaves out its two NULL columns
        return row if len(row) == 11 else (*row[:3], None, None, *row[3:])

    assert [full(row) for row in batch_rows(batch, keys)] == expected
    assert [full(row) for row in batch_rows(batch, keys)] == expected  # again, from the key cache
