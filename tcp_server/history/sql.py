"""SQL shared by the SQLite and PostgreSQL stores: row mapping and the window queries.

Both stores keep one ``messages`` table (see their migrations). Only the placeholder style
differs (``?`` vs ``$1``), so the query text is built here once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from .base import Cond, StoredMessage
from .keys import private_peers, record_key

COLUMNS = "msgid, time_us, target_key, dm_a, dm_b, command, source, sender, target, text, tags"
"""Columns written per message, in ``record_row`` order."""
CHANNEL_COLUMNS = "msgid, time_us, target_key, command, source, sender, target, text, tags"
"""``COLUMNS`` without ``dm_a``/``dm_b`` (NULL for a channel's rows): the writer's channel rows."""
SELECT_COLUMNS = "msgid, time_us, command, source, sender, target, text, tags"


def find_sql(ph: Placeholder) -> str:
    """One message by msgid within a target (REDACT checks who sent it)."""
    return f"SELECT {SELECT_COLUMNS} FROM messages WHERE msgid = {ph(1)} AND target_key = {ph(2)}"


def delete_sql(ph: Placeholder) -> str:
    """Delete one message by msgid within a target (REDACT)."""
    return f"DELETE FROM messages WHERE msgid = {ph(1)} AND target_key = {ph(2)}"



def schema_v1(seq_column: str, integer: str) -> tuple[str, ...]:
    """Migration 1 of both stores: the messages table and its indexes; only types differ.

    Frozen once shipped: a schema change is a new migration, never an edit here.
    """
    return (
        f"""CREATE TABLE messages (
            seq {seq_column},
            msgid TEXT NOT NULL UNIQUE,
            time_us {integer} NOT NULL,
            target_key TEXT NOT NULL,
            dm_a TEXT,
            dm_b TEXT,
            command TEXT NOT NULL,
            source TEXT NOT NULL,
            sender TEXT NOT NULL,
            target TEXT NOT NULL,
            text TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX messages_target_seq ON messages (target_key, seq)",
        "CREATE INDEX messages_target_time ON messages (target_key, time_us)",
        "CREATE INDEX messages_time ON messages (time_us)",
        "CREATE INDEX messages_dm_a ON messages (dm_a) WHERE dm_a IS NOT NULL",
        "CREATE INDEX messages_dm_b ON messages (dm_b) WHERE dm_b IS NOT NULL",
    )


SQLITE_FTS_V2 = (
    # External-content FTS5 index over messages.text, kept in step by triggers (the writer
    # process's INSERT OR IGNORE fires them only for rows really added; REDACT and retention
    # deletes remove the row's terms), then filled from the rows already stored.
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='seq')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.seq, new.text); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.seq, old.text); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
)
"""Migration 2 of the SQLite store: full-text search (SEARCH)."""

SQLITE_FTS_BATCH_V3 = (
    # The writer fills the index once per batch (FTS_FILL) instead of a trigger per row: the same
    # terms for ~30% of the CPU (bench: 27 -> 9 us per stored message, most of what history costs
    # the server's process tree). The delete trigger stays (REDACT, retention).
    "DROP TRIGGER messages_fts_insert",
)
"""Migration 3 of the SQLite store: the full-text index filled per batch by the writer."""

LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM messages"
"""The newest row's ``seq``; rows a batch adds get larger ones (``AUTOINCREMENT``)."""
FTS_FILL = "INSERT INTO messages_fts(rowid, text) SELECT seq, text FROM messages WHERE seq > ?"
"""Index the rows added since ``LAST_SEQ`` (in the batch's transaction: ``INSERT OR IGNORE``
skipped duplicates get no row, so they are not indexed twice)."""

POSTGRES_FTS_V2 = (
    # 'simple': no stemming or stop words, so any language's words match as typed.
    "CREATE INDEX messages_fts ON messages USING GIN (to_tsvector('simple', text))",
)
"""Migration 2 of the PostgreSQL store: full-text search (SEARCH)."""


