"""The history store interface the server writes through (group commit, echo after commit)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

CommitCallback = Callable[[BaseException | None], None]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One channel or private message as kept in history."""

    msgid: str
    time: float
    command: str
    source: str
    sender: str
    target: str
    text: str
    tags: dict[str, str] = field(default_factory=dict)


class HistoryStore(ABC):  # noqa: B024  (start/close are optional hooks)
    """Where messages are committed and read back.

    ``append`` never blocks the event loop: it queues the record and calls ``on_commit`` once the
    record is durable (or with the error when it could not be stored).
    """

    async def start(self) -> None:  # noqa: B027
        """Open the store (create or migrate the schema)."""

    async def close(self) -> None:  # noqa: B027
        """Commit what is pending and release the store."""

    @abstractmethod
    def append(self, record: StoredMessage, on_commit: CommitCallback) -> None:
        """Queue ``record``; call ``on_commit(None)`` after it is committed."""
