"""The default history store: one SQLite file in WAL mode, written by group commit.

Batches are committed by a writer process (``sqlite_writer.py``), one transaction each.
A process, because a writer thread shares the GIL with the busy event loop (measured: a thread
doing ``executemany`` reached ~7k rows/s next to a busy loop, and commit latency grew to tens of
ms). Migrations, retention and reads use aiosqlite connections (reads on a read-only one, so
they never wait for a commit: WAL). With ``synchronous=FULL`` (the default) a batch is on disk
before any sender sees its echo.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from pathlib import Path

import aiosqlite

from ..settings import default
from .base import CommitCallback, Cond, HistoryError, HistoryStore, Position, StoredMessage, TargetActivity
from .groupcommit import GroupCommitter
from .left import LeftRows, left_schema, select_left_sql, upsert_left_sql
from .sql import (
    SQLITE_FTS_BATCH_V3,
    SQLITE_FTS_V2,
    delete_sql,
    find_sql,
    fts5_query,
    qmark,
    row_message,
    schema_v1,
    search_sqlite_sql,
    select_sql,
    targets_sql,
)
from .sqlite_writer import WriterProcess, encode_batch

log = logging.getLogger("tcpchat.history")

DB_FILENAME = "history.db"

MIGRATIONS: list[tuple[str, ...]] = [
    schema_v1("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER"),  # 1: messages + window indexes
    SQLITE_FTS_V2,  # 2: full-text index (SEARCH), filled from the rows already there
    SQLITE_FTS_BATCH_V3,  # 3: the writer fills the index per batch, not a trigger per row
    left_schema("INTEGER"),  # 4: when each user last left each channel (the JOIN replay)
]
"""Schema versions, applied in order; the file's ``PRAGMA user_version`` says how many ran."""

SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


async def _connect(database: str | Path, **kwargs: object) -> aiosqlite.Connection:
    """An aiosqlite connection whose worker thread does not keep the process alive.

    aiosqlite's thread is not a daemon, so a server that dies without closing the store would
    never exit (and its supervisor would never restart it). A daemon thread stopped in the middle
    of a transaction is just a crash to SQLite: the transaction is rolled back.
    """
    conn = aiosqlite.connect(database, **kwargs)  # type: ignore[arg-type]
    thread = getattr(conn, "_thread", None)
    if thread is not None:
        thread.daemon = True
    return await conn


