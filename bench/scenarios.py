"""Benchmark scenarios: each drives one running server and returns a dict of measurements.

All scenarios are bounded in count (messages, clients) and in time (``deadline``); loopback only.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from .loadclient import LoadClient, Shared, WindowSender, keepalive, read_ticker, stamp
from .procstat import own_cpu_seconds, rss_bytes, syscalls, tree_cpu_seconds

HOST = "127.0.0.1"
SETUP_CONCURRENCY = 10
"""Registrations in flight while setting up (ngircd listens with a backlog of 10; connect
scenario aside, setup must not overflow it or SYN retries stall the run for seconds)."""
SETTLE = 0.3
"""Seconds to let join/registration traffic drain before measuring."""
STALL_TIMEOUT = 5.0
"""Seconds without progress after which a sender or the drain gives up (counted as loss)."""


@dataclass
class Params:
    """Sizes of every scenario (``--quick`` and the CLI flags fill it)."""

    clients: int = 500
    senders: int = 10
    messages: int = 2000
    """Messages per sender in fanout; per client in rooms."""
    window: int = 40
    """Messages a sender may have in flight (keeps every server under its send queue)."""
    rooms: int = 50
    room_messages: int = 400
    room_window: int = 3
    """In-flight messages per sender in rooms: ngircd handles 3 commands per client per loop
    turn and leaves the rest waiting for the next I/O event, so deeper pipelines stall it."""
    size: int = 64
    """Bytes of text per message (stamp plus padding)."""
    light: bool = True
    full_receivers: int = 10
    read_tick_ms: float = 5.0
    """Light receivers read at most once per tick (0 = on every wakeup): fewer, bigger reads
    keep the generator from being the bottleneck; latency is measured on full receivers."""
    tagged_fraction: float = 0.5
    """Share of clients that negotiate message-tags + server-time."""
    latency_clients: int = 100
    latency_rate: int = 5000
    """Offered deliveries/s in the latency scenario."""
    latency_senders: int = 5
    latency_seconds: float = 3.0
    connect_clients: int = 2000
    connect_timeout: float = 20.0
    """Registrations not finished by then count as failed (a small listen backlog drops SYNs)."""
    idle_clients: int = 10_000
    idle_seconds: float = 3.0
    idle_per_process: int = 15_000
    """Idle clients one generator process holds; more clients use several processes (each under
    its open-file limit, each from its own 127.0.0.x address so none runs out of ports)."""
    idle_concurrency: int = 50
    """Registrations in flight per generator process in a multi-process idle run."""
    gateway_users: int = 200
    gateway_messages: int = 300
    timeout: float = 60.0
    """Hard bound on one measurement, setup included."""


class Probe:
    """CPU and RSS of the server and CPU of the generator between ``start`` and ``stop``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.t0 = time.monotonic()
        self.cpu0 = tree_cpu_seconds(pid)
        self.gen0 = own_cpu_seconds()
        self.io0 = syscalls(pid)

    def stop(self, end: float | None = None) -> dict[str, float]:
        elapsed = (end or time.monotonic()) - self.t0
        own, kids = (b - a for a, b in zip(self.cpu0, tree_cpu_seconds(self.pid), strict=True))
        cpu = own + kids  # the server's child processes (the SQLite writer) count too
        gen = own_cpu_seconds() - self.gen0
        reads, writes = (b - a for a, b in zip(self.io0, syscalls(self.pid), strict=True))
        return {
            "elapsed_s": round(elapsed, 4),
            "server_cpu_s": round(cpu, 4),
            "server_cpu_pct": round(100 * cpu / elapsed, 1) if elapsed > 0 else 0.0,
            "server_children_cpu_s": round(kids, 4),
            "gen_cpu_s": round(gen, 4),
            "gen_cpu_pct": round(100 * gen / elapsed, 1) if elapsed > 0 else 0.0,
            "server_rss_kib": rss_bytes(self.pid) // 1024,
            "server_reads": reads,
            "server_writes": writes,
        }


