"""The added latency of the web gateway hop: TCP -> TCP vs TCP -> WebSocket through the gateway.

``python -m bench.gateway_hop [--users 200] [--messages 300] [--rate 30]`` starts ``tcpchat server``
and ``tcpchat gateway`` as child processes on free loopback ports, puts ``--users`` WebSocket users
(JSON ``/ws``, one upstream IRC connection each) and one TCP receiver in one room, and has a TCP
sender post ``--messages`` lines at ``--rate`` per second. Each line's latency is measured at the
TCP receiver (the reference, same run) and at every WebSocket user. Then, in the same run, the
floor: the WebSocket users leave and as many plain TCP users join through ``bench.relay_floor``
(an asyncio relay doing one ``recv`` upstream and one ``send`` downstream per user and line), and
the sender posts the same lines again. ``--unix`` has the gateway (and the relay) reach the server
over a Unix socket, ``--workers N`` runs N gateway processes (their CPU and memory are summed),
``--raw`` puts the users on ``/ws/irc`` (raw IRC lines, ``text.ircv3.net``) instead of ``/ws``.
Prints one JSON line: p50/p99 of every path, what the hop
adds, deliveries and losses, the gateway's memory per user (joined, and after the lines), the CPU the gateway and the floor relay spent per delivery and their
ratio, and the CPU of this load generator (which shares the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websockets

from .procstat import cpu_seconds, own_cpu_seconds, rss_bytes
from .spawn import spawn_listening

ROOT = Path(__file__).resolve().parent.parent
ROOM = "#hop"
SOURCES = 4
"""Loopback addresses the web users connect from (127.0.0.1-4): ``--workers`` pins each client
address to one worker, so the users of one address would all land on one worker."""
DRAIN_SECONDS = 5.0
"""How long after the last send to wait for stragglers before counting losses."""


def _start(
    args: list[str], env: dict[str, str], module: str = "tcpchat"
) -> tuple[subprocess.Popen[bytes], int]:
    return spawn_listening([sys.executable, "-m", module, *args], env, ROOT)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the gateway's worker processes)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_bytes()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _tree_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) for p in _tree(pid) if Path(f"/proc/{p}").exists())


def _tree_rss(pid: int) -> int:
    return sum(rss_bytes(p) for p in _tree(pid) if Path(f"/proc/{p}").exists())


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _tcp(port: int, nick: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
    writer.write(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN {ROOM}\r\n".encode())
    while b" 366 " not in await reader.readline():
        pass
    return reader, writer


async def _send_lines(sender: asyncio.StreamWriter, sent_at: dict[int, float], messages: int, rate: float) -> None:
    """Post ``messages`` numbered lines at ``rate`` per second, noting when each left."""
    interval = 1.0 / rate
    t0 = time.perf_counter()
    for seq in range(messages):
        delay = t0 + seq * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at[seq] = time.perf_counter()
        sender.write(f"PRIVMSG {ROOM} :{seq} hop\r\n".encode())


async def _floor(
    irc_port: int, env: dict[str, str], users: int, messages: int, rate: float,
    sender: asyncio.StreamWriter, tcp_lat: list[float], sent_at: dict[int, float], unix: str | None,
) -> dict[str, object]:
    """The same lines to ``users`` plain TCP users through the raw relay: the floor."""
    upstream = ["--irc-unix-socket", unix] if unix else []
    relay, relay_port = _start(["--irc-port", str(irc_port), *upstream], env, module="bench.relay_floor")
    try:
        conns = []
        for start in range(0, users, 50):
            conns += await asyncio.gather(*(_tcp(relay_port, f"f{i}") for i in range(start, min(users, start + 50))))
        lat: list[float] = []

        async def read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while line := await reader.readline():
                if b" PRIVMSG " in line:
                    lat.append(time.perf_counter() - sent_at[int(line.rsplit(b":", 1)[1].split()[0])])
                elif line.startswith(b"PING"):
                    writer.write(b"PONG" + line[4:])

        readers = [asyncio.create_task(read(r, w)) for r, w in conns]
        tcp_lat.clear()
        sent_at.clear()
        cpu0 = cpu_seconds(relay.pid)
        await _send_lines(sender, sent_at, messages, rate)
        deadline = time.perf_counter() + DRAIN_SECONDS
        while (len(lat) < messages * users or len(tcp_lat) < messages) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        cpu = cpu_seconds(relay.pid) - cpu0
        for task in readers:
            task.cancel()
        for _, w in conns:
            w.close()
        tcp_p50, tcp_p99 = _pct(tcp_lat, 0.5) * 1000, _pct(tcp_lat, 0.99) * 1000
        return {
            "floor_p50_ms": round(_pct(lat, 0.5) * 1000, 3),
            "floor_p99_ms": round(_pct(lat, 0.99) * 1000, 3),
            "floor_added_p50_ms": round(_pct(lat, 0.5) * 1000 - tcp_p50, 3),
            "floor_added_p99_ms": round(_pct(lat, 0.99) * 1000 - tcp_p99, 3),
            "floor_lost": messages * users - len(lat),
            "floor_cpu_us_per_delivery": round(cpu / max(1, len(lat)) * 1e6, 1),
        }
    finally:
        relay.terminate()
        relay.wait(10)


async def _ws_user(url: str, nick: str, source: str = "127.0.0.1") -> websockets.ClientConnection:
    ws = await websockets.connect(url, max_size=2**22, local_addr=(source, 0))
    await ws.send(json.dumps({"type": "hello", "nick": nick}))
    await ws.send(json.dumps({"type": "join", "room": ROOM}))
    while True:
        event = json.loads(await ws.recv())
        if event["type"] == "names":
            return ws
        if event["type"] == "error":
            raise RuntimeError(f"{nick}: {event}")


async def _raw_user(url: str, nick: str, source: str = "127.0.0.1") -> websockets.ClientConnection:
    """A raw-IRC user (``/ws/irc``, text.ircv3.net) registered and in the room."""
    ws = await websockets.connect(url + "/irc", subprotocols=["text.ircv3.net"], max_size=2**22, local_addr=(source, 0))
    for line in (f"NICK {nick}", f"USER {nick} 0 * :{nick}", f"JOIN {ROOM}"):
        await ws.send(line)
    while " 366 " not in await ws.recv():
        pass
    return ws


def _seq_of(frame: str | bytes, raw: bool) -> int | None:
    """The line number a frame carries (None when it is no chat line)."""
    if raw:
        text = frame if isinstance(frame, str) else frame.decode()
        return int(text.rsplit(":", 1)[1].split()[0]) if " PRIVMSG " in text else None
    event = json.loads(frame)
    return int(event["text"].split()[0]) if event.get("type") == "message" else None


async def run(
    users: int, messages: int, rate: float, unix: bool = False, workers: int = 1, raw: bool = False
) -> dict[str, object]:
    env = {
        **os.environ,
        "TCPCHAT_WEBIRC_PASSWORD": secrets.token_urlsafe(16),
        "TCPCHAT_LOG_LEVEL": "WARNING",
    }
    sock_dir = tempfile.TemporaryDirectory(prefix="hop-")
    sock = f"{sock_dir.name}/irc.sock" if unix else None
    server_args = ["server", "--port", "0", "--flood-rate", "0", "--no-history"]
    server, irc_port = _start(server_args + (["--unix-socket", sock] if sock else []), env)
    gateway = None
    try:
        gateway, web_port = _start(
            ["gateway", "--port", "0", "--irc-port", str(irc_port), "--ws-rate", "0",
             *(["--irc-unix-socket", sock] if sock else []),
             *(["--workers", str(workers)] if workers > 1 else []),
             "--ws-queue", "4096", "--ws-max-per-ip", "0"],
            env,
        )
        url = f"ws://127.0.0.1:{web_port}/ws"
        await asyncio.sleep(0.5 if workers == 1 else 3.0)  # the gateway (its workers) started: baseline
        rss_before = _tree_rss(gateway.pid)
        sockets = []
        for start in range(0, users, 50):  # connect in waves: registration is a burst of lines
            join = _raw_user if raw else _ws_user
            sockets += await asyncio.gather(
                *(join(url, f"w{i}", f"127.0.0.{1 + i % SOURCES}") for i in range(start, min(users, start + 50)))
            )
        tcp_reader, tcp_writer = await _tcp(irc_port, "tcprecv")
        _, sender = await _tcp(irc_port, "sender")

        sent_at: dict[int, float] = {}
        tcp_lat: list[float] = []
        ws_lat: list[float] = []
        ws_got = [0]

        async def read_tcp() -> None:
            while True:
                line = await tcp_reader.readline()
                if not line:
                    return
                if b" PRIVMSG " in line:
                    seq = int(line.rsplit(b":", 1)[1].split()[0])
                    tcp_lat.append(time.perf_counter() - sent_at[seq])
                elif line.startswith(b"PING"):
                    tcp_writer.write(b"PONG" + line[4:])

        async def read_ws(ws: websockets.ClientConnection) -> None:
            async for frame in ws:
                now = time.perf_counter()
                seq = _seq_of(frame, raw)
                if seq is not None:
                    ws_lat.append(now - sent_at[seq])
                    ws_got[0] += 1

        readers = [asyncio.create_task(read_tcp())] + [asyncio.create_task(read_ws(ws)) for ws in sockets]
        gw_cpu0, srv_cpu0, own_cpu0 = _tree_cpu(gateway.pid), cpu_seconds(server.pid), own_cpu_seconds()
        gw_rss = _tree_rss(gateway.pid)
        # For a profiler attached to the gateway: the measured phase starts now.
        print(f"gateway pid {gateway.pid}: sending {messages} lines", file=sys.stderr, flush=True)
        await _send_lines(sender, sent_at, messages, rate)
        expected = messages * users
        deadline = time.perf_counter() + DRAIN_SECONDS
        while (ws_got[0] < expected or len(tcp_lat) < messages) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        gw_cpu = _tree_cpu(gateway.pid) - gw_cpu0
        gw_rss_after = _tree_rss(gateway.pid)  # what the lines left behind counts too
        srv_cpu = cpu_seconds(server.pid) - srv_cpu0
        own_cpu = own_cpu_seconds() - own_cpu0
        tcp_p50, tcp_p99 = _pct(tcp_lat, 0.5) * 1000, _pct(tcp_lat, 0.99) * 1000
        ws_p50, ws_p99 = _pct(ws_lat, 0.5) * 1000, _pct(ws_lat, 0.99) * 1000
        tcp_got = len(tcp_lat)
        for task in readers[1:]:
            task.cancel()
        for ws in sockets:
            await ws.close()
        await asyncio.sleep(0.5)  # the web users' QUITs reach the room before the floor users join
        floor = await _floor(irc_port, env, users, messages, rate, sender, tcp_lat, sent_at, sock)
        readers[0].cancel()
        gw_us = gw_cpu / max(1, ws_got[0]) * 1e6
        return {
            "scenario": "gateway_hop",
            "ws_users": users,
            "upstream": "unix" if unix else "tcp",
            "path": "/ws/irc" if raw else "/ws",
            "gateway_workers": workers,
            "messages": messages,
            "rate_per_s": rate,
            "tcp_p50_ms": round(tcp_p50, 3),
            "tcp_p99_ms": round(tcp_p99, 3),
            "ws_p50_ms": round(ws_p50, 3),
            "ws_p99_ms": round(ws_p99, 3),
            "added_p50_ms": round(ws_p50 - tcp_p50, 3),
            "added_p99_ms": round(ws_p99 - tcp_p99, 3),
            "ws_mean_ms": round(statistics.fmean(ws_lat) * 1000, 3) if ws_lat else None,
            "ws_deliveries": ws_got[0],
            "ws_lost": expected - ws_got[0],
            "tcp_lost": messages - tcp_got,
            "gateway_cpu_us_per_delivery": round(gw_us, 1),
            **floor,
            "gateway_over_floor_cpu": round(gw_us / max(0.1, float(floor["floor_cpu_us_per_delivery"])), 2),
            "client_cpu_us_per_delivery": round(own_cpu / max(1, ws_got[0]) * 1e6, 1),
            "server_cpu_s": round(srv_cpu, 2),
            "gateway_rss_mib": round(gw_rss / 2**20, 1),
            "gateway_rss_kib_per_user": round((gw_rss - rss_before) / 1024 / users, 1),
            "gateway_rss_kib_per_user_after": round((gw_rss_after - rss_before) / 1024 / users, 1),
        }
    finally:
        for proc in (gateway, server):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        sock_dir.cleanup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.gateway_hop", description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=200, help="WebSocket users in the room")
    ap.add_argument("--messages", type=int, default=300, help="lines the TCP sender posts")
    ap.add_argument("--rate", type=float, default=30.0, help="lines per second")
    ap.add_argument("--workers", type=int, default=1, help="gateway worker processes (--workers of tcpchat gateway)")
    ap.add_argument("--unix", action="store_true", help="gateway (and floor relay) reach the server over a Unix socket")
    ap.add_argument("--raw", action="store_true", help="users on /ws/irc (raw IRC, text.ircv3.net) instead of /ws")
    args = ap.parse_args(argv)
    if args.users < 1 or args.messages < 1 or args.rate <= 0:
        ap.error("users, messages and rate must be positive")
    print(json.dumps(asyncio.run(run(args.users, args.messages, args.rate, args.unix, args.workers, args.raw))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
