"""What the admin API costs with many connections: ``GET /api/admin/connections`` and ``/api/rooms``.

``python -m bench.admin_api [--clients 1000] [--rooms 20] [--requests 20]`` starts ``tcpchat server``
and ``tcpchat gateway`` as child processes on free loopback ports, opens ``--clients`` registered
TCP connections in ``--rooms`` rooms, then times ``--requests`` calls of each endpoint. The
reference, measured in the same run, is the same question asked of the server directly: ``STATS l``
on an operator connection, read to its end marker. Prints one JSON line: p50/p99 of each, the
listing's size, and the ratio of the API's p50 to the direct query's p50 (what HTTP + JSON add),
with HTTP Basic (one scrypt per request) and with the admin page's session cookie.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tcp_server.protocol import LineBuffer, parse_line

from .spawn import spawn_listening

ROOT = Path(__file__).resolve().parent.parent


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    return spawn_listening([sys.executable, "-m", "tcpchat", *args], env, ROOT)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def _direct_stats(port: int, password: str, requests: int) -> list[float]:
    """Reference: STATS l straight from the server on an operator connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    buf = LineBuffer()

    async def until(command: str) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("server closed")
            for line in buf.feed(data):
                if isinstance(line, bytes) and parse_line(line).command == command:
                    return

    writer.write(b"CAP REQ :message-tags\r\nNICK benchop\r\nUSER b 0 * :b\r\nCAP END\r\n")
    writer.write(f"OPER admin {password}\r\n".encode())
    await until("381")
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        writer.write(b"STATS l\r\n")
        await until("219")
        times.append(time.perf_counter() - start)
    writer.close()
    return times


async def _run(args: argparse.Namespace) -> dict[str, object]:
    oper_pw, admin_pw = secrets.token_hex(8), secrets.token_hex(8)
    env = {
        **os.environ, "TCPCHAT_OPER_PASSWORD": oper_pw, "TCPCHAT_ADMIN_PASSWORD": admin_pw,
        "TCPCHAT_FLOOD_RATE": "0", "TCPCHAT_HISTORY": "false", "TCPCHAT_LOG_LEVEL": "WARNING",
    }
    server, irc_port = _start(["server", "--port", "0", "--no-history"], env)
    gateway, web_port = _start(["gateway", "--port", "0", "--irc-port", str(irc_port)], env)
    conns = []
    try:
        for i in range(args.clients):
            reader, writer = await asyncio.open_connection("127.0.0.1", irc_port)
            writer.write(f"NICK b{i}\r\nUSER b 0 * :b\r\nJOIN #bench{i % args.rooms}\r\n".encode())
            conns.append((reader, writer, asyncio.create_task(_drain(reader))))
        await asyncio.sleep(1.0)
        auth = httpx.BasicAuth("admin", admin_pw)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web_port}", timeout=30) as http:
            listing = await http.get("/api/admin/connections", auth=auth)  # warm up the link
            listing.raise_for_status()
            api, rooms = [], []
            for _ in range(args.requests):
                start = time.perf_counter()
                (await http.get("/api/admin/connections", auth=auth)).raise_for_status()
                api.append(time.perf_counter() - start)
                start = time.perf_counter()
                (await http.get("/api/rooms")).raise_for_status()
                rooms.append(time.perf_counter() - start)
            # the admin page's way: a session cookie (no scrypt per request, unlike Basic)
            page = await http.get("/admin/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            await http.post("/admin/login", data={"username": "admin", "password": admin_pw, "csrf": token})
            session = []
            for _ in range(args.requests):
                start = time.perf_counter()
                (await http.get("/api/admin/connections")).raise_for_status()
                session.append(time.perf_counter() - start)
        direct = await _direct_stats(irc_port, oper_pw, args.requests)
        listed = listing.json()["totals"]["connections"]
    finally:
        for _, writer, task in conns:
            task.cancel()
            writer.close()
        for proc in (gateway, server):
            proc.terminate()
            proc.wait(10)
    return {
        "scenario": "admin_api",
        "clients": args.clients,
        "listed": listed,
        "listing_bytes": len(listing.content),
        "connections_p50_ms": _pct(api, 0.5),
        "connections_p99_ms": _pct(api, 0.99),
        "connections_session_p50_ms": _pct(session, 0.5),
        "rooms_p50_ms": _pct(rooms, 0.5),
        "direct_stats_p50_ms": _pct(direct, 0.5),
        "direct_stats_p99_ms": _pct(direct, 0.99),
        "ratio_api_to_direct_p50": round(statistics.median(api) / statistics.median(direct), 2),
        "ratio_session_to_direct_p50": round(statistics.median(session) / statistics.median(direct), 2),
    }


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--requests", type=int, default=20)
    print(json.dumps(asyncio.run(_run(parser.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
