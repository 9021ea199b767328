"""Scenarios about holding many connections: ``connect`` (a burst of registrations) and ``idle``."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from .loadclient import LoadClient, Shared
from .procstat import fd_limit, rss_bytes
from .scenarios import HOST, SETTLE, Params, Probe, close_clients, open_clients
from .targets import ROOT


async def connect(port: int, pid: int, p: Params) -> dict[str, object]:
    """C registrations started at once: connections/s and server RSS per connection."""
    shared = Shared()
    rss0 = rss_bytes(pid)
    probe = Probe(pid)
    n = p.connect_clients
    done_at: list[float] = []
    results = await asyncio.gather(
        *(
            asyncio.wait_for(_one_registration(port, f"c{i}", shared, done_at), p.connect_timeout)
            for i in range(n)
        ),
        return_exceptions=True,
    )
    clients = [r for r in results if isinstance(r, LoadClient)]
    try:
        res: dict[str, object] = probe.stop(max(done_at) if done_at else None)
        elapsed = float(res["elapsed_s"])  # type: ignore[arg-type]
        rss = rss_bytes(pid)
        res.update(
            clients=n,
            registered=len(clients),
            not_registered=n - len(clients),
            conns_per_s=round(len(clients) / elapsed) if elapsed > 0 else 0,
            rss_per_conn_kib=round((rss - rss0) / 1024 / max(1, len(clients)), 2),
            errors=shared.errors[:5] + sorted({repr(r) for r in results if isinstance(r, BaseException)})[:3],
        )
        return res
    finally:
        close_clients(clients)


async def _one_registration(port: int, nick: str, shared: Shared, done_at: list[float]) -> LoadClient:
    loop = asyncio.get_running_loop()
    client = LoadClient(nick, shared, full=True, tagged=False)
    try:
        await loop.create_connection(lambda: client, HOST, port)
        await client.registered
    except BaseException:
        client.close()
        raise
    done_at.append(time.monotonic())
    return client


async def idle(port: int, pid: int, p: Params) -> dict[str, object]:
    """N idle registered clients: RSS per connection and the server's CPU while nothing happens.

    Up to ``idle_per_process`` clients live in this process; more are spread over generator
    processes (``bench.idle_worker``), one 127.0.0.x source address each.
    """
    shared = Shared()
    rss0 = rss_bytes(pid)
    n = wanted = p.idle_clients
    limit = fd_limit(pid)
    if limit is not None and n > limit - SERVER_FD_RESERVE:  # it could not accept them all
        n = limit - SERVER_FD_RESERVE
    workers: list[asyncio.subprocess.Process] = []
    clients: list[LoadClient] = []
    try:
        t0 = time.monotonic()
        if n <= p.idle_per_process:
            clients = await open_clients(port, n, shared, prefix="i", tagged_fraction=0, full=None)
            registered, errors = sum(1 for c in clients if not c.closed), shared.errors[:5]
        else:
            workers, registered, errors = await _start_workers(port, n, p)
        setup_s = time.monotonic() - t0
        await asyncio.sleep(SETTLE * 3)
        rss = rss_bytes(pid)
        probe = Probe(pid)
        await asyncio.sleep(p.idle_seconds)
        res: dict[str, object] = probe.stop()
        res.update(
            clients=n,
            registered=registered,
            not_registered=n - registered,
            rss_per_conn_kib=round((rss - rss0) / 1024 / max(1, registered), 2),
            generator_processes=max(1, len(workers)),
            setup_s=round(setup_s, 1),
            server_fd_limit=limit,
            errors=errors,
        )
        if n < wanted:
            res["capped"] = f"{wanted} asked, {n} run: the server's open-file limit is {limit}"
        return res
    finally:
        close_clients(clients)
        await _stop_workers(workers)


async def _start_workers(port: int, n: int, p: Params) -> tuple[list[asyncio.subprocess.Process], int, list[str]]:
    """Start the generator processes; returns them, how many clients registered, and errors."""
    count = -(-n // p.idle_per_process)
    sizes = [n // count + (1 if k < n % count else 0) for k in range(count)]
    workers = []
    for k, size in enumerate(sizes):
        workers.append(
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.idle_worker", "--port", str(port),
                "--source", f"127.0.0.{WORKER_ADDRESS_BASE + k}", "--count", str(size),
                "--prefix", f"i{k}x", "--concurrency", str(p.idle_concurrency),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
            )
        )
    registered, errors = 0, []
    for worker in workers:
        assert worker.stdout is not None
        line = await worker.stdout.readline()
        try:
            report = json.loads(line)
        except ValueError:
            errors.append(f"worker {worker.pid} said {line[:200]!r}")
            continue
        registered += int(report["registered"])
        errors.extend(report["errors"])
    return workers, registered, errors[:5]


async def _stop_workers(workers: list[asyncio.subprocess.Process]) -> None:
    for worker in workers:
        if worker.stdin is not None:
            worker.stdin.close()
    for worker in workers:
        try:
            await asyncio.wait_for(worker.wait(), WORKER_STOP_TIMEOUT)
        except TimeoutError:
            worker.kill()
            await worker.wait()


SERVER_FD_RESERVE = 100
"""Descriptors a server keeps for other things than clients (listeners, logs, store)."""
WORKER_ADDRESS_BASE = 10
"""Generator process k connects from 127.0.0.(10 + k)."""
WORKER_STOP_TIMEOUT = 20.0
"""Seconds a generator process may take to close its connections and exit."""
