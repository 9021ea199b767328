"""Accounts in the PostgreSQL history database (asyncpg).

The store interface is blocking (callers run it in worker threads), and asyncpg lives on the
event loop: each call is handed to the loop with ``run_coroutine_threadsafe`` and the worker
waits for it. Migrations run under an advisory lock, as history's do. Every write of an account
or a registered channel notifies the other nodes sharing the database (pgwatch.py).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable
from typing import Any, TypeVar

import asyncpg

from .base import ACCOUNT_CHANGED, CHANNEL_CHANGED, Account, AccountError, AccountStore, ChannelRecord, Loaded
from .passwords import ScramKeys
from .pgwatch import CHANNEL, ChangeWatch, payload
from .sql import (
    ACCOUNT_COLUMNS,
    CREATE_VERSION_TABLE,
    VERSION_TABLE,
    account_row,
    marks,
    row_account,
    schema_v1,
    scram_columns,
)

log = logging.getLogger("tcpchat.accounts")

POOL_SIZE = 2
TIMEOUT = 10.0
MIGRATION_LOCK = 0x7C4A8
MIGRATIONS: list[tuple[str, ...]] = [schema_v1("BIGINT")]
T = TypeVar("T")


def _d(i: int) -> str:
    return f"${i}"


class PostgresAccountStore(AccountStore):
    """Accounts in the PostgreSQL database at ``url``."""

    def __init__(self, url: str, sync_retry: float = 2.0) -> None:
        self.url = url
        self._pool: asyncpg.Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.origin = secrets.token_hex(6)
        """This store's id in change notifications (its own are not applied twice)."""
        self.watch = ChangeWatch(url, self.origin, self._changed, sync_retry, TIMEOUT)

    def _changed(self, kind: str, folded: str) -> None:
        if self.on_change is not None:
            self.on_change(kind, folded)

    async def start(self) -> Loaded:
        self._loop = asyncio.get_running_loop()
        try:
            self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=POOL_SIZE, timeout=TIMEOUT)
            async with self._pool.acquire() as con, con.transaction():
                await con.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                await con.execute(CREATE_VERSION_TABLE)
                version = await con.fetchval(f"SELECT max(version) FROM {VERSION_TABLE}") or 0
                if version > len(MIGRATIONS):
                    raise AccountError(f"account schema version {version} is newer than this server")
                for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                    for statement in statements:
                        await con.execute(statement)
                    await con.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES ($1)", number)
                    log.info("accounts: migrated PostgreSQL schema to version %d", number)
                loaded = await self._load(con)
            await self.watch.start()
        except AccountError:
            raise
        except Exception as exc:
            raise AccountError(f"cannot set up the account tables: {exc}") from exc
        return loaded

    @staticmethod
    async def _load(con: Any) -> Loaded:
        names = {r[0] for r in await con.fetch("SELECT folded FROM accounts")}
        rows = await con.fetch("SELECT folded, data FROM registered_channels")
        return Loaded(names, {r[0]: ChannelRecord.from_json(r[1]) for r in rows})

    def load(self) -> Loaded:
        async def work() -> Loaded:
            assert self._pool is not None
            async with self._pool.acquire() as con:
                return await self._load(con)

        return self._run(work())

    def _write(self, kind: str, folded: str, *statements: tuple[Any, ...]) -> list[str]:
        """Run ``(sql, *args)`` statements in one transaction that also notifies the other nodes."""

        async def work() -> list[str]:
            assert self._pool is not None
            async with self._pool.acquire() as con, con.transaction():
                done = [await con.execute(sql, *args) for sql, *args in statements]
                await con.execute("SELECT pg_notify($1, $2)", CHANNEL, payload(self.origin, kind, folded))
            return done

        return self._run(work())

    async def close(self) -> None:
        await self.watch.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _run(self, work: Awaitable[T]) -> T:
        """Run ``work`` on the loop and wait for it (called from a worker thread)."""
        if self._loop is None or self._pool is None:
            raise AccountError("account store is not open")
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(TIMEOUT)  # type: ignore[arg-type]

    def _fetchrow(self, sql: str, *args: Any) -> Any:
        assert self._pool is not None
        return self._run(self._pool.fetchrow(sql, *args))

    def _execute(self, sql: str, *args: Any) -> str:
        assert self._pool is not None
        return self._run(self._pool.execute(sql, *args))

    def create(self, account: Account, certfp: str | None = None) -> bool:
        async def work() -> bool:
            assert self._pool is not None
            async with self._pool.acquire() as con, con.transaction():
                status = await con.execute(
                    f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ({marks(_d, 10)}) "
                    "ON CONFLICT (folded) DO NOTHING", *account_row(account),
                )
                if status.endswith(" 0"):
                    return False
                if certfp:
                    await con.execute("INSERT INTO account_certfps VALUES ($1, $2) ON CONFLICT DO NOTHING",
                                      certfp, account.folded)
                await con.execute("SELECT pg_notify($1, $2)", CHANNEL,
                                  payload(self.origin, ACCOUNT_CHANGED, account.folded))
            return True

        return self._run(work())

    def get(self, folded: str) -> Account | None:
        row = self._fetchrow(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE folded = $1", folded)
        return row_account(row) if row else None

    def by_certfp(self, certfp: str) -> Account | None:
        cols = ", ".join("a." + c for c in ACCOUNT_COLUMNS.split(", "))
        row = self._fetchrow(f"SELECT {cols} FROM accounts a JOIN account_certfps c "
                             "ON c.account = a.folded WHERE c.certfp = $1", certfp)
        return row_account(row) if row else None

    def add_certfp(self, folded: str, certfp: str) -> bool:
        self._execute("INSERT INTO account_certfps VALUES ($1, $2) ON CONFLICT DO NOTHING", certfp, folded)
        row = self._fetchrow("SELECT account FROM account_certfps WHERE certfp = $1", certfp)
        return row is not None and row[0] == folded

    def set_flags(self, folded: str, verified: bool | None = None, disabled: bool | None = None) -> bool:
        statements: list[tuple[Any, ...]] = []
        if verified is not None:
            statements.append(("UPDATE accounts SET verified = $1 WHERE folded = $2", int(verified), folded))
        if disabled is not None:
            statements.append(("UPDATE accounts SET disabled = $1 WHERE folded = $2", int(disabled), folded))
        self._write(ACCOUNT_CHANGED, folded, *statements)
        return self._fetchrow("SELECT 1 FROM accounts WHERE folded = $1", folded) is not None

    def set_password(self, folded: str, password: str, scram: ScramKeys) -> bool:
        (status,) = self._write(ACCOUNT_CHANGED, folded, (
            "UPDATE accounts SET password = $1, scram_salt = $2, scram_stored_key = $3, scram_server_key = $4, "
            "scram_iterations = $5 WHERE folded = $6", password, *scram_columns(scram), folded,
        ))
        return not status.endswith(" 0")

    def drop_account(self, folded: str) -> bool:
        statuses = self._write(
            ACCOUNT_CHANGED, folded,
            ("DELETE FROM read_markers WHERE account = $1", folded),
            ("DELETE FROM accounts WHERE folded = $1", folded),  # certificates cascade
        )
        return not statuses[-1].endswith(" 0")

    def get_channel(self, folded: str) -> ChannelRecord | None:
        row = self._fetchrow("SELECT data FROM registered_channels WHERE folded = $1", folded)
        return ChannelRecord.from_json(row[0]) if row else None

    def list_accounts(self) -> list[Account]:
        assert self._pool is not None
        rows = self._run(self._pool.fetch(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY folded"))
        return [row_account(r) for r in rows]

    def save_channel(self, record: ChannelRecord) -> None:
        self._write(CHANNEL_CHANGED, record.folded, (
            "INSERT INTO registered_channels VALUES ($1, $2) "
            "ON CONFLICT (folded) DO UPDATE SET data = excluded.data", record.folded, record.to_json(),
        ))

    def drop_channel(self, folded: str) -> None:
        self._write(CHANNEL_CHANGED, folded, ("DELETE FROM registered_channels WHERE folded = $1", folded))

    def set_marker(self, account: str, target: str, time_us: int) -> int:
        row = self._fetchrow(
            "INSERT INTO read_markers VALUES ($1, $2, $3) ON CONFLICT (account, target) "
            "DO UPDATE SET time_us = GREATEST(read_markers.time_us, excluded.time_us) RETURNING time_us",
            account, target, time_us,
        )
        return int(row[0])

    def get_marker(self, account: str, target: str) -> int | None:
        row = self._fetchrow("SELECT time_us FROM read_markers WHERE account = $1 AND target = $2", account, target)
        return int(row[0]) if row else None

    def markers(self, account: str) -> dict[str, int]:
        assert self._pool is not None
        rows = self._run(self._pool.fetch("SELECT target, time_us FROM read_markers WHERE account = $1", account))
        return {r[0]: int(r[1]) for r in rows}
