"""When each user last left each channel, so a plain client's JOIN replays only what it missed.

A user is its account (``$a:name``, casefolded) when logged in, else its casefolded nick (as read
markers, ``commands/markread.py``). The time moves only forward. Recording never waits for the
database: times wait here (``pending``) and one background task writes them; a JOIN right after
a PART reads the pending time, and closing the store writes what is still pending (a server
shutdown records everyone's leaving before the store closes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("tcpchat.history")

LeftRows = list[tuple[str, str, int]]
"""(user, channel key, time in microseconds) rows."""


def left_schema(integer: str) -> tuple[str, ...]:
    """The migration adding ``channel_left`` (both stores; only the integer type differs)."""
    return (
        f"""CREATE TABLE channel_left (
            who TEXT NOT NULL,
            target_key TEXT NOT NULL,
            time_us {integer} NOT NULL,
            PRIMARY KEY (who, target_key)
        )""",
    )


def upsert_left_sql(ph: Callable[[int], str], newest: str) -> str:
    """Store a leaving time unless a later one is stored (``newest``: ``max`` or ``GREATEST``)."""
    return (
        f"INSERT INTO channel_left (who, target_key, time_us) VALUES ({ph(1)}, {ph(2)}, {ph(3)}) "
        f"ON CONFLICT (who, target_key) DO UPDATE SET time_us = {newest}(channel_left.time_us, excluded.time_us)"
    )


def select_left_sql(ph: Callable[[int], str]) -> str:
    """The stored leaving time of one user in one channel."""
    return f"SELECT time_us FROM channel_left WHERE who = {ph(1)} AND target_key = {ph(2)}"


class LeftTimes:
    """Leaving times waiting to be written, and the one task writing them."""

    def __init__(self, write: Callable[[LeftRows], Awaitable[None]], read: Callable[[str, str], Awaitable[int | None]]):
        self._write = write
        self._read = read
        self.pending: dict[tuple[str, str], int] = {}
        self._task: asyncio.Task[None] | None = None

    def record(self, who: str, key: str, time_us: int) -> None:
        """``who`` saw ``key`` up to ``time_us`` (left it, or joined and got the replay)."""
        if self.pending.get((who, key), 0) < time_us:
            self.pending[(who, key)] = time_us
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.flush())

    async def get(self, who: str, key: str) -> int | None:
        """The latest leaving time known (pending or stored), None when never recorded."""
        stored = await self._read(who, key)
        pending = self.pending.get((who, key))  # read after the query: a write may have ended meanwhile
        return max(t for t in (stored, pending) if t is not None) if stored or pending else None

    async def flush(self) -> None:
        """Write what is pending (until nothing is); a failure is logged, the times kept for the next try."""
        while self.pending:
            rows = [(who, key, t) for (who, key), t in self.pending.items()]
            try:
                await self._write(rows)
            except Exception as exc:  # the replay then shows a little more; never a crash
                log.warning("history: could not store channel leaving times: %r", exc)
                return
            for who, key, t in rows:
                if self.pending.get((who, key)) == t:
                    del self.pending[(who, key)]

    async def close(self) -> None:
        """Write what is still pending (the store closes next)."""
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        await self.flush()
