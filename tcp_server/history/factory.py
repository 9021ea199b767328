"""Choose and start the history store from settings.

``history=False`` -> no store (CHATHISTORY not advertised). Otherwise ``database_url`` picks it:
unset -> SQLite at ``data_dir/history.db``; ``sqlite:///relative/path`` or
``sqlite:////absolute/path`` (optional ``?synchronous=normal`` trades power-loss safety for
speed; process crashes stay safe in WAL mode); ``postgresql://...`` -> PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .base import HistoryError, HistoryStore
from .sqlite import DB_FILENAME, SQLiteStore

if TYPE_CHECKING:
    from ..settings import ServerSettings


def make_history(settings: ServerSettings) -> HistoryStore | None:
    """The configured store, not yet started (None when history is off)."""
    if not settings.history:
        return None
    common: dict[str, Any] = {
        "commit_interval": settings.history_commit_interval,
        "max_age_days": settings.history_max_age_days,
        "max_rows_per_target": settings.history_max_rows_per_target,
        "max_pending": settings.history_max_pending,
        "max_batch": settings.history_max_batch,
        "retention_interval": settings.history_retention_interval,
        "retention_chunk": settings.history_retention_chunk,
    }
    sqlite: dict[str, Any] = {
        "write_timeout": settings.history_sqlite_busy_timeout,
        "close_timeout": settings.history_sqlite_close_timeout,
    }
    url = settings.database_url
    if not url:
        return SQLiteStore(Path(settings.data_dir) / DB_FILENAME, **common, **sqlite)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise HistoryError("database_url sqlite:///PATH needs a file path")
        query = parse_qs(parts.query)
        synchronous = query.get("synchronous", ["FULL"])[0]
        try:
            return SQLiteStore(Path(path), synchronous=synchronous, **common, **sqlite)
        except ValueError as exc:
            raise HistoryError(f"database_url: {exc}") from None
    if scheme in ("postgresql", "postgres"):
        try:
            from .postgres import PostgresStore
        except ImportError as exc:  # asyncpg is the ``postgres`` extra
            raise HistoryError(
                "database_url is PostgreSQL but asyncpg is not installed: pip install 'tcpchat[postgres]'"
            ) from exc
        return PostgresStore(
            url,
            write_timeout=settings.history_postgres_timeout,
            connect_timeout=settings.history_postgres_connect_timeout,
            pool_size=settings.history_postgres_pool_size,
            **common,
        )
    raise HistoryError(f"database_url scheme {scheme!r} is not supported (use sqlite:// or postgresql://)")


async def open_history(settings: ServerSettings) -> HistoryStore | None:
    """The configured store, started (schema created or migrated); None when history is off."""
    store = make_history(settings)
    if store is not None:
        await store.start()
    return store
