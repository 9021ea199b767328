"""The load generator's full receivers: the one-regex pass over a read of PRIVMSG lines counts
and checks (order, tags, latency samples, acknowledgements) exactly as checking line by line."""

from __future__ import annotations

import random

from bench.loadclient import LoadClient, Shared, stamp


def received(tags_on: bool, seed: int) -> bytes:
    """A read as a server sends it: stamped lines from a few senders, some out of order, some
    with tags and some without, one not ours."""
    rng = random.Random(seed)
    seqs = [0, 0, 0]
    lines = []
    for _ in range(rng.randint(1, 40)):
        sender = rng.randrange(3)
        seqs[sender] += rng.choice((1, 1, 1, 2, 0))
        tags = rng.choice((b"@time=2026-01-01T00:00:00.000Z;msgid=a-1 ", b"@time=x ", b""))
        text = stamp(sender, seqs[sender], 1000 + rng.randrange(100), "x" * rng.randrange(3)).encode()
        if rng.random() < 0.05:
            text = b"hello, not a stamp"
        lines.append(tags + b":s" + str(sender).encode() + b"!u@h PRIVMSG #r :" + text + b"\r\n")
    return b"".join(lines)


def receiver(tags_on: bool) -> tuple[LoadClient, Shared]:
    shared = Shared()
    shared.set_senders(3)
    client = LoadClient("r", shared, full=True, tagged=tags_on)
    client.setup = False
    client.tags_on = tags_on
    return client, shared


async def test_one_pass_checks_what_the_line_by_line_check_does():
    for seed in range(200):
        tags_on = seed % 2 == 0
        data = received(tags_on, seed)
        fast, fast_shared = receiver(tags_on)
        slow, slow_shared = receiver(tags_on)
        fast.data_received(data)  # only PRIVMSG lines: the one-pass path
        slow._lines(data.split(b"\r\n"))
        assert fast.count == slow.count == data.count(b"\r\n")
        assert fast.last_seq == slow.last_seq
        for name in ("acked", "out_of_order", "bad_tags"):
            assert getattr(fast_shared, name) == getattr(slow_shared, name), (seed, name)
        # the same samples (each is receipt time minus the stamp; the two passes ran at two times)
        shifts = {f - s for f, s in zip(sorted(fast_shared.latencies_ns), sorted(slow_shared.latencies_ns), strict=True)}
        assert len(shifts) <= 1
        assert fast_shared.pending == slow_shared.pending  # the senders whose window moved


async def test_a_read_with_other_lines_is_still_checked_and_answered():
    client, shared = receiver(False)
    sent: list[bytes] = []
    client.send = sent.append  # type: ignore[method-assign]
    client.data_received(b":s!u@h PRIVMSG #r :0 1 5 x\r\nPING :abc\r\n:s!u@h PRIVMSG #r :0 2 5 x\r\n")
    assert client.count == 2 and shared.acked[0] == 2 and shared.out_of_order == 0
    assert sent == [b"PONG :abc\r\n"]
