"""A connection's output in the order of its commands, when some replies come later.

Some replies cannot be written while their command is dispatched: the ``echo-message`` copy waits
for the history store's commit, an ``OPER`` answer waits for the password hash that runs off the
event loop. The client must still see replies in the order of its commands (``PRIVMSG`` then
``PING`` gives the echo, then the ``PONG``). A handler that answers later takes a ``Hold`` (a
reserved place in the output); everything sent to that connection afterwards waits behind it
until the hold is released with its reply. Other connections are not affected.

Pure bookkeeping with no I/O: the transport and the in-memory test outbox both use it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable


class Hold:
    """A reserved place in one connection's output for a reply that comes later."""

    __slots__ = ("reply", "after", "released")

    def __init__(self) -> None:
        self.reply: list[bytes] = []
        """The late reply, written when the hold is released."""
        self.after: list[bytes] = []
        """Output sent after the hold was taken (and before the next hold): waits for the reply."""
        self.released = False


_NO_HOLDS: deque[Hold] = deque(maxlen=0)
"""Shared by every connection that never took a hold; ``maxlen=0`` keeps it empty even if
something appended to it by mistake."""


class OrderedOutput:
    """Holds of one connection, oldest first, and the output waiting behind them.

    ``emit`` writes bytes out for real (the transport's buffer). While no hold is pending,
    ``active`` is False and senders call ``emit`` directly: the common path costs one attribute test.
    """

    __slots__ = ("_emit", "_lists", "_holds", "_writing", "active", "held_bytes")

    def __init__(self, emit: Callable[[bytes], None] | Callable[[bytes | list[bytes]], None], lists: bool = False) -> None:
        self._emit = emit
        self._lists = lists
        """``emit`` also takes a list: what waited behind a hold (under load, every line others
        sent during a commit window) goes out in one call instead of line by line. A flag, not a
        second callable: a bound method per connection would cost idle connections 64 bytes."""
        self._holds: deque[Hold] = _NO_HOLDS  # a deque from the first hold on (an empty one is
        # 760 bytes: a quarter of an idle connection's memory)
        self._writing: Hold | None = None
        self.active = False
        """True while output must go through ``take`` (a hold is pending or being released)."""
        self.held_bytes = 0
        """Bytes waiting behind pending holds (they count against the sendq)."""

    def hold(self) -> Hold:
        """Reserve a place for a late reply; later output waits behind it."""
        hold = Hold()
        if self._holds is _NO_HOLDS:
            self._holds = deque()
        self._holds.append(hold)
        self.active = True
        return hold

    def take(self, data: bytes) -> None:
        """Keep ``data`` in order (call only while ``active``)."""
        if self._writing is not None:
            self._writing.reply.append(data)
        else:
            self._holds[-1].after.append(data)
        self.held_bytes += len(data)

    def feed(self, hold: Hold, data: bytes) -> None:
        """Add to a long reply before its hold is released (history sent as the socket drains).

        The oldest hold's reply goes out at once; a later hold's waits in order like the rest."""
        if self._holds and self._holds[0] is hold:
            self._emit(data)
        else:
            hold.reply.append(data)
            self.held_bytes += len(data)

    def first(self) -> Hold | None:
        """The oldest pending hold (its reply may go out now)."""
        return self._holds[0] if self._holds else None

    def release(self, hold: Hold, write: Callable[[], None] | None = None) -> None:
        """Fill ``hold`` with what ``write`` sends, then emit everything no longer waiting.

        A hold released out of order (a later one first) keeps its reply until the older ones
        are released too. Releasing twice does nothing.
        """
        if hold.released:
            return
        if write is not None:
            outer, self._writing = self._writing, hold
            self.active = True
            try:
                write()
            finally:
                self._writing = outer
        hold.released = True
        self._drain()

    def _drain(self) -> None:
        holds = self._holds
        while holds:
            first = holds[0]
            if not first.released:
                if first.reply:  # a long reply being fed: what is there may go out now
                    reply, first.reply = first.reply, []
                    self._emit_all(reply)
                break
            holds.popleft()
            self._emit_all(first.reply)
            self._emit_all(first.after)
        self.active = bool(holds) or self._writing is not None

    def _emit_all(self, part: list[bytes]) -> None:
        if not part:
            return
        if self._lists and len(part) > 1:
            self.held_bytes -= sum(map(len, part))
            self._emit(part)  # type: ignore[arg-type]
            return
        for data in part:
            self.held_bytes -= len(data)
            self._emit(data)

    def flush_all(self) -> list[bytes]:
        """Everything held, in order, dropping the holds (the connection is closing)."""
        out: list[bytes] = []
        for hold in self._holds:
            out.extend(hold.reply)
            out.extend(hold.after)
        self._holds.clear()
        self.held_bytes = 0
        self.active = self._writing is not None
        return out

    @property
    def pending(self) -> int:
        """Holds not yet released."""
        return len(self._holds)
