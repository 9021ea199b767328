"""The one token bucket (server flood control, gateway per-socket and per-address limits), in memory:
the clock is a number the test passes."""

from __future__ import annotations

from tcp_server.protocol import KeyedBuckets, TokenBucket


def test_burst_then_refused_with_the_wait_until_the_next_token() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, now=100.0)
    assert [bucket.take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(100.0) == 0.5  # one token per 0.5 s at 2/s
    assert bucket.take(100.25) == 0.25  # a refusal takes nothing: half a token has refilled
    assert bucket.take(100.5) == 0.0


def test_refill_is_capped_at_the_burst() -> None:
    bucket = TokenBucket(rate=10.0, burst=2, now=0.0)
    assert bucket.allow(0.0) and bucket.allow(0.0) and not bucket.allow(0.0)
    assert [bucket.allow(1000.0) for _ in range(3)] == [True, True, False]


def test_exempt_is_always_allowed_and_empties_the_bucket() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=0.0)
    assert bucket.take(0.0) == 0.0
    assert [bucket.take(0.0, exempt=True) for _ in range(5)] == [0.0] * 5
    assert bucket.take(0.0) == 1.0  # the exempt lines left no allowance behind
    assert bucket.tokens == 0.0


def test_rate_zero_means_unlimited() -> None:
    bucket = TokenBucket(rate=0, burst=1, now=0.0)
    assert all(bucket.allow(0.0) for _ in range(1000))


def test_reserve_hands_out_future_tokens_in_order() -> None:
    bucket = TokenBucket(rate=2.0, burst=1, now=0.0)
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0) == 0.5  # the next token, at 0.5, is this caller's
    assert bucket.reserve(0.0) == 1.0  # and the one after that
    assert bucket.take(1.0) == 0.5  # at 1.0 both are spent: the next is free at 1.5
    assert bucket.take(1.5) == 0.0


def test_keyed_buckets_are_per_key_and_bounded() -> None:
    buckets = KeyedBuckets(rate=1.0, burst=2, max_keys=3)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 1.0]
    assert buckets.take("b", 0.0) == 0.0  # another address has its own allowance
    for key in ("c", "d"):  # more addresses than kept: the least recently seen ("a") goes
        buckets.take(key, 0.0)
    assert len(buckets) == 3
    assert buckets.take("a", 0.0) == 0.0  # forgotten, so full again (errs towards allowing)
    assert KeyedBuckets(rate=0, burst=1, max_keys=1).take("a", 0.0) == 0.0
