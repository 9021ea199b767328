"""History on vs off: one-room fan-out deliveries/s and the echo latency (send -> echo received).

``python -m bench.history_bench [--runs 3] [--quick]`` prints one JSON line. Both servers run in
the same invocation, interleaved run by run (the machine is shared, so only same-run ratios mean
anything). Fan-out uses the ``fanout`` scenario of ``bench.scenarios``; the echo latency is
measured here: the echo is the sender's acknowledgement, sent only after the group commit.
It also reports the SQLite store alone (rows/s through group commit, idle commit latency).
Server CPU includes the server's child processes: the SQLite writer runs in one (``writer_cpu_s``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

from .runner import measure
from .scenarios import Params
from .targets import OUR_RELAY_FLAGS, ROOT, Running, start_ours

CAPS = "message-tags server-time echo-message"
TIMEOUT = 30.0
"""Bound on one latency measurement."""


@dataclass
class EchoParams:
    listeners: int = 100
    closed_loop: int = 300
    """Messages sent one at a time (each waits for its echo): the bare commit latency."""
    senders: int = 10
    window: int = 20
    """In-flight messages per sender under load."""
    per_sender: int = 200


MODES = ("off", "on", "after")
"""History off; on (echo after commit, others at once: the default); on with --relay-after-commit."""


def _flags(mode: str, data_dir: str) -> tuple[str, ...]:
    if mode == "off":
        return OUR_RELAY_FLAGS
    flags = ("--flood-rate", "0", "--history", "--data-dir", data_dir, "--log-level", "WARNING")
    return (*flags, "--relay-after-commit") if mode == "after" else flags


async def _client(port: int, nick: str, caps: str = "") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
    hello = f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n"
    if caps:
        hello = f"CAP LS 302\r\nCAP REQ :{caps}\r\n{hello}CAP END\r\n"
    writer.write(f"{hello}JOIN #echo\r\n".encode())
    while b" 366 " not in await reader.readline():
        pass
    return reader, writer


async def _discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(1 << 16):
        pass


def _percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"samples": 0}
    samples = sorted(samples)
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]  # noqa: E731
    return {"samples": len(samples), "p50_ms": round(pick(0.5), 3), "p99_ms": round(pick(0.99), 3),
            "max_ms": round(samples[-1], 3)}


async def _echo_latency(port: int, p: EchoParams) -> dict[str, object]:
    listeners = [await _client(port, f"l{i}") for i in range(p.listeners)]
    drains = [asyncio.create_task(_discard(r)) for r, _ in listeners]
    senders = [await _client(port, f"s{i}", CAPS) for i in range(p.senders)]
    try:
        reader, writer = senders[0]
        closed: list[float] = []
        for i in range(p.closed_loop):
            t0 = time.perf_counter()
            writer.write(f"PRIVMSG #echo :c {i}\r\n".encode())
            while b"PRIVMSG #echo :c " not in await reader.readline():
                pass
            closed.append((time.perf_counter() - t0) * 1000)
        loaded: list[float] = []

        async def one(idx: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            mine = f"PRIVMSG #echo :l {idx} ".encode()
            sent_at: dict[int, float] = {}
            acked = 0
            seq = 0
            while acked < p.per_sender:
                while seq < p.per_sender and seq - acked < p.window:
                    sent_at[seq] = time.perf_counter()
                    writer.write(f"PRIVMSG #echo :l {idx} {seq}\r\n".encode())
                    seq += 1
                line = await reader.readline()
                if not line:
                    return
                if mine in line:
                    n = int(line.rsplit(b" ", 1)[1])
                    loaded.append((time.perf_counter() - sent_at.pop(n)) * 1000)
                    acked += 1

        await asyncio.wait_for(asyncio.gather(*(one(i, r, w) for i, (r, w) in enumerate(senders))), TIMEOUT)
        return {"closed_loop": _percentiles(closed), "loaded": _percentiles(loaded),
                "loaded_senders": p.senders, "window": p.window, "listeners": p.listeners}
    finally:
        for _, w in listeners + senders:
            w.close()
        for d in drains:
            d.cancel()


def echo_latency(start: Running, p: EchoParams) -> dict[str, object]:
    try:
        return asyncio.run(asyncio.wait_for(_echo_latency(start.port, p), TIMEOUT * 2))
    finally:
        start.stop()


async def _store_throughput(rows: int) -> dict[str, object]:
    """The SQLite store alone, in this process: rows/s through group commit, and the latency of
    one append -> commit callback when idle (the commit window plus one fsync'd transaction)."""
    from pathlib import Path

    from tcp_server.history.base import StoredMessage
    from tcp_server.history.sqlite import SQLiteStore

    tmp = tempfile.TemporaryDirectory(prefix="bench-store-")
    store = SQLiteStore(Path(tmp.name) / "history.db")
    await store.start()
    loop = asyncio.get_running_loop()
    try:
        records = [
            StoredMessage(f"b{i}", time.time(), "PRIVMSG", "a!~a@h", "a", f"#room{i % 10}", "x" * 64, {})
            for i in range(rows)
        ]
        done = loop.create_future()
        left = [rows]

        def ack(err: BaseException | None) -> None:
            left[0] -= 1
            if left[0] == 0:
                done.set_result(None)

        t0 = time.perf_counter()
        for i in range(0, rows, 1000):
            for record in records[i : i + 1000]:
                store.append(record, ack)
            await asyncio.sleep(0)
        await asyncio.wait_for(done, TIMEOUT)
        elapsed = time.perf_counter() - t0
        single: list[float] = []
        for i in range(200):
            fut = loop.create_future()
            t = time.perf_counter()
            store.append(StoredMessage(f"s{i}", time.time(), "PRIVMSG", "a!~a@h", "a", "#r", "x", {}),
                         fut.set_result)
            await fut
            single.append((time.perf_counter() - t) * 1000)
        return {"rows": rows, "rows_per_s": round(rows / elapsed), "idle_commit": _percentiles(single)}
    finally:
        await store.close()
        tmp.cleanup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.history_bench", description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="interleaved runs per server; medians reported")
    ap.add_argument("--quick", action="store_true", help="150 messages per sender instead of 300")
    ap.add_argument("--messages", type=int, default=0,
                    help="fan-out messages per sender (overrides --quick; more gives more clock ticks per run)")
    ap.add_argument("--clients", type=int, default=500, help="clients in the fan-out room")
    ap.add_argument("--listeners", type=int, default=EchoParams.listeners, help="room size for echo latency")
    ap.add_argument("--closed-loop", type=int, default=EchoParams.closed_loop, help="one-at-a-time messages")
    ap.add_argument("--per-sender", type=int, default=EchoParams.per_sender, help="messages per loaded sender")
    ap.add_argument("--store-rows", type=int, default=100_000, help="rows for the store-only throughput")
    ap.add_argument("--modes", default="off,on,after", help=f"comma list of {', '.join(MODES)}")
    args = ap.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m in MODES]
    messages = args.messages or (150 if args.quick else 300)
    params = Params(clients=args.clients, messages=messages, timeout=60.0)
    echo = EchoParams(listeners=args.listeners, closed_loop=args.closed_loop, per_sender=args.per_sender)
    fanout: dict[str, list[dict[str, object]]] = {m: [] for m in modes}
    latency: dict[str, list[dict[str, object]]] = {m: [] for m in modes}
    scratch = tempfile.TemporaryDirectory(prefix="bench-history-")
    for i in range(args.runs):
        for name in modes:
            data = tempfile.mkdtemp(prefix=f"run{i}-{name}-", dir=scratch.name)
            flags = _flags(name, data)
            res = measure("fanout", lambda n=name, f=flags: start_ours(f"history_{n}", ROOT, f), params)
            fanout[name].append(res)
            lat = echo_latency(start_ours(f"echo_{name}", ROOT, _flags(name, data + "/echo")), echo)
            latency[name].append(lat)
            print(f"# run {i + 1}/{args.runs} history {name}: deliveries/s={res.get('deliveries_per_s')} "
                  f"lost={res.get('lost')} echo p50={lat['closed_loop']['p50_ms']}ms "  # type: ignore[index]
                  f"loaded p99={lat['loaded']['p99_ms']}ms", file=sys.stderr, flush=True)  # type: ignore[index]

    def med(rows: list[dict[str, object]], *path: str) -> float:
        vals = []
        for row in rows:
            v: object = row
            for k in path:
                v = v.get(k) if isinstance(v, dict) else None  # type: ignore[assignment]
            if isinstance(v, int | float):
                vals.append(float(v))
        return round(statistics.median(vals), 3) if vals else float("nan")

    store = asyncio.run(_store_throughput(args.store_rows))
    summary = {
        "scenario": "history_bench",
        "store_only": store,
        "clients": params.clients, "senders": params.senders, "messages_per_sender": params.messages,
        "runs": args.runs,
        "deliveries_per_s": {n: med(fanout[n], "deliveries_per_s") for n in fanout},
        "deliveries_per_s_runs": {n: [r.get("deliveries_per_s") for r in fanout[n]] for n in fanout},
        "server_cpu_us_per_delivery": {n: med(fanout[n], "server_cpu_us_per_delivery") for n in fanout},
        "server_cpu_us_per_delivery_runs": {n: [r.get("server_cpu_us_per_delivery") for r in fanout[n]]
                                            for n in fanout},
        "writer_cpu_s": {n: med(fanout[n], "server_children_cpu_s") for n in fanout},
        "lost": {n: [r.get("lost") for r in fanout[n]] for n in fanout},
        "echo_closed_loop_ms": {n: {q: med(latency[n], "closed_loop", q) for q in ("p50_ms", "p99_ms")}
                                for n in latency},
        "echo_loaded_ms": {n: {q: med(latency[n], "loaded", q) for q in ("p50_ms", "p99_ms")}
                           for n in latency},
    }
    rates: dict[str, float] = summary["deliveries_per_s"]  # type: ignore[assignment]
    cpus: dict[str, float] = summary["server_cpu_us_per_delivery"]  # type: ignore[assignment]
    off = rates.get("off")
    for mode in ("on", "after"):
        if off and mode in rates:
            summary[f"{mode}_over_off"] = round(rates[mode] / off, 3)
        if cpus.get("off") and cpus.get(mode):
            summary[f"cpu_{mode}_over_off"] = round(cpus[mode] / cpus["off"], 3)
    # issue 15: history on costs at most 10% of fan-out throughput
    summary["target_met"] = bool(off) and "on" in rates and rates["on"] / off >= 0.9
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
