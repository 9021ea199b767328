"""Choose and start the history store from settings.

``history=False`` -> no store (CHATHISTORY not advertised). Otherwise ``database_url`` picks it:
unset -> SQLite at ``data_dir/history.db``; ``sqlite:///relative/path`` or
``sqlite:////absolute/path`` (optional ``?synchronous=normal`` trades power-loss safety for
speed; process crashes stay safe in WAL mode); ``postgresql://...`` -> PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from .base import HistoryError, HistoryStore
from .sqlite import DB_FILENAME, SQLiteStore

if TYPE_CHECKING:
    from ..settings import ServerSettings


def make_history(settings: ServerSettings) -> HistoryStore | None:
    """The configured store, not yet started (None when history is off)."""
    if not settings.history:
        return None
    common = {
        "commit_interval": settings.history_commit_interval,
        "max_age_days": settings.history_max_age_days,
        "max_rows_per_target": settings.history_max_rows_per_target,
    }
    url = settings.database_url
    if not url:
        return SQLiteStore(Path(settings.data_dir) / DB_FILENAME, **common)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise HistoryError("database_url sqlite:///PATH needs a file path")
        query = parse_qs(parts.query)
        synchronous = query.get("synchronous", ["FULL"])[0]
        try:
            return SQLiteStore(Path(path), synchronous=synchronous, **common)
        except ValueError as exc:
            raise HistoryError(f"database_url: {exc}") from None
    if scheme in ("postgresql", "postgres"):
        try:
            from .postgres import PostgresStore
        except ImportError as exc:  # asyncpg is the ``postgres`` extra
            raise HistoryError(
                "database_url is PostgreSQL but asyncpg is not installed: pip install 'tcpchat[postgres]'"
            ) from exc
        return PostgresStore(url, **common)
    raise HistoryError(f"database_url scheme {scheme!r} is not supported (use sqlite:// or postgresql://)")


async def open_history(settings: ServerSettings) -> HistoryStore | None:
    """The configured store, started (schema created or migrated); None when history is off."""
    store = make_history(settings)
    if store is not None:
        await store.start()
    return store