def fts5_query(words: str) -> str:
    """User text as an FTS5 query: every word quoted (so ``"``, ``*``, ``OR``, ``NEAR`` are just
    text), all of them required. Empty when there is no word."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in words.split())


def search_sqlite_sql() -> str:
    """The newest matches of an FTS5 query in one target (newest first)."""
    cols = ", ".join(f"m.{c}" for c in SELECT_COLUMNS.split(", "))
    # CROSS JOIN keeps the index as the outer loop: with a plain JOIN the planner walked the
    # room's rows newest first and ran the match on each (686 ms vs 17 ms for a LIKE scan of
    # 20k rows, bench/search_history.py).
    return (
        f"SELECT {cols} FROM messages_fts CROSS JOIN messages m ON m.seq = messages_fts.rowid "
        "WHERE messages_fts MATCH ? AND m.target_key = ? ORDER BY messages_fts.rowid DESC LIMIT ?"
    )


SEARCH_POSTGRES_SQL = (
    f"SELECT {SELECT_COLUMNS} FROM messages WHERE target_key = $1 "
    "AND to_tsvector('simple', text) @@ plainto_tsquery('simple', $2) ORDER BY seq DESC LIMIT $3"
)
"""The newest matches of the words in one target (newest first)."""


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)

Placeholder = Callable[[int], str]


def qmark(_: int) -> str:
    """SQLite placeholders."""
    return "?"


def dollar(i: int) -> str:
    """PostgreSQL placeholders (1-based)."""
    return f"${i}"


def time_us(ts: float) -> int:
    """A message time in whole microseconds, rounded exactly as ``server_time`` rounds it, so the
    millisecond a client sees in ``time`` is always ``time_us // 1000``.

    ``datetime.fromtimestamp`` splits the float into whole seconds and a fraction and rounds the
    fraction's microseconds half to even; ``modf`` and ``round`` do the same in a third of the
    time (once per stored row; checked against ``datetime`` by a property test)."""
    frac, whole = math.modf(ts)
    return int(whole) * 1_000_000 + round(frac * 1e6)


def record_row(record: StoredMessage) -> tuple[Any, ...]:
    """The row stored for ``record``."""
    key = record_key(record)
    peers = private_peers(key)
    extra = {k: v for k, v in record.tags.items() if k != "msgid"}
    return (
        record.msgid,
        time_us(record.time),
        key,
        peers[0] if peers else None,
        peers[1] if peers else None,
        record.command,
        record.source,
        record.sender,
        record.target,
        _valid_text(record.text),
        json.dumps(extra, separators=(",", ":")) if extra else "",
    )


KEY_CACHE_MAX = 4096
"""Most (sender, target) pairs whose key the writer keeps (cleared when full: a plain bound)."""


def batch_rows(
    batch: Iterable[Sequence[Any]], keys: dict[tuple[str, str], tuple[str, str | None, str | None]]
) -> list[tuple[Any, ...]]:
    """``record_row`` for each ``StoredMessage`` field tuple of a batch, without building the
    records: the writer process's per-row work (~2.4 -> ~1 us). ``keys`` remembers each
    (sender, target)'s key and peers between batches (a room's rows share one).

    A channel's row leaves out its two NULL columns (``CHANNEL_COLUMNS``, 9 values; a private
    one has all 11): Python 3.11's sqlite3 binds a ``None`` through a failed ``__conform__``
    lookup, an exception formatted per value (~0.4 us each)."""
    rows = []
    for msgid, ts, command, source, sender, target, text, tags in batch:
        cached = keys.get((sender, target))
        if cached is None:
            if len(keys) >= KEY_CACHE_MAX:
                keys.clear()
            key = record_key(StoredMessage(msgid, ts, command, source, sender, target, text, tags))
            peers = private_peers(key)
            cached = keys[sender, target] = (key, *peers) if peers else (key,)
        if len(tags) == 1 and "msgid" in tags:  # the usual case: nothing else to keep
            extra = ""
        else:
            kept = {k: v for k, v in tags.items() if k != "msgid"}
            extra = json.dumps(kept, separators=(",", ":")) if kept else ""
        frac, whole = math.modf(ts)
        rows.append((
            msgid, int(whole) * 1_000_000 + round(frac * 1e6), *cached, command, source, sender,
            target, text if text.isascii() else _valid_text(text), extra,
        ))
    return rows


def _valid_text(text: str) -> str:
    """``text`` as valid UTF-8 (a lone surrogate would fail a batch or poison reads)."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def row_message(row: Sequence[Any]) -> StoredMessage:
    """A ``StoredMessage`` from a ``SELECT_COLUMNS`` row."""
    msgid, t_us, command, source, sender, target, text, tags = row
    extra = json.loads(tags) if tags else {}
    return StoredMessage(
        msgid, t_us / 1_000_000, command, source, sender, target, text, {"msgid": msgid, **extra}
    )


def insert_sql(ph: Placeholder, prefix: str, suffix: str, columns: str = COLUMNS) -> str:
    """``prefix INTO messages (...) VALUES (...) suffix``: the dialect supplies the conflict rule."""
    marks = ", ".join(ph(i + 1) for i in range(len(columns.split(", "))))
    return f"{prefix} INTO messages ({columns}) VALUES ({marks}){suffix}"


def where(conds: Sequence[Cond], ph: Placeholder, start: int) -> tuple[str, list[int]]:
    """``AND``-joined SQL for ``conds`` with placeholders numbered from ``start``."""
    parts = []
    args = []
    for i, cond in enumerate(conds):
        parts.append(f" AND {cond.column} {cond.op} {ph(start + i)}")
        args.append(cond.value)
    return "".join(parts), args


def select_sql(
    key: str, conds: Sequence[Cond], limit: int, newest_first: bool, ph: Placeholder
) -> tuple[str, list[Any]]:
    """The window query of ``HistoryStore.select`` (rows come back in the chosen order)."""
    extra, args = where(conds, ph, 2)
    order = "DESC" if newest_first else "ASC"
    sql = (
        f"SELECT {SELECT_COLUMNS} FROM messages WHERE target_key = {ph(1)}{extra} "
        f"ORDER BY seq {order} LIMIT {ph(len(args) + 2)}"
    )
    return sql, [key, *args, limit]


def targets_sql(
    channel_keys: Sequence[str],
    nick_key: str,
    conds: Sequence[Cond],
    private_conds: Sequence[Cond],
    limit: int,
    ph: Placeholder,
) -> tuple[str, list[Any]]:
    """Latest activity per target among the channels and the nick's private conversations."""
    args: list[Any] = []

    def mark(value: Any) -> str:
        args.append(value)
        return ph(len(args))

    keys = ", ".join(mark(k) for k in channel_keys) or "NULL"
    nick_a, nick_b = mark(nick_key), mark(nick_key)
    priv, priv_args = where(private_conds, ph, len(args) + 1)
    args += priv_args
    common, common_args = where(conds, ph, len(args) + 1)
    args += common_args
    sql = (
        "SELECT target_key, MAX(time_us) AS last FROM messages "
        f"WHERE (target_key IN ({keys}) OR ((dm_a = {nick_a} OR dm_b = {nick_b}){priv})){common} "
        f"GROUP BY target_key ORDER BY last ASC LIMIT {mark(limit)}"
    )
    return sql, args
