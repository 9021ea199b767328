"""Scenarios about holding many connections: ``connect`` (a burst of registrations) and ``idle``."""

from __future__ import annotations

import asyncio
import time

from .loadclient import LoadClient, Shared
from .procstat import rss_bytes
from .scenarios import HOST, SETTLE, Params, Probe, close_clients, open_clients


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
    """N idle registered clients: RSS per connection and the server's CPU while nothing happens."""
    shared = Shared()
    rss0 = rss_bytes(pid)
    n = p.idle_clients
    clients = await open_clients(port, n, shared, prefix="i", tagged_fraction=0, full=None)
    try:
        await asyncio.sleep(SETTLE * 3)
        rss = rss_bytes(pid)
        probe = Probe(pid)
        await asyncio.sleep(p.idle_seconds)
        res: dict[str, object] = probe.stop()
        res.update(
            clients=n,
            registered=sum(1 for c in clients if not c.closed),
            rss_per_conn_kib=round((rss - rss0) / 1024 / n, 2),
            errors=shared.errors[:5],
        )
        return res
    finally:
        close_clients(clients)
