"""Password-guessing limits for OPER (and SASL, PASS, REGISTER): counted before the hash runs.

A password check costs a memory-hard hash (milliseconds of CPU). Counting only the failures after
the hash lets a guesser run many checks in parallel before the first failure is counted, and running
the hash on the event loop lets a guesser stall everyone. So every attempt is counted when it is
admitted, before its hash starts (a success gives its count back), at most a few checks of one
address and one per connection run at once, the total waiting for the hash workers is bounded,
and a connection that keeps failing is disconnected. Pure bookkeeping: the clock is passed in.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from ..protocol import KeyedBuckets

MAX_TRACKED_ADDRESSES = 10_000
"""Addresses whose attempts are remembered; the least recently seen is forgotten first."""


@dataclass(frozen=True)
class GuardLimits:
    """The limits, from ``ServerSettings`` (see the settings of the same names)."""

    attempts_per_ip: int = 10
    window: float = 60.0
    failures_per_connection: int = 3
    in_flight_per_ip: int = 2
    in_flight_total: int = 32


class AttemptGuard:
    """Admits or refuses password checks; tells when a connection has failed too often."""

    def __init__(self, limits: GuardLimits) -> None:
        self.limits = limits
        self._attempts: OrderedDict[str, deque[float]] = OrderedDict()
        self._in_flight_ip: dict[str, int] = {}
        self._in_flight_conn: set[int] = set()
        self._failures: dict[int, int] = {}
        self.in_flight = 0
        self.refused = 0
        """Attempts refused without checking (for metrics and tests)."""

    def _recent(self, addr: str, now: float) -> deque[float]:
        times = self._attempts.get(addr)
        if times is None:
            times = self._attempts[addr] = deque()
        else:
            self._attempts.move_to_end(addr)
        while times and now - times[0] >= self.limits.window:
            times.popleft()
        while len(self._attempts) > MAX_TRACKED_ADDRESSES:
            self._attempts.popitem(last=False)
        return times

    def admit(self, conn: int, addr: str, now: float) -> float | None:
        """Count one attempt; None when it may run now, else seconds to wait (refused)."""
        limits = self.limits
        times = self._recent(addr, now)
        busy = (
            conn in self._in_flight_conn
            or self._in_flight_ip.get(addr, 0) >= limits.in_flight_per_ip
            or self.in_flight >= limits.in_flight_total
        )
        if len(times) >= limits.attempts_per_ip:
            self.refused += 1
            return max(1.0, limits.window - (now - times[0]))
        if busy:
            self.refused += 1
            return 1.0
        times.append(now)
        self._in_flight_conn.add(conn)
        self._in_flight_ip[addr] = self._in_flight_ip.get(addr, 0) + 1
        self.in_flight += 1
        return None

    def finish(self, conn: int, addr: str, ok: bool) -> bool:
        """Record the outcome of an admitted check; True when the connection must be dropped."""
        self._in_flight_conn.discard(conn)
        left = self._in_flight_ip.get(addr, 1) - 1
        if left > 0:
            self._in_flight_ip[addr] = left
        else:
            self._in_flight_ip.pop(addr, None)
        self.in_flight -= 1
        if ok:
            times = self._attempts.get(addr)
            if times:
                times.pop()  # a success gives its attempt back
            self._failures.pop(conn, None)
            return False
        failures = self._failures.get(conn, 0) + 1
        self._failures[conn] = failures
        return failures >= self.limits.failures_per_connection

    def refused_attempt(self, conn: int) -> bool:
        """A refused attempt counts as a failure of its connection; True when it must be dropped
        (a client that keeps guessing while refused is not kept around)."""
        failures = self._failures.get(conn, 0) + 1
        self._failures[conn] = failures
        return failures >= self.limits.failures_per_connection

    def forget(self, conn: int) -> None:
        """The connection is gone: drop its failure count."""
        self._failures.pop(conn, None)


class ConnectThrottle:
    """New connections per address: a token bucket each (``burst`` at once, ``rate`` per second).

    A client dropped for guessing (or anything else) that reconnects at once, again and again, costs
    a registration burst each time; this bounds how often one address may start over.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self._buckets = KeyedBuckets(rate, burst, MAX_TRACKED_ADDRESSES)

    def allow(self, addr: str, now: float) -> bool:
        """Take one connection from ``addr``'s bucket; False when it is empty (rate 0 = always)."""
        return self._buckets.take(addr, now) == 0.0
