"""``python -m bench.cluster``: fan-out on one node alone, on 1 node + Redis, on 3 nodes + Redis.

Same run, same clients (spread evenly over the nodes, senders too), the median of ``--runs``
interleaved runs per setup, one JSON line: deliveries/s,
p50/p99 latency (on the full receivers), loss, CPU per delivery of each node and Redis's CPU
(from /proc of the redis-server pid). Every node is a ``tcpchat server`` child process; Redis
is a private ``redis-server`` on a free port, killed after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from .loadclient import LoadClient, Shared
from .procstat import cpu_seconds, raise_fd_limit
from .report import interleaved_medians
from .scenarios import _drain, _latency, _pad, _send_window, close_clients, join_all

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _start_redis() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (scripts/system-deps)")
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return proc, f"redis://{HOST}:{port}/0"
        except OSError:
            time.sleep(0.01)
    proc.kill()
    raise SystemExit("redis-server did not start")


def _start_node(redis_url: str | None, node: str) -> tuple[subprocess.Popen[str], int]:
    args = [sys.executable, "-m", "tcpchat", "server", "--port", "0", "--no-history", "--flood-rate", "0",
            "--max-clients-per-ip", "0", "--connect-rate-per-ip", "0", "--log-level", "WARNING"]
    if redis_url:
        args += ["--redis-url", redis_url, "--node-id", node]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    assert proc.stdout is not None
    match = re.search(r"listening on [^ ]+:(\d+)", proc.stdout.readline())
    if not match:
        proc.kill()
        raise SystemExit(f"node {node} did not start")
    return proc, int(match.group(1))


async def _open(ports: list[int], n: int, shared: Shared, full: set[int]) -> list[LoadClient]:
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(10)

    async def one(i: int) -> LoadClient:
        async with sem:
            client = LoadClient(f"c{i}", shared, full=i in full, tagged=i % 2 == 0)
            await loop.create_connection(lambda: client, HOST, ports[i % len(ports)])
            await client.registered
            return client

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def _fanout(ports: list[int], pids: dict[str, int], a: argparse.Namespace) -> dict[str, object]:
    shared = Shared()
    shared.set_senders(a.senders)
    full = set(range(a.senders, a.senders + a.full_receivers))  # full receivers on every node
    clients = await _open(ports, a.clients, shared, full)
    try:
        await join_all(clients, ["#bench"] * len(clients))
        await asyncio.sleep(0.5 + 0.002 * a.clients)  # the JOINs' cross-node traffic drains
        for c in clients:
            c.count = 0
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        t0 = time.monotonic()
        pad = _pad(64)
        sent = sum(await asyncio.gather(*(
            _send_window(clients[i], i, "#bench", a.messages, a.window, pad, shared) for i in range(a.senders)
        )))
        expected = sent * (a.clients - 1)
        received = await _drain(clients, expected)
        end = shared.last_rx_ns / 1e9 if shared.last_rx_ns else time.monotonic()
        elapsed = end - t0
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
    finally:
        close_clients(clients)
    nodes = {k: v for k, v in cpu.items() if k != "redis"}
    return {
        "nodes": len(ports), "clients": a.clients, "senders": a.senders, "sent": sent,
        "expected": expected, "received": received, "lost": expected - received,
        "out_of_order": shared.out_of_order, "elapsed_s": round(elapsed, 3),
        "deliveries_per_s": round(received / elapsed) if elapsed > 0 else 0,
        **_latency(shared),
        "cpu_us_per_delivery_per_node": {k: round(v * 1e6 / max(1, received), 3) for k, v in nodes.items()},
        "cpu_us_per_delivery_all_nodes": round(sum(nodes.values()) * 1e6 / max(1, received), 3),
        "redis_cpu_pct": round(100 * cpu["redis"] / elapsed, 1) if "redis" in cpu and elapsed > 0 else None,
        "redis_cpu_us_per_message": round(cpu["redis"] * 1e6 / max(1, sent), 2) if "redis" in cpu else None,
        "errors": shared.errors[:3],
    }


def run_config(count: int, use_redis: bool, a: argparse.Namespace) -> dict[str, object]:
    """Start ``count`` nodes (and Redis), run one fan-out, stop everything."""
    procs: list[subprocess.Popen[str] | subprocess.Popen[bytes]] = []
    pids: dict[str, int] = {}
    try:
        url = None
        if use_redis:
            redis, url = _start_redis()
            procs.append(redis)
            pids["redis"] = redis.pid
        ports = []
        for i in range(count):
            proc, port = _start_node(url, f"n{i + 1}")
            procs.append(proc)
            pids[f"n{i + 1}"] = proc.pid
            ports.append(port)
        return asyncio.run(asyncio.wait_for(_fanout(ports, pids, a), a.timeout))
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def fanout_args(prog: str, description: str, clients: int, messages: int) -> argparse.ArgumentParser:
    """The options of a cluster fan-out run (shared by ``bench.cluster`` and ``bench.rediscluster``)."""
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("--clients", type=int, default=clients)
    ap.add_argument("--senders", type=int, default=6)
    ap.add_argument("--messages", type=int, default=messages, help="per sender")
    ap.add_argument("--runs", type=int, default=3, help="interleaved runs per setup; the median is reported")
    ap.add_argument("--window", type=int, default=40)
    ap.add_argument("--full-receivers", type=int, default=6)
    ap.add_argument("--timeout", type=float, default=40.0)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = fanout_args("python -m bench.cluster", __doc__.splitlines()[0], clients=150, messages=1000)
    a = ap.parse_args(argv)
    raise_fd_limit(a.clients * 4 + 200)
    setups = {"alone": (1, False), "1-node+redis": (1, True), "3-nodes+redis": (3, True)}
    results = interleaved_medians(
        {name: (lambda count=count, use_redis=use_redis: run_config(count, use_redis, a))
         for name, (count, use_redis) in setups.items()},
        a.runs,
    )
    base = results["alone"]["deliveries_per_s"] or 1
    summary = {
        "scenario": "cluster-fanout", "results": results,
        "ratios_vs_alone": {k: round(v["deliveries_per_s"] / base, 3) for k, v in results.items()},  # type: ignore[operator]
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