class SQLiteStore(HistoryStore):
    """History in ``path`` (created, with its directory, on first start).

    The keyword arguments are the ``history_*`` settings (``write_timeout`` is
    ``history_sqlite_busy_timeout``: how long a commit waits for a lock held by someone else
    before it fails and the senders get FAIL); ``make_history`` fills them from the settings.
    """

    def __init__(
        self,
        path: Path,
        commit_interval: float = default("history_commit_interval"),
        max_age_days: float = default("history_max_age_days"),
        max_rows_per_target: int = default("history_max_rows_per_target"),
        synchronous: str = "FULL",
        write_timeout: float = default("history_sqlite_busy_timeout"),
        max_pending: int = default("history_max_pending"),
        max_batch: int = default("history_max_batch"),
        retention_interval: float = default("history_retention_interval"),
        retention_chunk: int = default("history_retention_chunk"),
        close_timeout: float = default("history_sqlite_close_timeout"),
    ) -> None:
        super().__init__()
        if synchronous.upper() not in SYNCHRONOUS:
            raise ValueError(f"sqlite synchronous must be one of {', '.join(SYNCHRONOUS)}")
        self.path = Path(path)
        self.synchronous = synchronous.upper()
        self.max_age_days = max_age_days
        self.max_rows_per_target = max_rows_per_target
        self._busy_ms = max(1, round(write_timeout * 1000))
        self.retention_interval = retention_interval
        self.retention_chunk = retention_chunk  # rows per DELETE, so retention never holds the writer long
        self.close_timeout = close_timeout
        self._committer = GroupCommitter(self._write_batch, commit_interval, max_pending, max_batch)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._process = WriterProcess(str(self.path), self.synchronous, self._busy_ms)
        self._retention: asyncio.Task[None] | None = None

    # ---- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Create the directory and file if needed, migrate, start background retention."""
        try:
            await self._open()
        except HistoryError:
            await self.close()
            raise
        except (OSError, sqlite3.Error) as exc:
            await self.close()
            raise HistoryError(f"cannot open the history database {self.path}: {exc}") from exc
        if self.max_age_days or self.max_rows_per_target:
            self._retention = asyncio.get_running_loop().create_task(self._retention_loop())
        log.info("history: sqlite %s (synchronous=%s)", self.path, self.synchronous)

    async def _open(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        new = not self.path.exists()
        self._writer = await _connect(self.path, isolation_level=None)  # autocommit
        if new:
            os.chmod(self.path, 0o600)
        await self._writer.execute("PRAGMA journal_mode=WAL")
        await self._writer.execute(f"PRAGMA synchronous={self.synchronous}")
        await self._writer.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        await self._migrate(self._writer)
        self._reader = await _connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
        await self._reader.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        await self._process.start()

    async def _migrate(self, db: aiosqlite.Connection) -> None:
        async with db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = row[0] if row else 0
        if version > len(MIGRATIONS):
            raise HistoryError(
                f"{self.path} has schema version {version}, newer than this server "
                f"({len(MIGRATIONS)}); upgrade tcpchat"
            )
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            await db.execute("BEGIN IMMEDIATE")  # one migration is all or nothing
            try:
                for statement in statements:
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            log.info("history: migrated %s to schema version %d", self.path, number)

    async def close(self) -> None:
        """Commit what is queued, stop retention, close both connections."""
        await self._committer.close()
        if self._retention is not None:
            self._retention.cancel()
        await self._process.close(self.close_timeout)
        await super().close()
        for db in (self._reader, self._writer):
            if db is not None:
                await db.close()
        self._reader = self._writer = None

    # ---- writing -----------------------------------------------------------------------
    def append(self, record: StoredMessage, on_commit: CommitCallback) -> None:
        """Queue ``record`` for the next group commit."""
        self._committer.append(record, on_commit)

    async def _write_batch(self, records: list[StoredMessage]) -> None:
        db = self._writer
        if db is None:
            raise HistoryError("history store is not open")
        await self._process.write(encode_batch(records))  # one transaction in the writer process

    # ---- reading -----------------------------------------------------------------------
    def _db(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise HistoryError("history store is not open")
        return self._reader

    async def locate(self, key: str, msgid: str) -> Position | None:
        sql = "SELECT seq, time_us FROM messages WHERE msgid = ? AND target_key = ?"
        rows = list(await self._db().execute_fetchall(sql, (msgid, key)))
        return Position(rows[0][0], rows[0][1]) if rows else None

    async def select(
        self, key: str, conds: tuple[Cond, ...], limit: int, newest_first: bool
    ) -> list[StoredMessage]:
        sql, args = select_sql(key, conds, limit, newest_first, qmark)
        rows = await self._db().execute_fetchall(sql, args)
        messages = [row_message(r) for r in rows]
        if newest_first:
            messages.reverse()
        return messages

    async def targets(
        self,
        channel_keys: tuple[str, ...],
        nick_key: str,
        conds: tuple[Cond, ...],
        private_conds: tuple[Cond, ...],
        limit: int,
    ) -> list[TargetActivity]:
        sql, args = targets_sql(channel_keys, nick_key, conds, private_conds, limit, qmark)
        rows = await self._db().execute_fetchall(sql, args)
        return [TargetActivity(r[0], r[1]) for r in rows]

    async def find(self, key: str, msgid: str) -> StoredMessage | None:
        rows = list(await self._db().execute_fetchall(find_sql(qmark), (msgid, key)))
        return row_message(rows[0]) if rows else None

    async def search(self, key: str, words: str, limit: int) -> list[StoredMessage]:
        query = fts5_query(words)
        if not query:
            return []
        rows = await self._db().execute_fetchall(search_sqlite_sql(), (query, key, limit))
        return [row_message(r) for r in reversed(list(rows))]

    async def delete(self, key: str, msgid: str) -> bool:
        db = self._writer
        if db is None:
            raise HistoryError("history store is not open")
        async with self._write_lock:
            cur = await db.execute(delete_sql(qmark), (msgid, key))  # autocommit
        return cur.rowcount > 0

    async def write_left(self, rows: LeftRows) -> None:
        db = self._writer
        if db is None:
            raise HistoryError("history store is not open")
        async with self._write_lock:
            await db.execute("BEGIN IMMEDIATE")
            try:
                await db.executemany(upsert_left_sql(qmark, "max"), rows)
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise

    async def read_left(self, who: str, key: str) -> int | None:
        rows = list(await self._db().execute_fetchall(select_left_sql(qmark), (who, key)))
        return int(rows[0][0]) if rows else None

    # ---- retention ---------------------------------------------------------------------
    async def _retention_loop(self) -> None:
        while True:
            try:
                deleted = await self.apply_retention()
                if deleted:
                    log.info("history: retention deleted %d messages", deleted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("history retention failed: %r", exc)
            await asyncio.sleep(self.retention_interval)

    async def _delete_chunks(self, sql: str, args: tuple[object, ...]) -> int:
        """Run a chunked DELETE until it deletes nothing; the writer is free between chunks."""
        db = self._writer
        chunk = self.retention_chunk
        total = 0
        while db is not None:
            async with self._write_lock:
                cur = await db.execute(sql, (*args, chunk))  # autocommit
            total += cur.rowcount
            if cur.rowcount < chunk:
                break
            await asyncio.sleep(0)
        return total

    async def apply_retention(self) -> int:
        deleted = 0
        if self.max_age_days:
            cutoff = round((time.time() - self.max_age_days * 86400) * 1_000_000)
            deleted += await self._delete_chunks(
                "DELETE FROM messages WHERE seq IN "
                "(SELECT seq FROM messages WHERE time_us < ? ORDER BY time_us LIMIT ?)",
                (cutoff,),
            )
        keep = self.max_rows_per_target
        if keep:
            sql = "SELECT target_key FROM messages GROUP BY target_key HAVING COUNT(*) > ?"
            async with self._db().execute(sql, (keep,)) as cur:
                keys = [r[0] for r in await cur.fetchall()]
            for key in keys:
                sql = "SELECT seq FROM messages WHERE target_key = ? ORDER BY seq DESC LIMIT 1 OFFSET ?"
                async with self._db().execute(sql, (key, keep - 1)) as cur:
                    row = await cur.fetchone()
                if row is None:
                    continue
                deleted += await self._delete_chunks(
                    "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages "
                    "WHERE target_key = ? AND seq < ? ORDER BY seq LIMIT ?)",
                    (key, row[0]),
                )
        return deleted
