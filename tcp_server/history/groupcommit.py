"""Group commit: queue appended rows, write each window's rows in one transaction, then ack them.

The writer task sleeps ``interval`` seconds so rows arriving together share a transaction, writes
the whole batch, and only then calls every row's callback (which sends the sender's echo). Rows
that arrive while a batch is being written wait for the next one, so under load batches grow on
their own and the commit rate stays bounded. The queue is bounded: past ``max_pending`` rows an
append fails at once (the sender gets a FAIL) instead of the server's memory growing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..settings import default
from .base import CommitCallback, HistoryError, StoredMessage

log = logging.getLogger("tcpchat.history")

WriteBatch = Callable[[list[StoredMessage]], Awaitable[None]]


class GroupCommitter:
    """Batches appends for ``write_batch`` (one transaction per call).

    ``max_pending`` rows may wait for a commit before appends are refused (the memory bound when
    the disk stalls); ``max_batch`` rows go in one transaction, so under a backlog echoes keep
    flowing batch by batch.
    """

    def __init__(
        self,
        write_batch: WriteBatch,
        interval: float = default("history_commit_interval"),
        max_pending: int = default("history_max_pending"),
        max_batch: int = default("history_max_batch"),
    ) -> None:
        self._write_batch = write_batch
        self._interval = interval
        self._max_pending = max_pending
        self._max_batch = max_batch
        self._pending: list[StoredMessage] = []
        self._callbacks: list[CommitCallback] = []
        """``_pending[i]``'s callback (two lists, not a tuple per row: one object less to allocate
        and for the garbage collector to visit while the row waits)."""
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.batches = 0
        self.rows = 0
        self._appended = 0  # rows ever queued; batches commit in order, so a count is a position
        self._settled = 0  # rows committed or failed
        self._barriers: list[tuple[int, asyncio.Future[None]]] = []

    def append(self, record: StoredMessage, on_commit: CommitCallback) -> None:
        """Queue ``record``; ``on_commit`` runs after its batch commits (or fails)."""
        if self._closed:
            on_commit(HistoryError("history store is closed"))
            return
        if len(self._pending) >= self._max_pending:
            on_commit(HistoryError("history store is overloaded"))
            return
        self._pending.append(record)
        self._callbacks.append(on_commit)
        self._appended += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            while self._pending:
                if self._interval and not self._closed and len(self._pending) < self._max_batch:
                    await asyncio.sleep(self._interval)  # let the window fill
                n = self._max_batch
                pending, callbacks = self._pending, self._callbacks
                if len(pending) <= n:  # the usual case: the whole queue is the batch
                    self._pending, self._callbacks = [], []
                else:
                    pending, self._pending = pending[:n], pending[n:]
                    callbacks, self._callbacks = callbacks[:n], callbacks[n:]
                error = await self._commit(pending, callbacks)
                if error is not None and self._closed and self._pending:
                    # shutting down and the store is failing: do not wait out every batch
                    rest, self._pending, self._callbacks = self._callbacks, [], []
                    self._ack(rest, error)
        finally:
            self._task = None

    async def _commit(self, batch: list[StoredMessage], callbacks: list[CommitCallback]) -> BaseException | None:
        """Write one batch and call its callbacks; returns the error, if any."""
        error: BaseException | None = None
        try:
            await self._write_batch(batch)
            self.batches += 1
            self.rows += len(batch)
        except asyncio.CancelledError:
            error = HistoryError("history store closed before commit")
            self._ack(callbacks, error)
            raise
        except Exception as exc:
            log.error("history commit of %d rows failed: %r", len(batch), exc)
            error = HistoryError(str(exc) or type(exc).__name__)
        self._ack(callbacks, error)
        return error

    def _ack(self, callbacks: list[CommitCallback], error: BaseException | None) -> None:
        for on_commit in callbacks:
            try:
                on_commit(error)
            except Exception:  # one broken callback must not starve the others
                log.exception("history commit callback failed")
        self._settled += len(callbacks)
        still: list[tuple[int, asyncio.Future[None]]] = []
        for target, waiter in self._barriers:
            if target <= self._settled:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                still.append((target, waiter))
        self._barriers = still

    async def barrier(self) -> None:
        """Wait until every row queued before this call has settled (committed or failed).

        Queries run after it, so a reader sees every message that was already relayed: a client
        that JOINs and then asks CHATHISTORY for the gap does not miss a message still in the
        commit window.
        """
        target = self._appended
        if target <= self._settled:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._barriers.append((target, waiter))
        await waiter

    async def close(self) -> None:
        """Refuse new rows and commit the queued ones."""
        self._closed = True
        while self._task is not None:
            await asyncio.shield(self._task)
