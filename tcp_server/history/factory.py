"""Choose the history store from settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import ServerSettings
    from .base import HistoryStore


async def open_history(settings: ServerSettings) -> HistoryStore | None:
    """The configured store, started; ``None`` while no persistent store is implemented.

    The SQLite and PostgreSQL stores arrive with the history issue; until then messages are relayed
    but not kept, and ``draft/chathistory`` is not advertised.
    """
    return None
