"""SQL shared by the SQLite and PostgreSQL account stores: schema migrations and row mapping.

The account tables live in the history database but are versioned on their own, in table
``tcpchat_accounts_schema``, so history and account migrations never collide. A migration is
frozen once shipped: a change is a new entry, never an edit.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from .base import Account
from .passwords import ScramKeys

VERSION_TABLE = "tcpchat_accounts_schema"
CREATE_VERSION_TABLE = f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)"


def schema_v1(integer: str) -> tuple[str, ...]:
    """Accounts, their certificate fingerprints, registered channels and read markers."""
    return (
        f"""CREATE TABLE accounts (
            folded TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            password TEXT NOT NULL,
            scram_salt TEXT NOT NULL,
            scram_stored_key TEXT NOT NULL,
            scram_server_key TEXT NOT NULL,
            scram_iterations {integer} NOT NULL,
            created_us {integer} NOT NULL,
            verified {integer} NOT NULL,
            disabled {integer} NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE account_certfps (
            certfp TEXT PRIMARY KEY,
            account TEXT NOT NULL REFERENCES accounts (folded) ON DELETE CASCADE
        )""",
        """CREATE TABLE registered_channels (
            folded TEXT PRIMARY KEY,
            data TEXT NOT NULL
        )""",
        f"""CREATE TABLE read_markers (
            account TEXT NOT NULL,
            target TEXT NOT NULL,
            time_us {integer} NOT NULL,
            PRIMARY KEY (account, target)
        )""",
    )


ACCOUNT_COLUMNS = (
    "name, folded, password, scram_salt, scram_stored_key, scram_server_key, scram_iterations, "
    "created_us, verified, disabled"
)

Placeholder = Callable[[int], str]


def marks(ph: Placeholder, count: int, start: int = 1) -> str:
    """``?, ?, ?`` or ``$1, $2, $3``."""
    return ", ".join(ph(start + i) for i in range(count))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def scram_columns(k: ScramKeys) -> tuple[Any, ...]:
    """The stored SCRAM columns: salt, stored key, server key (base64), iterations."""
    return _b64(k.salt), _b64(k.stored_key), _b64(k.server_key), k.iterations


def account_row(account: Account) -> tuple[Any, ...]:
    """The row stored for ``account``, in ``ACCOUNT_COLUMNS`` order."""
    k = account.scram
    return (
        account.name, account.folded, account.password, _b64(k.salt), _b64(k.stored_key),
        _b64(k.server_key), k.iterations, account.created_us, int(account.verified),
        int(account.disabled),
    )


def row_account(row: Sequence[Any]) -> Account:
    """An ``Account`` from an ``ACCOUNT_COLUMNS`` row."""
    name, folded, password, salt, stored, server, iterations, created, verified, disabled = row
    keys = ScramKeys(base64.b64decode(salt), base64.b64decode(stored), base64.b64decode(server), int(iterations))
    return Account(name, folded, password, keys, int(created), bool(verified), bool(disabled))
