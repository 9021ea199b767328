"""The bounded queue that hands session events to the consumer.

A consumer that falls behind must not make the client grow without bound: once ``limit`` events
are waiting, ``put`` refuses and the session closes itself; the final ``closed`` status is always
delivered (the bound may be exceeded by that one event). A consumer that cannot fall behind
(the web gateway's bridge, which has its own bounded queue) may ``listen`` instead: events are
then handed to its callback as they arrive, without a task switch per event.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from .events import Event, SessionClosed, SessionStatus


class EventQueue:
    """A FIFO of events with a hard bound and a terminal ``closed`` status."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the event queue needs room for at least one event")
        self.limit = limit
        self._items: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._final_queued = False
        self._final_delivered = False
        self._listener: Callable[[Event], None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, event: Event) -> bool:
        """Queue ``event``; False (nothing queued) when the queue is full or already finished."""
        if self._final_queued:
            return True
        if self._listener is not None:
            self._listener(event)
            return True
        if len(self._items) >= self.limit:
            return False
        self._items.append(event)
        self._wake.set()
        return True

    def put_many(self, events: list[Event]) -> bool:
        """``put`` each event in order (straight to the listener when there is one); False when
        the queue filled up (the events after that one were not queued)."""
        listener = self._listener
        if listener is not None:
            for event in events:
                if self._final_queued:
                    break
                listener(event)
            return True
        return all(self.put(event) for event in events)

    def finish(self, status: SessionStatus) -> None:
        """Queue the last event (once); later ``put`` calls are ignored."""
        if not self._final_queued:
            self._final_queued = True
            if self._listener is not None:
                self._final_delivered = True
                self._listener(status)
                return
            self._items.append(status)
            self._wake.set()

    def listen(self, callback: Callable[[Event], None]) -> None:
        """From now on hand each event to ``callback`` as it is put, instead of queueing it.

        Events already queued go to ``callback`` first, in order; ``get`` is not used afterwards.
        The callback runs inside whoever puts the event (the session's read loop): it must not
        block, and it must bound what it keeps itself, since the queue's limit no longer applies.
        """
        while self._items:
            callback(self._items.popleft())
        if self._final_queued:
            self._final_delivered = True
        self._listener = callback

    async def get(self, timeout: float | None = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout``, ``SessionClosed`` after the last one."""
        if not self._items:  # the fast path (events already waiting) needs no timer
            async with asyncio.timeout(timeout):
                while not self._items:
                    if self._final_delivered:
                        raise SessionClosed("the session is closed")
                    self._wake.clear()
                    await self._wake.wait()
        event = self._items.popleft()
        if not self._items and self._final_queued:
            self._final_delivered = True
        return event