async def open_clients(
    port: int,
    n: int,
    shared: Shared,
    *,
    prefix: str,
    tagged_fraction: float,
    full: set[int] | None,
    concurrency: int = SETUP_CONCURRENCY,
) -> list[LoadClient]:
    """Connect and register ``n`` clients (``full``: indexes that parse every line; None = all)."""
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(concurrency)
    every = round(1 / tagged_fraction) if tagged_fraction > 0 else 0

    async def one(i: int) -> LoadClient:
        async with sem:
            client = LoadClient(
                f"{prefix}{i}",
                shared,
                full=full is None or i in full,
                tagged=bool(every) and i % every == 0,
            )
            await loop.create_connection(lambda: client, HOST, port)
            await client.registered
            return client

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def join_all(clients: list[LoadClient], rooms: list[str]) -> None:
    sem = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(client: LoadClient, room: str) -> None:
        async with sem:
            await client.join(room)

    await asyncio.gather(*(one(c, r) for c, r in zip(clients, rooms, strict=True)))
    for client in clients:
        client.setup = False  # from now on light receivers only count


def _pad(size: int) -> str:
    return "x" * max(1, size - 32)


async def _send_window(
    client: LoadClient, idx: int, room: str, count: int, window: int, pad: str, shared: Shared
) -> int:
    """Send ``count`` stamped messages as fast as the window allows; returns how many were sent.

    The sending itself happens in ``WindowSender.pump`` (called as acknowledgements arrive);
    this only starts it and waits for the end, or STALL_TIMEOUT without progress.
    """
    sender = WindowSender(client, idx, room, count, window, pad, shared)
    sender.pump()
    last = -1
    while not sender.finished.done() and not client.closed:
        if sender.seq == last and shared.acked[idx] < sender.seq:
            shared.errors.append(f"sender {idx} stalled at {sender.seq}")
            break
        last = sender.seq
        await asyncio.wait([sender.finished], timeout=STALL_TIMEOUT)
    shared.windows[idx] = None
    return sender.seq


async def _drain(clients: list[LoadClient], expected: int) -> int:
    """Wait until ``expected`` deliveries arrived or nothing moved for STALL_TIMEOUT."""
    last, since = -1, time.monotonic()
    while True:
        got = sum(c.count for c in clients)
        if got >= expected:
            return got
        if got != last:
            last, since = got, time.monotonic()
        elif time.monotonic() - since > STALL_TIMEOUT:
            return got
        await asyncio.sleep(0.005)


def _latency(shared: Shared) -> dict[str, float | None]:
    lat = sorted(shared.latencies_ns)
    if not lat:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None, "samples": 0}
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [lat[0]] * 99
    return {
        "p50_ms": round(q[49] / 1e6, 3),
        "p99_ms": round(q[98] / 1e6, 3),
        "max_ms": round(lat[-1] / 1e6, 3),
        "samples": len(lat),
    }


def _relay_result(
    probe: Probe, shared: Shared, clients: list[LoadClient], sent: int, expected: int, received: int
) -> dict[str, object]:
    end = shared.last_rx_ns / 1e9 if shared.last_rx_ns else time.monotonic()
    res: dict[str, object] = probe.stop(end)
    elapsed = float(res["elapsed_s"])  # type: ignore[arg-type]
    res.update(
        sent=sent,
        expected=expected,
        received=received,
        lost=expected - received,
        deliveries_per_s=round(received / elapsed) if elapsed > 0 else 0,
        server_cpu_us_per_delivery=(
            round(float(res["server_cpu_s"]) * 1e6 / received, 3) if received else None  # type: ignore[arg-type]
        ),
        deliveries_per_write=round(received / int(res["server_writes"]), 2) if res["server_writes"] else None,  # type: ignore[call-overload]
        messages_per_read=round(sent / int(res["server_reads"]), 2) if res["server_reads"] else None,  # type: ignore[call-overload]
        out_of_order=shared.out_of_order,
        bad_tags=shared.bad_tags,
        disconnected=sum(1 for c in clients if c.closed),
        errors=shared.errors[:5],
        **_latency(shared),
    )
    return res


def _batch_reads(shared: Shared, p: Params) -> asyncio.Task[None] | None:
    if not p.light or p.read_tick_ms <= 0:
        return None
    shared.batch_reads = True
    return asyncio.create_task(read_ticker(shared, p.read_tick_ms / 1000))


def close_clients(clients: list[LoadClient], *tasks: asyncio.Task[None] | None) -> None:
    for task in tasks:
        if task is not None:
            task.cancel()
    for c in clients:
        c.close()


