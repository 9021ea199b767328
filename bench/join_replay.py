"""What the JOIN replay costs: plain clients (no draft/chathistory) joining a room with history.

``python -m bench.join_replay [--clients 200] [--runs 3]`` prints one JSON line. Servers with
``--history-replay-lines 0`` (off) and 50 (the default) run interleaved in one invocation (the
machine is shared: only same-run ratios mean anything). Each run: a talker says 100 lines; every
client connects, joins, PINGs (the replay comes before the PONG); all PART; the talker says 5
lines; all rejoin. Reported: the seconds of each join wave and the channel lines each client got
(first join: the last 50; rejoin: only the 5 said meanwhile).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from .targets import ROOT, start_ours

TALK, MEANWHILE = 100, 5
TIMEOUT = 60.0


async def _line(reader: asyncio.StreamReader) -> str:
    return (await asyncio.wait_for(reader.readline(), TIMEOUT)).decode(errors="replace")


async def _until(reader: asyncio.StreamReader, token: str) -> int:
    """Read until ``token`` is in a line; how many PRIVMSG lines came before."""
    lines = 0
    while token not in (line := await _line(reader)):
        if not line:
            raise RuntimeError("connection closed")
        lines += " PRIVMSG " in line
    return lines


async def _client(port: int, nick: str, caps: str = "") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    hello = f"NICK {nick}\r\nUSER {nick} 0 * :b\r\n"
    writer.write((f"CAP REQ :{caps}\r\n{hello}CAP END\r\n" if caps else hello).encode())
    await _until(reader, " 376 ")
    return reader, writer


async def _wave(clients: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]], line: str) -> tuple[float, list[int]]:
    start = time.perf_counter()
    for _, w in clients:
        w.write(f"{line}\r\nPING :done\r\n".encode())
    got = await asyncio.gather(*(_until(r, "PONG") for r, _ in clients))
    return time.perf_counter() - start, list(got)


async def _say(talker: tuple[asyncio.StreamReader, asyncio.StreamWriter], first: int, count: int) -> None:
    for i in range(first, first + count):
        talker[1].write(f"PRIVMSG #room :line {i}\r\nPING :t{i}\r\n".encode())
        await _until(talker[0], f"t{i}")


async def _run(port: int, count: int) -> dict[str, float]:
    talker = await _client(port, "talker", "echo-message batch draft/chathistory")
    talker[1].write(b"JOIN #room\r\n")
    await _say(talker, 0, TALK)
    clients = [await _client(port, f"u{n}") for n in range(count)]
    first, got_first = await _wave(clients, "JOIN #room")
    await _wave(clients, "PART #room")
    await _say(talker, TALK, MEANWHILE)
    again, got_again = await _wave(clients, "JOIN #room")
    for _, w in [*clients, talker]:
        w.close()
    return {"first_join_s": first, "rejoin_s": again,
            "first_lines": statistics.median(got_first), "rejoin_lines": statistics.median(got_again)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    results: dict[int, list[dict[str, float]]] = {0: [], 50: []}
    for _ in range(args.runs):
        for replay in results:
            with tempfile.TemporaryDirectory() as data:
                flags = ("--flood-rate", "0", "--history", "--data-dir", str(Path(data)),
                         "--history-replay-lines", str(replay), "--log-level", "WARNING")
                server = start_ours(f"replay{replay}", ROOT, flags)
                try:
                    results[replay].append(asyncio.run(_run(server.port, args.clients)))
                finally:
                    server.stop()
    med = {r: {k: statistics.median(x[k] for x in runs) for k in runs[0]} for r, runs in results.items()}
    out = {"clients": args.clients, "off": med[0], "replay50": med[50],
           "first_join_ratio": med[50]["first_join_s"] / med[0]["first_join_s"],
           "rejoin_ratio": med[50]["rejoin_s"] / med[0]["rejoin_s"]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
