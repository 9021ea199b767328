"""CHATHISTORY semantics on top of any ``HistoryStore``: LATEST, BEFORE, AFTER, AROUND, BETWEEN.

References are a msgid (exact position, resolved within the target) or a timestamp (millisecond
precision, like ``server-time``). Windows exclude their references, except AROUND, which centres
on its reference. Results are always oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .base import Cond, HistoryStore, Position, StoredMessage

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_MS = 1000


class UnknownReference(LookupError):
    """A msgid reference that is not stored for this target (never sent there, or expired)."""


@dataclass(frozen=True, slots=True)
class Ref:
    """A parsed message reference: ``msgid=...`` or ``timestamp=...`` (milliseconds)."""

    msgid: str | None = None
    ms: int | None = None

    @classmethod
    def parse(cls, text: str) -> Ref:
        """Parse ``msgid=X`` or ``timestamp=YYYY-MM-DDThh:mm:ss.sssZ``; ValueError otherwise."""
        kind, sep, value = text.partition("=")
        if not sep or not value:
            raise ValueError(f"not a message reference: {text!r}")
        if kind == "msgid":
            return cls(msgid=value)
        if kind == "timestamp":
            return cls(ms=parse_timestamp_ms(value))
        raise ValueError(f"unknown message reference type {kind!r}")


def parse_timestamp_ms(value: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 UTC timestamp (as in ``server-time``)."""
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - EPOCH) // timedelta(milliseconds=1)


def format_timestamp_us(time_us: int) -> str:
    """A ``server-time`` string for a time in microseconds."""
    dt = EPOCH + timedelta(microseconds=time_us)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class _Point:
    """A resolved reference: an exact message, or a millisecond instant."""

    pos: Position | None = None
    ms: int | None = None

    def after(self, inclusive: bool = False) -> Cond:
        if self.pos is not None:
            return Cond("seq", ">=" if inclusive else ">", self.pos.seq)
        assert self.ms is not None
        return Cond("time_us", ">=", (self.ms + (0 if inclusive else 1)) * US_PER_MS)

    def before(self) -> Cond:
        if self.pos is not None:
            return Cond("seq", "<", self.pos.seq)
        assert self.ms is not None
        return Cond("time_us", "<", self.ms * US_PER_MS)

    def sort_key(self, other: _Point) -> tuple[int, int]:
        """Comparable against ``other``: seq when both are messages, else time."""
        if self.pos is not None and other.pos is not None:
            return (self.pos.seq, 0)
        if self.pos is not None:
            return (self.pos.time_us, 1)
        assert self.ms is not None
        return (self.ms * US_PER_MS, 0)


async def _resolve(store: HistoryStore, key: str, ref: Ref) -> _Point:
    if ref.msgid is not None:
        pos = await store.locate(key, ref.msgid)
        if pos is None:
            raise UnknownReference(ref.msgid)
        return _Point(pos=pos)
    return _Point(ms=ref.ms)


async def run_query(
    store: HistoryStore,
    subcommand: str,
    key: str,
    refs: tuple[Ref | None, ...],
    limit: int,
    scope: tuple[Cond, ...] = (),
) -> list[StoredMessage]:
    """Messages of ``key`` for one CHATHISTORY subcommand; ``scope`` limits what may be seen.

    Raises:
        UnknownReference: a msgid reference is not stored for ``key``.
        ValueError: unknown subcommand.
    """
    if subcommand == "LATEST":
        first = refs[0]
        conds = scope if first is None else (*scope, (await _resolve(store, key, first)).after())
        return await store.select(key, conds, limit, newest_first=True)
    if subcommand == "BEFORE":
        point = await _resolve(store, key, refs[0])  # type: ignore[arg-type]
        return await store.select(key, (*scope, point.before()), limit, newest_first=True)
    if subcommand == "AFTER":
        point = await _resolve(store, key, refs[0])  # type: ignore[arg-type]
        return await store.select(key, (*scope, point.after()), limit, newest_first=False)
    if subcommand == "AROUND":
        point = await _resolve(store, key, refs[0])  # type: ignore[arg-type]
        older = await store.select(key, (*scope, point.before()), limit // 2, newest_first=True)
        newer = await store.select(
            key, (*scope, point.after(inclusive=True)), limit - len(older), newest_first=False
        )
        return older + newer
    if subcommand == "BETWEEN":
        a = await _resolve(store, key, refs[0])  # type: ignore[arg-type]
        b = await _resolve(store, key, refs[1])  # type: ignore[arg-type]
        if a.sort_key(b) <= b.sort_key(a):
            return await store.select(key, (*scope, a.after(), b.before()), limit, newest_first=False)
        return await store.select(key, (*scope, b.after(), a.before()), limit, newest_first=True)
    raise ValueError(f"unknown CHATHISTORY subcommand {subcommand!r}")
