"""Chat latency during an OPER guessing storm, against the quiet figure of the same server.

``python -m bench.auth_storm [--users 10] [--rate 50] [--seconds 5] [--attackers 50] [--prev-ref REF]``
starts our server (and, with ``--prev-ref``, the server of that commit, for a before/after in the
same run), measures the delivery latency of a room of ``--users`` chatting at ``--rate`` lines/s
while quiet, then again while ``--attackers`` connections from 127.0.0.1 send wrong ``OPER``
passwords as fast as they are answered (reconnecting when dropped). Flood control and the
per-address connection limit stay at their defaults; the users connect from other 127.x addresses. Prints one JSON line: p50/p99
quiet and under the storm, their ratio, password checks answered "Password incorrect" per second
and attempts refused without a check.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import sys
import time

from .targets import OUR_RELAY_FLAGS, ROOT, Running, Worktree, start_ours

OPER_PASSWORD = "bench-oper-secret"


async def _client(
    port: int, nick: str, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, limit=2**20, local_addr=(source, 0)
    )
    writer.write(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode())
    while True:
        line = await reader.readline()
        if not line or b" 376 " in line or b" 422 " in line:
            return reader, writer


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)


async def _chat(port: int, users: int, rate: float, seconds: float, storm: int) -> dict[str, object]:
    # the users come from their own addresses (127.0.0.2, ...), the attackers all from 127.0.0.1
    members = [await _client(port, f"user{i}", f"127.0.0.{2 + i}") for i in range(users)]
    for _, w in members:
        w.write(b"JOIN #room\r\n")
    await asyncio.sleep(0.5)
    latencies: list[float] = []
    stats = {"checked": 0, "refused": 0, "dropped": 0}
    stop = asyncio.Event()

    async def listen(reader: asyncio.StreamReader) -> None:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                return
            if b" PRIVMSG #room " in line and b"t=" in line:
                sent = float(line.rsplit(b"t=", 1)[1])
                latencies.append((time.perf_counter() - sent) * 1000)

    listeners = [asyncio.create_task(listen(r)) for r, _ in members]
    # The attackers run in their own process: in this one they would slow the measuring clients.
    results: multiprocessing.Queue[dict[str, int]] = multiprocessing.Queue()
    storm_proc = multiprocessing.Process(target=_storm_process, args=(port, storm, seconds + 1.5, results))
    if storm:
        storm_proc.start()
        await asyncio.sleep(0.5)
    interval = 1 / rate
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline:
        _, w = members[i % users]
        w.write(f"PRIVMSG #room :t={time.perf_counter()}\r\n".encode())
        i += 1
        await asyncio.sleep(interval)
    await asyncio.sleep(1.0)
    stop.set()
    for task in listeners:
        task.cancel()
    for _, w in members:
        w.close()
    await asyncio.gather(*listeners, return_exceptions=True)
    if storm:
        stats = await asyncio.to_thread(results.get, True, 30)
        storm_proc.join(10)
    expected = i * (users - 1)
    return {
        "p50_ms": _pct(latencies, 0.5), "p99_ms": _pct(latencies, 0.99), "lost": expected - len(latencies),
        "checked_per_s": round(stats["checked"] / seconds, 1), "refused": stats["refused"],
        "dropped_connections": stats["dropped"],
    }


def _storm_process(port: int, attackers: int, seconds: float, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """``attackers`` connections guessing OPER passwords for ``seconds``; puts their counts."""
    stats = {"checked": 0, "refused": 0, "dropped": 0}

    async def attacker(n: int, deadline: float) -> None:
        while time.perf_counter() < deadline:
            try:
                reader, writer = await asyncio.wait_for(_client(port, f"guess{n}x{stats['dropped']}"), 5)
            except (OSError, TimeoutError):
                await asyncio.sleep(0.05)
                continue
            guess = 0
            while time.perf_counter() < deadline:
                writer.write(f"OPER admin wrong{guess}\r\n".encode())
                guess += 1
                line = await reader.readline()
                while line and b" 464 " not in line:
                    line = await reader.readline()
                if not line:
                    stats["dropped"] += 1
                    break
                stats["checked" if b"Password incorrect" in line else "refused"] += 1
            writer.close()

    async def main() -> None:
        deadline = time.perf_counter() + seconds
        tasks = [asyncio.create_task(attacker(n, deadline)) for n in range(attackers)]
        await asyncio.wait(tasks, timeout=seconds + 10)
        for t in tasks:
            t.cancel()

    asyncio.run(main())
    results.put(stats)


def _measure(start: Running, args: argparse.Namespace) -> dict[str, object]:
    try:
        quiet = asyncio.run(_chat(start.port, args.users, args.rate, args.seconds, 0))
        storm = asyncio.run(_chat(start.port, args.users, args.rate, args.seconds, args.attackers))
    finally:
        start.stop()
    ratio = storm["p99_ms"] / quiet["p99_ms"] if quiet["p99_ms"] else None  # type: ignore[operator]
    return {"quiet": quiet, "storm": storm, "p99_storm_over_quiet": round(ratio, 2) if ratio else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.auth_storm", description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--rate", type=float, default=50.0, help="room lines per second")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--attackers", type=int, default=50)
    ap.add_argument("--prev-ref", default=None, help="also measure this commit's server (before/after)")
    args = ap.parse_args(argv)
    os.environ["TCPCHAT_OPER_PASSWORD"] = OPER_PASSWORD
    for name in ("TCPCHAT_MAX_CLIENTS_PER_IP", "TCPCHAT_CONNECT_RATE_PER_IP"):
        os.environ.pop(name, None)  # the defaults: an attacker's address is bounded too
    # flood control stays on (the default): a real attacker meets it too
    flags = tuple(f for f in OUR_RELAY_FLAGS if f not in ("--flood-rate", "0")) + ("--log-level", "ERROR")
    result: dict[str, object] = {"scenario": "auth_storm", "users": args.users, "rate": args.rate,
                                 "attackers": args.attackers, "seconds": args.seconds}
    result["ours"] = _measure(start_ours("ours", ROOT, flags), args)
    print(f"# ours: {result['ours']}", file=sys.stderr, flush=True)
    if args.prev_ref:
        tree = Worktree(args.prev_ref)
        try:
            result[f"prev_{tree.commit}"] = _measure(start_ours("prev", tree.path, flags), args)
        finally:
            with contextlib.suppress(Exception):
                tree.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
