"""Channel events this node published and has not yet seen come back from Redis.

Every node, the origin too, delivers a channel event when Redis hands it out. When Redis dies
after taking an event but before handing it back, the origin's own members would never see it
(the other nodes lose it too, and fill it from history later). So the origin keeps each event's
local delivery (its fallback) until the event is back; when the link goes down it runs the
remaining ones, in publish order, and each at most once: an event delivered locally that still
arrives later from Redis is dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

Key = tuple[str, str]
"""(casefolded channel, the published payload): unique, the payload carries the msgid."""


class InFlight:
    """Published channel events waiting to come back, with what delivers them locally."""

    def __init__(self) -> None:
        self.waiting: OrderedDict[Key, Callable[[], None]] = OrderedDict()

    def track(self, key: Key, deliver: Callable[[], None]) -> Callable[[], None]:
        """Remember ``deliver`` for the event ``key``; returns a fallback that runs it once."""
        self.waiting[key] = deliver

        def once() -> None:
            run = self.waiting.pop(key, None)
            if run is not None:
                run()

        return once

    def back(self, key: Key) -> bool:
        """The event came back from Redis: True when it still waited (deliver it now)."""
        return self.waiting.pop(key, None) is not None

    def deliver_published(self, queued: set[Key]) -> int:
        """Redis is gone: deliver, oldest first, every event it took and never handed back
        (those still ``queued`` here are delivered by their own fallback, in queue order)."""
        taken = [key for key in self.waiting if key not in queued]
        for key in taken:
            self.waiting.pop(key)()
        return len(taken)

    def __len__(self) -> int:
        return len(self.waiting)
