"""The server's account state while it runs: the store, what is cached from it, the timers.

Cached in memory (loaded at start, updated on change): the set of account names (a nick that
equals one is protected) and the registered channels. Per connection: a SASL exchange in
progress, and the deadline of a protected nick used without logging in.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .base import AccountStore, ChannelRecord, Loaded

log = logging.getLogger("tcpchat.accounts")

ENFORCE_CHECK_MAX = 1.0
"""Longest pause between checks of protected-nick deadlines (seconds)."""
CLOSE_WAIT = 5.0
"""Seconds shutdown waits for queued account writes (channel saves, read markers) to finish."""
POLL = 0.01


class AccountService:
    """Accounts and registered channels as the command handlers see them (no awaits)."""

    def __init__(self, store: AccountStore, loaded: Loaded) -> None:
        self.store = store
        self.names: set[str] = loaded.names
        self.channels: dict[str, ChannelRecord] = loaded.channels
        self.sasl: dict[int, Any] = {}
        """Client id -> its SASL exchange in progress (see commands/sasl.py)."""
        self.enforce: dict[int, float] = {}
        """Client id -> monotonic time at which its unauthenticated protected nick is taken away."""
        self.created_us: dict[str, int] = {}
        """Folded account -> creation time, for accounts logged in since start (history scope)."""
        self.logging_in: set[int] = set()
        """Clients whose PLAIN/PASS password is being checked (nick protection waits for it)."""
        self.guest_numbers = itertools.count(int(time.time()) % 100000)
        self._task: asyncio.Task[None] | None = None
        self._failures: dict[str, deque[float]] = {}
        self.writes = 0
        """Writes handed to worker threads and not finished yet (shutdown waits for them)."""
        self._unsaved: dict[str, ChannelRecord | None] = {}
        self._save_lock = threading.Lock()

    def write(
        self, offload: Callable[[Callable[[], Any], Callable[[Any, BaseException | None], None]], None],
        job: Callable[[], Any], what: str,
    ) -> None:
        """Run a store write through ``offload`` (``ServerState.offload``); shutdown waits for it."""
        self.writes += 1

        def done(_: Any, error: BaseException | None) -> None:
            self.writes -= 1
            if error is not None:
                log.warning("accounts: %s failed: %r", what, error)

        offload(job, done)

    def channel_writer(self, folded: str, record: ChannelRecord | None) -> Callable[[], None]:
        """A job for a worker thread that stores the newest state of a channel (None: drop it).

        Jobs may run in any order on several workers; each writes whatever is newest when it
        runs, under one lock, so an older snapshot never overwrites a newer one.
        """
        self._unsaved[folded] = record

        def job() -> None:
            with self._save_lock:
                if folded not in self._unsaved:
                    return  # a later job already wrote the newest state
                newest = self._unsaved.pop(folded)
                if newest is None:
                    self.store.drop_channel(folded)
                else:
                    self.store.save_channel(newest)

        return job

    def apply_channel(self, folded: str, record: ChannelRecord | None) -> None:
        """Another node saved (or dropped: None) a registered channel: keep its record here.

        A save of this node's that is still queued wins: it is newer, and it will notify in turn.
        """
        if folded in self._unsaved:
            return
        if record is None:
            self.channels.pop(folded, None)
        else:
            self.channels[folded] = record

    def login_blocked(self, folded: str, limit: int, window: float) -> bool:
        """True when ``folded`` failed ``limit`` logins within ``window`` seconds (from anywhere)."""
        times = self._failures.get(folded)
        if times is None:
            return False
        now = time.monotonic()
        while times and now - times[0] >= window:
            times.popleft()
        if not times:
            del self._failures[folded]
        return len(times) >= limit

    def login_failed(self, folded: str) -> None:
        """Count a failed login to ``folded`` (only names of existing accounts are kept)."""
        if folded in self.names:
            self._failures.setdefault(folded, deque()).append(time.monotonic())

    def forgive(self, folded: str) -> None:
        """Forget ``folded``'s failed logins (an operator just reset its password)."""
        self._failures.pop(folded, None)

    def start_enforcer(self, timeout: float, expire: Callable[[int], None]) -> None:
        """Check deadlines in the background; ``expire(client_id)`` renames an overdue nick."""
        interval = max(0.05, min(ENFORCE_CHECK_MAX, timeout / 4 if timeout else ENFORCE_CHECK_MAX))

        async def run() -> None:
            while True:
                await asyncio.sleep(interval)
                now = time.monotonic()
                for client_id, deadline in list(self.enforce.items()):
                    if deadline <= now:
                        self.enforce.pop(client_id, None)
                        try:
                            expire(client_id)
                        except Exception:  # one bad rename must not stop enforcement
                            log.exception("nick enforcement failed id=%s", client_id)

        self._task = asyncio.get_running_loop().create_task(run())

    def forget(self, client_id: int) -> None:
        """A connection ended: drop its SASL exchange and nick deadline."""
        self.sasl.pop(client_id, None)
        self.enforce.pop(client_id, None)
        self.logging_in.discard(client_id)

    async def close(self) -> None:
        """Stop the timer, let queued writes finish (bounded), release the store."""
        if self._task is not None:
            self._task.cancel()
        deadline = time.monotonic() + CLOSE_WAIT
        while self.writes > 0 and time.monotonic() < deadline:
            await asyncio.sleep(POLL)
        if self.writes:
            log.warning("accounts: %d writes still queued at shutdown", self.writes)
        await self.store.close()
