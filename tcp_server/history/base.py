"""The history store interface the server writes through (group commit, echo after commit).

Handlers are synchronous and never await: they ``append`` with a callback (called once the row is
durable) and ``fetch`` queries with a callback (called with the rows). The stores do the awaiting.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from .left import LeftRows, LeftTimes

log = logging.getLogger("tcpchat.history")

CommitCallback = Callable[[BaseException | None], None]
T = TypeVar("T")


class HistoryError(Exception):
    """The store could not do what was asked (closed, overloaded, database error)."""


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


class _UnfrozenStoredMessage:
    """``StoredMessage``'s slots without the frozen checks (see ``stored_message``)."""

    __slots__ = StoredMessage.__slots__  # type: ignore[attr-defined]

    def __init__(
        self, msgid: str, time: float, command: str, source: str, sender: str, target: str, text: str,
        tags: dict[str, str],
    ) -> None:
        self.msgid = msgid
        self.time = time
        self.command = command
        self.source = source
        self.sender = sender
        self.target = target
        self.text = text
        self.tags = tags


def stored_message(
    msgid: str, time: float, command: str, source: str, sender: str, target: str, text: str,
    tags: dict[str, str],
) -> StoredMessage:
    """``StoredMessage(...)`` for the relay's hot path: a frozen dataclass sets each of its eight
    fields through ``object.__setattr__`` (~1 us on this machine, once per stored message); this
    fills the same slots plainly and then makes the object a ``StoredMessage`` (~0.3 us)."""
    record: Any = _UnfrozenStoredMessage(msgid, time, command, source, sender, target, text, tags)
    record.__class__ = StoredMessage
    return record  # type: ignore[no-any-return]


Column = Literal["seq", "time_us"]
Op = Literal["<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class Cond:
    """One bound of a history window: ``column op value`` (seq: commit order; time_us: time)."""

    column: Column
    op: Op
    value: int

    def __post_init__(self) -> None:
        if self.column not in ("seq", "time_us") or self.op not in ("<", "<=", ">", ">="):
            raise ValueError(f"bad history condition {self.column} {self.op}")


@dataclass(frozen=True, slots=True)
class Position:
    """Where a stored message sits: its commit order and its time in microseconds."""

    seq: int
    time_us: int


@dataclass(frozen=True, slots=True)
class TargetActivity:
    """A channel or conversation with its latest message time (CHATHISTORY TARGETS)."""

    key: str
    time_us: int


class HistoryStore(ABC):
    """Where messages are committed and read back.

    ``append`` never blocks the event loop: it queues the record and calls ``on_commit`` once the
    record is durable (or with the error when it could not be stored).

    Targets are addressed by key (see ``keys.py``): a casefolded channel name, or a key naming
    both sides of a private conversation.
    """

    def __init__(self) -> None:
        self._fetches: set[asyncio.Task[Any]] = set()
        self.left = LeftTimes(self.write_left, self.read_left)
        """When each user last left each channel (``left.py``): the JOIN replay starts there."""

    async def start(self) -> None:  # noqa: B027
        """Open the store (create or migrate the schema)."""

    async def close(self) -> None:
        """Commit what is pending and release the store (a store calls this before closing its
        connections: pending leaving times are written here)."""
        await self.left.close()
        for task in list(self._fetches):
            task.cancel()
        self._fetches.clear()

    async def write_left(self, rows: LeftRows) -> None:
        """Store leaving times (``left.py``), each only if later than the one stored."""
        raise HistoryError("this store keeps no leaving times")

    async def read_left(self, who: str, key: str) -> int | None:
        """The stored leaving time of ``who`` in channel ``key``, if any."""
        return None

    async def missed(self, who: str, key: str, before_us: int, limit: int) -> list[StoredMessage]:
        """The ``limit`` newest messages of channel ``key`` stored before ``before_us`` and after
        ``who`` last left it (``left.py``; any time when never recorded): the JOIN replay."""
        since = await self.left.get(who, key)
        window: tuple[Cond, ...] = (Cond("time_us", "<", before_us),)
        if since is not None:
            window += (Cond("time_us", ">", since),)
        return await self.select(key, window, limit, newest_first=True)

    @abstractmethod
    def append(self, record: StoredMessage, on_commit: CommitCallback) -> None:
        """Queue ``record``; call ``on_commit(None)`` after it is committed."""

    @abstractmethod
    async def locate(self, key: str, msgid: str) -> Position | None:
        """The position of message ``msgid`` in target ``key`` (None if not stored there)."""

    @abstractmethod
    async def select(
        self, key: str, conds: tuple[Cond, ...], limit: int, newest_first: bool
    ) -> list[StoredMessage]:
        """Up to ``limit`` messages of ``key`` matching every condition, in commit order.

        With ``newest_first`` the ``limit`` newest are picked (still returned oldest first).
        """

    @abstractmethod
    async def targets(
        self,
        channel_keys: tuple[str, ...],
        nick_key: str,
        conds: tuple[Cond, ...],
        private_conds: tuple[Cond, ...],
        limit: int,
    ) -> list[TargetActivity]:
        """Targets with messages matching ``conds``: the given channels plus the private
        conversations of ``nick_key`` (those also matching ``private_conds``), oldest activity first."""

    async def find(self, key: str, msgid: str) -> StoredMessage | None:
        """Message ``msgid`` of target ``key``, if stored (REDACT checks who sent it)."""
        raise HistoryError("this store cannot look up single messages")

    async def search(self, key: str, words: str, limit: int) -> list[StoredMessage]:
        """The ``limit`` newest messages of ``key`` containing every word of ``words`` (full-text,
        case-insensitive), oldest first (SEARCH)."""
        raise HistoryError("this store cannot search")

    async def delete(self, key: str, msgid: str) -> bool:
        """Remove message ``msgid`` of target ``key`` (REDACT); True when a row was deleted."""
        raise HistoryError("this store cannot delete messages")

    async def delete_if(
        self, key: str, msgid: str, allowed: Callable[[StoredMessage], bool]
    ) -> tuple[StoredMessage | None, bool]:
        """Find message ``msgid`` of ``key`` and delete it when ``allowed(message)``.

        Returns (the message, or None when unknown or already gone; whether it was deleted):
        REDACT's one query, so its handler stays synchronous."""
        record = await self.find(key, msgid)
        if record is None or not allowed(record):
            return record, False
        deleted = await self.delete(key, msgid)
        return (record if deleted else None), deleted

    @abstractmethod
    async def apply_retention(self) -> int:
        """Delete rows past the age and per-target limits; returns how many were deleted."""

    def fetch(
        self,
        work: Callable[[], Awaitable[T]],
        on_done: Callable[[T | None, BaseException | None], None],
    ) -> None:
        """Run ``work()`` in the background, then ``on_done(result, error)`` on the event loop.

        This is how synchronous command handlers query the store.
        """

        async def run() -> None:
            try:
                committer = getattr(self, "_committer", None)
                if committer is not None:  # read after the rows already queued are stored
                    await committer.barrier()
                result = await work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reported to the client, never a crash
                level = logging.DEBUG if isinstance(exc, LookupError) else logging.WARNING
                log.log(level, "history query failed: %r", exc)
                on_done(None, exc)
                return
            on_done(result, None)

        task = asyncio.get_running_loop().create_task(run())
        self._fetches.add(task)
        task.add_done_callback(self._fetches.discard)
