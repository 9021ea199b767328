"""The one token bucket: the server's flood control, the gateway's per-socket and per-address limits.

Sans-I/O: the caller passes the time (``loop.time()``, ``time.monotonic()``, or a number in a
test), so the bucket reads no clock and schedules nothing. Waiting, refusing or disconnecting is
the caller's decision; the bucket only says how long until the next token.
"""

from __future__ import annotations

from collections import OrderedDict


class TokenBucket:
    """``burst`` tokens at once, refilled at ``rate`` per second (``rate`` 0 = unlimited).

    Each allowed action takes one token. ``take`` answers 0.0 (allowed, a token was taken) or the
    seconds until a token will be there (refused, nothing taken).
    """

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float, *, exempt: bool = False) -> float:
        """Take one token at time ``now``: 0.0 when allowed, else the seconds until one is there.

        ``exempt`` (an IRC operator, say) is always allowed; it still empties the bucket, never
        below zero, so the allowance it used is not handed out again.
        """
        rate = self.rate
        if rate <= 0:
            return 0.0
        tokens = self.tokens + (now - self.stamp) * rate
        self.stamp = now
        if tokens > self.burst:
            tokens = self.burst
        if tokens >= 1:
            self.tokens = tokens - 1
            return 0.0
        if exempt:
            self.tokens = 0.0
            return 0.0
        self.tokens = tokens
        return (1 - tokens) / rate

    def reserve(self, now: float) -> float:
        """Take one token at time ``now`` or, when there is none, the next one to come.

        Returns the seconds until the token is the caller's (0.0 = now). A reserved token is
        spent in advance, so later callers queue behind it: a request that waits its turn does
        not have to ask again.
        """
        wait = self.take(now)
        if wait:
            self.tokens, self.stamp = 0.0, now + wait
        return wait

    def allow(self, now: float) -> bool:
        """Take one token at time ``now``; False (nothing taken) when the bucket is empty."""
        return self.take(now) == 0.0


class KeyedBuckets:
    """A :class:`TokenBucket` per key (a client address), made full on first sight.

    At most ``max_keys`` buckets are kept; the least recently used is forgotten first (it comes
    back full, which only ever errs towards allowing), so memory stays bounded under a spray of
    addresses.
    """

    __slots__ = ("rate", "burst", "max_keys", "_buckets")

    def __init__(self, rate: float, burst: float, max_keys: int) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """Take one token from ``key``'s bucket: 0.0 when allowed, else seconds until one is there."""
        if self.rate <= 0:
            return 0.0
        bucket = self._buckets.pop(key, None) or TokenBucket(self.rate, self.burst, now)
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return bucket.take(now)

    def __len__(self) -> int:
        return len(self._buckets)
