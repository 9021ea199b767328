"""History in PostgreSQL (asyncpg), for deployments whose nodes share one history.

Same interface and group commit as the SQLite store: each batch is one transaction with a
pipelined ``executemany``. The schema is versioned in ``tcpchat_schema``; migrations run under an
advisory lock so several nodes starting at once do not race.
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

from ..settings import default
from .base import (
    CommitCallback,
    Cond,
    HistoryError,
    HistoryStore,
    Position,
    StoredMessage,
    TargetActivity,
)
from .groupcommit import GroupCommitter
from .left import LeftRows, left_schema, select_left_sql, upsert_left_sql
from .sql import (
    POSTGRES_FTS_V2,
    SEARCH_POSTGRES_SQL,
    delete_sql,
    dollar,
    find_sql,
    insert_sql,
    record_row,
    row_message,
    schema_v1,
    select_sql,
    targets_sql,
)

log = logging.getLogger("tcpchat.history")

MIGRATION_LOCK = 0x7C4A7
"""Advisory lock id held while migrating."""

MIGRATIONS: list[tuple[str, ...]] = [
    schema_v1("BIGSERIAL PRIMARY KEY", "BIGINT"),
    POSTGRES_FTS_V2,  # 2: full-text index (SEARCH)
    left_schema("BIGINT"),  # 3: when each user last left each channel (the JOIN replay)
]

INSERT = insert_sql(dollar, "INSERT", " ON CONFLICT (msgid) DO NOTHING")


class PostgresStore(HistoryStore):
    """History in the PostgreSQL database at ``url``.

    The keyword arguments are the ``history_*`` settings (``write_timeout`` is
    ``history_postgres_timeout``: how long a statement may wait, e.g. on a lock, before it is
    cancelled and the senders get FAIL); ``make_history`` fills them from the settings.
    """

    def __init__(
        self,
        url: str,
        commit_interval: float = default("history_commit_interval"),
        max_age_days: float = default("history_max_age_days"),
        max_rows_per_target: int = default("history_max_rows_per_target"),
        write_timeout: float = default("history_postgres_timeout"),
        max_pending: int = default("history_max_pending"),
        max_batch: int = default("history_max_batch"),
        retention_interval: float = default("history_retention_interval"),
        retention_chunk: int = default("history_retention_chunk"),
        connect_timeout: float = default("history_postgres_connect_timeout"),
        pool_size: int = default("history_postgres_pool_size"),
    ) -> None:
        super().__init__()
        self.url = url
        self.max_age_days = max_age_days
        self.max_rows_per_target = max_rows_per_target
        self.write_timeout = write_timeout
        self.retention_interval = retention_interval
        self.retention_chunk = retention_chunk
        self.connect_timeout = connect_timeout
        self.pool_size = pool_size  # one connection commits, the others answer CHATHISTORY
        self._committer = GroupCommitter(self._write_batch, commit_interval, max_pending, max_batch)
        self._pool: asyncpg.Pool | None = None
        self._retention: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect, migrate, start background retention."""
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self.pool_size,
                timeout=self.connect_timeout,
                command_timeout=self.write_timeout,
            )
        except Exception as exc:  # bad URL, refused, auth, timeout: one clear error
            raise HistoryError(f"cannot connect to the history database: {exc}") from exc
        try:
            await self._migrate(self._pool)
        except BaseException as exc:
            await self.close()
            if isinstance(exc, Exception) and not isinstance(exc, HistoryError):
                raise HistoryError(f"cannot set up the history database: {exc}") from exc
            raise
        if self.max_age_days or self.max_rows_per_target:
            self._retention = asyncio.get_running_loop().create_task(self._retention_loop())

    async def _migrate(self, pool: asyncpg.Pool) -> None:
        async with pool.acquire() as con, con.transaction():
            await con.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await con.execute("CREATE TABLE IF NOT EXISTS tcpchat_schema (version INT NOT NULL)")
            version = await con.fetchval("SELECT max(version) FROM tcpchat_schema") or 0
            if version > len(MIGRATIONS):
                raise HistoryError(f"database schema version {version} is newer than this server")
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    await con.execute(statement)
                await con.execute("INSERT INTO tcpchat_schema (version) VALUES ($1)", number)
                log.info("history: migrated PostgreSQL schema to version %d", number)

    async def close(self) -> None:
        """Commit what is queued, stop retention, close the pool."""
        await self._committer.close()
        if self._retention is not None:
            self._retention.cancel()
        await super().close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _p(self) -> asyncpg.Pool:
        if self._pool is None:
            raise HistoryError("history store is not open")
        return self._pool

    def append(self, record: StoredMessage, on_commit: CommitCallback) -> None:
        """Queue ``record`` for the next group commit."""
        self._committer.append(record, on_commit)

    async def _write_batch(self, records: list[StoredMessage]) -> None:
        rows = [record_row(r) for r in records]
        async with self._p().acquire() as con, con.transaction():
            await con.executemany(INSERT, rows)

    async def locate(self, key: str, msgid: str) -> Position | None:
        row = await self._p().fetchrow(
            "SELECT seq, time_us FROM messages WHERE msgid = $1 AND target_key = $2", msgid, key
        )
        return Position(row[0], row[1]) if row else None

    async def select(
        self, key: str, conds: tuple[Cond, ...], limit: int, newest_first: bool
    ) -> list[StoredMessage]:
        sql, args = select_sql(key, conds, limit, newest_first, dollar)
        messages = [row_message(r) for r in await self._p().fetch(sql, *args)]
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
        sql, args = targets_sql(channel_keys, nick_key, conds, private_conds, limit, dollar)
        return [TargetActivity(r[0], r[1]) for r in await self._p().fetch(sql, *args)]

    async def find(self, key: str, msgid: str) -> StoredMessage | None:
        row = await self._p().fetchrow(find_sql(dollar), msgid, key)
        return row_message(tuple(row)) if row is not None else None

    async def search(self, key: str, words: str, limit: int) -> list[StoredMessage]:
        rows = await self._p().fetch(SEARCH_POSTGRES_SQL, key, words, limit)
        return [row_message(tuple(r)) for r in reversed(rows)]

    async def delete(self, key: str, msgid: str) -> bool:
        status = await self._p().execute(delete_sql(dollar), msgid, key)
        return int(status.split()[-1]) > 0

    async def write_left(self, rows: LeftRows) -> None:
        async with self._p().acquire() as con, con.transaction():
            await con.executemany(upsert_left_sql(dollar, "GREATEST"), rows)

    async def read_left(self, who: str, key: str) -> int | None:
        value = await self._p().fetchval(select_left_sql(dollar), who, key)
        return int(value) if value is not None else None

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

    async def _delete_chunks(self, sql: str, *args: object) -> int:
        chunk = self.retention_chunk
        total = 0
        while True:
            status = await self._p().execute(sql, *args, chunk)
            count = int(status.split()[-1])
            total += count
            if count < chunk:
                return total
            await asyncio.sleep(0)

    async def apply_retention(self) -> int:
        deleted = 0
        if self.max_age_days:
            cutoff = round((time.time() - self.max_age_days * 86400) * 1_000_000)
            deleted += await self._delete_chunks(
                "DELETE FROM messages WHERE seq IN "
                "(SELECT seq FROM messages WHERE time_us < $1 ORDER BY time_us LIMIT $2)",
                cutoff,
            )
        keep = self.max_rows_per_target
        if keep:
            keys = await self._p().fetch(
                "SELECT target_key FROM messages GROUP BY target_key HAVING COUNT(*) > $1", keep
            )
            for (key,) in keys:
                cutoff_seq = await self._p().fetchval(
                    "SELECT seq FROM messages WHERE target_key = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2",
                    key,
                    keep - 1,
                )
                if cutoff_seq is None:
                    continue
                deleted += await self._delete_chunks(
                    "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages "
                    "WHERE target_key = $1 AND seq < $2 ORDER BY seq LIMIT $3)",
                    key,
                    cutoff_seq,
                )
        return deleted
