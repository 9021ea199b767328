"""Request/reply without I/O: collect a query's reply lines up to its end marker.

Every incoming line is offered to the pending collectors (``Collectors.feed``); a collector is
done when its ``until`` predicate accepts a line, or failed when the connection is lost. Whoever
waits (the session's ``request``, the gateway's operator link) is told through ``on_done``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tcp_server.protocol import Message

Until = Callable[[Message], bool]


@dataclass(eq=False)
class Collector:
    """One query in flight: the lines kept so far; ``lines`` is final once ``finished``."""

    until: Until
    match: Until | None = None
    on_done: Callable[[Collector], None] | None = None
    lines: list[Message] = field(default_factory=list)
    error: BaseException | None = None
    finished: bool = False

    def feed(self, msg: Message) -> None:
        """Offer one line; the end marker is kept too (when it matches)."""
        if self.finished:
            return
        done = self.until(msg)  # called once per message: predicates may keep state
        if done or self.match is None or self.match(msg):
            self.lines.append(msg)
        if done:
            self._finish(None)

    def fail(self, error: BaseException) -> None:
        """End without an answer (connection lost, session closed)."""
        if not self.finished:
            self._finish(error)

    def _finish(self, error: BaseException | None) -> None:
        self.finished, self.error = True, error
        if self.on_done is not None:
            self.on_done(self)


class Collectors:
    """The pending collectors of one session or link."""

    def __init__(self) -> None:
        self.pending: list[Collector] = []
        """The collectors still waiting (a plain list: checked on every received line)."""

    def __bool__(self) -> bool:
        return bool(self.pending)

    def add(self, collector: Collector) -> Collector:
        self.pending.append(collector)
        return collector

    def discard(self, collector: Collector) -> None:
        if collector in self.pending:
            self.pending.remove(collector)

    def feed(self, msg: Message) -> None:
        """Offer ``msg`` to every pending collector; finished ones are dropped."""
        for col in list(self.pending):
            col.feed(msg)
            if col.finished:
                self.discard(col)

    def fail_all(self, error: BaseException) -> None:
        pending, self.pending = self.pending, []
        for col in pending:
            col.fail(error)
