"""Hearing about account changes other nodes made: PostgreSQL LISTEN/NOTIFY.

Nodes of a cluster share one PostgreSQL database for accounts and registered channels, and
each keeps what handlers must answer without a round trip in memory (account names, channel
records). A store write notifies on ``CHANNEL`` in the same transaction, so PostgreSQL hands the
notification to every listening node only after the change is committed and visible: no node
reloads too early, and the path does not depend on Redis being up. A node's own notifications
are skipped (payload ``origin kind folded``). Notifications sent while a node's listening
connection was down are lost, so after a reconnect the node reloads everything (``ALL_CHANGED``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from .base import ALL_CHANGED

log = logging.getLogger("tcpchat.accounts")

CHANNEL = "tcpchat_accounts"
"""The PostgreSQL notification channel of account and registered-channel changes."""


def payload(origin: str, kind: str, folded: str) -> str:
    """What a write notifies: who wrote it, what kind of record, which one."""
    return f"{origin} {kind} {folded}"


class ChangeWatch:
    """One dedicated connection that LISTENs; reconnects every ``retry`` seconds when lost."""

    def __init__(
        self, url: str, origin: str, deliver: Callable[[str, str], None], retry: float, timeout: float
    ) -> None:
        self.url = url
        self.origin = origin
        self.deliver = deliver
        self.retry = retry
        self.timeout = timeout
        self.reconnects = 0
        """Times the listening connection was rebuilt (each followed by a full reload)."""
        self._con: Any = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> None:
        """Open the listening connection (raises when PostgreSQL cannot be reached)."""
        con = await asyncpg.connect(self.url, timeout=self.timeout)
        await con.add_listener(CHANNEL, self._notified)
        con.add_termination_listener(self._lost)
        self._con = con

    def _notified(self, _con: Any, _pid: int, _channel: str, text: str) -> None:
        origin, _, rest = text.partition(" ")
        kind, _, folded = rest.partition(" ")
        if origin == self.origin:
            return  # this node made the change and already applied it
        try:
            self.deliver(kind, folded)
        except Exception:  # one bad change must not stop hearing the next ones
            log.exception("accounts: applying a change from another node failed (%s)", text)

    def _lost(self, _con: Any) -> None:
        self._con = None
        if self._closing:
            return
        log.warning("accounts: lost the PostgreSQL connection that hears other nodes' account changes; "
                    "retrying every %ss", self.retry)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.retry)
            try:
                await self.start()
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                log.debug("accounts: listening again failed: %r", exc)
                continue
            self.reconnects += 1
            log.info("accounts: listening for other nodes' account changes again; reloading all")
            self.deliver(ALL_CHANGED, "")
            return

    async def close(self) -> None:
        """Stop listening."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
        con, self._con = self._con, None
        if con is not None:
            try:
                await con.close(timeout=self.timeout)
            except (OSError, TimeoutError, asyncpg.PostgresError):
                con.terminate()