async def fanout(port: int, pid: int, p: Params) -> dict[str, object]:
    """C clients in one room, S of them send as fast as their window allows."""
    shared = Shared()
    shared.set_senders(p.senders)
    full = _spread(p.clients, p.full_receivers) if p.light else None
    clients = await open_clients(
        port, p.clients, shared, prefix="f", tagged_fraction=p.tagged_fraction, full=full
    )
    pinger = asyncio.create_task(keepalive(clients))
    ticker: asyncio.Task[None] | None = None
    try:
        await join_all(clients, ["#bench"] * len(clients))
        await asyncio.sleep(SETTLE)
        ticker = _batch_reads(shared, p)
        pad = _pad(p.size)
        probe = Probe(pid)
        sent = sum(
            await asyncio.gather(
                *(
                    _send_window(clients[i], i, "#bench", p.messages, p.window, pad, shared)
                    for i in range(p.senders)
                )
            )
        )
        expected = sent * (p.clients - 1)
        received = await _drain(clients, expected)
        res = _relay_result(probe, shared, clients, sent, expected, received)
        res.update(clients=p.clients, senders=p.senders, light=p.light)
        return res
    finally:
        close_clients(clients, pinger, ticker)


async def rooms(port: int, pid: int, p: Params) -> dict[str, object]:
    """C clients spread over R rooms; everyone sends (the server's parse cost dominates)."""
    shared = Shared()
    shared.set_senders(p.clients)
    names = [f"#room{i % p.rooms}" for i in range(p.clients)]
    # Two full receivers per room (the first members), so every sender has one that is not itself.
    full = set(range(min(p.clients, 2 * p.rooms))) if p.light else None
    clients = await open_clients(
        port, p.clients, shared, prefix="r", tagged_fraction=p.tagged_fraction, full=full
    )
    pinger = asyncio.create_task(keepalive(clients))
    ticker: asyncio.Task[None] | None = None
    try:
        await join_all(clients, names)
        await asyncio.sleep(SETTLE)
        ticker = _batch_reads(shared, p)
        pad = _pad(p.size)
        sizes = {n: names.count(n) for n in set(names)}
        probe = Probe(pid)
        counts = await asyncio.gather(
            *(
                _send_window(c, i, names[i], p.room_messages, p.room_window, pad, shared)
                for i, c in enumerate(clients)
            )
        )
        sent = sum(counts)
        expected = sum(n * (sizes[names[i]] - 1) for i, n in enumerate(counts))
        received = await _drain(clients, expected)
        res = _relay_result(probe, shared, clients, sent, expected, received)
        res.update(clients=p.clients, rooms=p.rooms, light=p.light)
        return res
    finally:
        close_clients(clients, pinger, ticker)


async def latency(port: int, pid: int, p: Params) -> dict[str, object]:
    """Fan-out at a fixed offered rate well below saturation.

    Latency is timed on the full receivers; in light mode the others read in batches, so the
    generator is not busy parsing 99 copies of a line while a full receiver's copy waits (that
    queueing in the generator, not the server, would otherwise dominate the p50).
    """
    shared = Shared()
    shared.set_senders(p.latency_senders)
    n = p.latency_clients
    full = _spread(n, p.full_receivers) if p.light else None
    clients = await open_clients(
        port, n, shared, prefix="l", tagged_fraction=p.tagged_fraction, full=full
    )
    pinger = asyncio.create_task(keepalive(clients))
    ticker: asyncio.Task[None] | None = None
    try:
        await join_all(clients, ["#lat"] * n)
        await asyncio.sleep(SETTLE)
        ticker = _batch_reads(shared, p)
        pad = _pad(p.size)
        per_sender = p.latency_rate / (n - 1) / p.latency_senders
        total = max(1, int(per_sender * p.latency_seconds))
        probe = Probe(pid)

        async def paced(idx: int) -> int:
            client = clients[idx]
            start = time.monotonic() + idx / (per_sender * p.latency_senders)
            for seq in range(1, total + 1):
                delay = start + (seq - 1) / per_sender - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                client.send(f"PRIVMSG #lat :{stamp(idx, seq, time.monotonic_ns(), pad)}\r\n".encode())
            return total

        sent = sum(await asyncio.gather(*(paced(i) for i in range(p.latency_senders))))
        expected = sent * (n - 1)
        received = await _drain(clients, expected)
        res = _relay_result(probe, shared, clients, sent, expected, received)
        res.update(clients=n, offered_per_s=p.latency_rate, light=p.light)
        return res
    finally:
        close_clients(clients, pinger, ticker)


def _spread(n: int, k: int) -> set[int]:
    """``k`` indexes spread evenly over ``range(n)`` (at least two)."""
    k = max(2, min(n, k))
    return {round(i * (n - 1) / (k - 1)) for i in range(k)}
