"""Accounts in the SQLite history file (``data_dir/history.db`` unless ``database_url`` says).

One ``sqlite3`` connection shared by the worker threads, serialised by a lock: account writes
are rare (a registration, a channel change) and reads are single-row lookups. WAL mode and a
busy timeout let them interleave with the history writer process.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .base import Account, AccountError, AccountStore, ChannelRecord, Loaded
from .passwords import ScramKeys
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

BUSY_MS = 5000
"""Milliseconds a statement waits for the history writer's lock before it fails."""
MIGRATIONS: list[tuple[str, ...]] = [schema_v1("INTEGER")]


def _q(_: int) -> str:
    return "?"


class SQLiteAccountStore(AccountStore):
    """Accounts in the SQLite file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def start(self) -> Loaded:
        try:
            return await asyncio.to_thread(self._open)
        except sqlite3.Error as exc:
            raise AccountError(f"cannot open the account tables in {self.path}: {exc}") from exc

    def _open(self) -> Loaded:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        db.execute("PRAGMA foreign_keys=ON")
        with self._tx() as cur:
            cur.execute(CREATE_VERSION_TABLE)
            row = cur.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
            version = row[0] or 0
            if version > len(MIGRATIONS):
                raise AccountError(f"account schema version {version} is newer than this server")
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    cur.execute(statement)
                cur.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (?)", (number,))
                log.info("accounts: migrated %s to schema version %d", self.path, number)
            return self._load(cur)

    @staticmethod
    def _load(cur: sqlite3.Cursor) -> Loaded:
        names = {r[0] for r in cur.execute("SELECT folded FROM accounts")}
        channels = {
            r[0]: ChannelRecord.from_json(r[1]) for r in cur.execute("SELECT folded, data FROM registered_channels")
        }
        return Loaded(names, channels)

    def load(self) -> Loaded:
        with self._tx(write=False) as cur:
            return self._load(cur)

    async def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Cursor]:
        """One transaction under the lock (writes BEGIN IMMEDIATE: they queue, never deadlock)."""
        with self._lock:
            if self._db is None:
                raise AccountError("account store is not open")
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def create(self, account: Account, certfp: str | None = None) -> bool:
        with self._tx() as cur:
            if cur.execute("SELECT 1 FROM accounts WHERE folded = ?", (account.folded,)).fetchone():
                return False
            cur.execute(f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ({marks(_q, 10)})", account_row(account))
            if certfp:
                cur.execute("INSERT OR IGNORE INTO account_certfps VALUES (?, ?)", (certfp, account.folded))
        return True

    def get(self, folded: str) -> Account | None:
        with self._tx(write=False) as cur:
            row = cur.execute(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE folded = ?", (folded,)).fetchone()
        return row_account(row) if row else None

    def by_certfp(self, certfp: str) -> Account | None:
        sql = (f"SELECT {', '.join('a.' + c for c in ACCOUNT_COLUMNS.split(', '))} FROM accounts a "
               "JOIN account_certfps c ON c.account = a.folded WHERE c.certfp = ?")
        with self._tx(write=False) as cur:
            row = cur.execute(sql, (certfp,)).fetchone()
        return row_account(row) if row else None

    def add_certfp(self, folded: str, certfp: str) -> bool:
        with self._tx() as cur:
            row = cur.execute("SELECT account FROM account_certfps WHERE certfp = ?", (certfp,)).fetchone()
            if row is not None:
                return row[0] == folded
            cur.execute("INSERT INTO account_certfps VALUES (?, ?)", (certfp, folded))
        return True

    def set_flags(self, folded: str, verified: bool | None = None, disabled: bool | None = None) -> bool:
        with self._tx() as cur:
            found = cur.execute("SELECT 1 FROM accounts WHERE folded = ?", (folded,)).fetchone()
            if verified is not None:
                cur.execute("UPDATE accounts SET verified = ? WHERE folded = ?", (int(verified), folded))
            if disabled is not None:
                cur.execute("UPDATE accounts SET disabled = ? WHERE folded = ?", (int(disabled), folded))
        return found is not None

    def set_password(self, folded: str, password: str, scram: ScramKeys) -> bool:
        with self._tx() as cur:
            cur.execute(
                "UPDATE accounts SET password = ?, scram_salt = ?, scram_stored_key = ?, scram_server_key = ?, "
                "scram_iterations = ? WHERE folded = ?", (password, *scram_columns(scram), folded),
            )
            return cur.rowcount > 0

    def list_accounts(self) -> list[Account]:
        with self._tx(write=False) as cur:
            rows = cur.execute(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY folded").fetchall()
        return [row_account(r) for r in rows]

    def drop_account(self, folded: str) -> bool:
        with self._tx() as cur:
            cur.execute("DELETE FROM read_markers WHERE account = ?", (folded,))
            cur.execute("DELETE FROM accounts WHERE folded = ?", (folded,))  # certfps cascade
            return cur.rowcount > 0

    def get_channel(self, folded: str) -> ChannelRecord | None:
        with self._tx(write=False) as cur:
            row = cur.execute("SELECT data FROM registered_channels WHERE folded = ?", (folded,)).fetchone()
        return ChannelRecord.from_json(row[0]) if row else None

    def save_channel(self, record: ChannelRecord) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO registered_channels VALUES (?, ?) "
                "ON CONFLICT (folded) DO UPDATE SET data = excluded.data",
                (record.folded, record.to_json()),
            )

    def drop_channel(self, folded: str) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM registered_channels WHERE folded = ?", (folded,))

    def set_marker(self, account: str, target: str, time_us: int) -> int:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO read_markers VALUES (?, ?, ?) ON CONFLICT (account, target) "
                "DO UPDATE SET time_us = max(time_us, excluded.time_us)",
                (account, target, time_us),
            )
            row = cur.execute(
                "SELECT time_us FROM read_markers WHERE account = ? AND target = ?", (account, target)
            ).fetchone()
        return int(row[0])

    def get_marker(self, account: str, target: str) -> int | None:
        with self._tx(write=False) as cur:
            row = cur.execute(
                "SELECT time_us FROM read_markers WHERE account = ? AND target = ?", (account, target)
            ).fetchone()
        return int(row[0]) if row else None

    def markers(self, account: str) -> dict[str, int]:
        with self._tx(write=False) as cur:
            rows = cur.execute("SELECT target, time_us FROM read_markers WHERE account = ?", (account,)).fetchall()
        return {r[0]: int(r[1]) for r in rows}
