"""Open the account store in the history database that the settings name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..history.sqlite import DB_FILENAME
from .base import AccountError, AccountStore
from .sqlite import SQLiteAccountStore

if TYPE_CHECKING:
    from ..settings import ServerSettings


def make_account_store(settings: ServerSettings) -> AccountStore | None:
    """The store (not started), or None when accounts are off (``accounts`` or ``history`` off)."""
    if not (settings.accounts and settings.history):
        return None
    url = settings.database_url
    if not url:
        return SQLiteAccountStore(Path(settings.data_dir) / DB_FILENAME)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        return SQLiteAccountStore(Path(path))
    if scheme in ("postgresql", "postgres"):
        from .postgres import PostgresAccountStore

        return PostgresAccountStore(url, settings.account_sync_retry)
    raise AccountError(f"database_url scheme {scheme!r} is not supported")
