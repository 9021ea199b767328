"""Output helpers of the transport: one write per connection per loop turn, and long replies
sent as the socket drains.

``OutputFlusher`` coalesces: ``Connection.send`` appends to the connection's buffer and marks it;
one callback per event-loop turn writes every marked buffer once. ``PacedReplies`` sends a long
reply (a CHATHISTORY batch) into its reserved place in the output at most ``chunk`` bytes ahead of
what the socket has taken, continuing on ``resume_writing``: nothing polls, and a big reply never
trips the sendq of a client that reads.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state.ordering import Hold, OrderedOutput
    from .transport import Connection


class OutputFlusher:
    """Writes every dirty connection's buffer once per event-loop turn.

    The write happens one turn after the first line was queued: the turn in between polls the
    sockets without waiting (a callback is ready), so input that arrived meanwhile is handled
    and its output joins the same write. Under load a connection's lines then go out in fewer,
    bigger writes (each loopback ``send`` costs as much kernel time as a few lines of Python);
    when idle the extra turn is one poll that returns at once.
    """

    __slots__ = ("_loop", "_dirty", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._dirty: list[Connection] = []
        self._scheduled = False

    def mark(self, conn: Connection) -> None:
        """Remember ``conn`` for the next flush, scheduling one if needed."""
        self._dirty.append(conn)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._arm)

    def _arm(self) -> None:
        """Flush in the next turn, after its poll (see the class docstring)."""
        self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write all pending output (called by the loop)."""
        self._scheduled = False
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            conn.flush()


class PacedReplies:
    """Long replies of one connection (``Connection`` mixes this in; the attributes are its own)."""

    __slots__ = ()
    paced: deque[tuple[Hold, deque[bytes], Callable[[], None] | None]] | None
    order: OrderedOutput
    transport: asyncio.Transport | None
    out_bytes: int
    chunk: int
    closing: bool
    overflowed: bool

    def flush(self) -> None:  # the Connection's
        raise NotImplementedError

    def regate(self) -> None:  # the Connection's
        raise NotImplementedError

    def release_paced(self, hold: Hold, lines: Iterable[bytes], done: Callable[[], None] | None = None) -> None:
        """Release ``hold`` with ``lines``, at most ``chunk`` bytes in the socket's buffer at a time."""
        if self.closing or self.overflowed:
            return
        if self.paced is None:
            self.paced = deque()
        self.paced.append((hold, deque(lines), done))
        self._pump()

    def _pump(self) -> None:
        """Feed paced replies while the socket's buffer is under ``chunk`` bytes.

        Over it, the transport has called ``pause_writing``; ``resume_writing`` (the buffer
        drained to a quarter) pumps again. A reply whose hold is not first waits for
        ``release`` of the older ones. Nothing polls.
        """
        paced = self.paced
        while paced and not (self.closing or self.overflowed):
            hold, lines, done = paced[0]
            if self.order.first() is not hold:
                return
            transport = self.transport
            while lines:
                if transport is None:
                    return
                if self.out_bytes + transport.get_write_buffer_size() > self.chunk:
                    self.flush()  # hand it to the kernel; what it does not take stays buffered
                    if self.closing or self.overflowed or transport.get_write_buffer_size() > self.chunk:
                        return
                self.order.feed(hold, lines.popleft())
            paced.popleft()
            self.order.release(hold)
            if done is not None:
                done()
        if paced is not None and not paced and self.paced is paced:
            self.paced = None
        self.regate()

    def resume_writing(self) -> None:
        """The socket drained below low water: continue any paced reply."""
        if self.paced:
            self._pump()
