"""``python -m bench.gateway_failover``: a gateway in front of three cluster nodes, one SIGKILLed.

Redis, three ``tcpchat server`` nodes and two ``tcpchat gateway`` processes (children): one with
the first node alone as its upstream (the reference, today's single-upstream form), one with all
three (``--upstreams``). Measured in the same run, one JSON line:

- ``hello``: seconds from a browser's ``hello`` to its ``connected`` status, ``--browsers``
  WebSockets one after another, through each gateway (the cost of choosing a node);
- ``spread``: how the three-node gateway placed them (from ``/api/admin/connections``);
- after SIGKILL of one node: seconds until each of its browsers is ``connected`` again on a live
  node (back-off ``--reconnect-initial``), whether every browser still gets a line said after,
  and ``hello`` again (the dead node is tried once, then skipped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import httpx
import websockets

from .cluster import HOST, ROOT, _start_node, _start_redis
from .spawn import spawn_listening

SECRETS = {"TCPCHAT_WEBIRC_PASSWORD": "bench-webirc", "TCPCHAT_OPER_PASSWORD": "bench-oper",
           "TCPCHAT_ADMIN_PASSWORD": "bench-admin"}
TIMEOUT = 20.0


class Browser:
    """A /ws client whose reader task records every event with its arrival time."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.arrived = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            self.events.append((time.monotonic(), json.loads(frame)))
            self.arrived.set()

    async def until(self, pred: Any, after: int = 0) -> tuple[float, dict[str, Any]]:
        """The first event from index ``after`` on that ``pred`` accepts (waiting for it)."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                for item in self.events[after:]:
                    if pred(item[1]):
                        return item
                after = len(self.events)
                self.arrived.clear()
                await self.arrived.wait()

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


def _state(name: str) -> Any:
    return lambda e: e["type"] == "status" and e["state"] == name


async def _hello(url: str, nick: str) -> tuple[Browser, float]:
    browser = Browser(await websockets.connect(url))
    start = time.monotonic()
    await browser.ws.send(json.dumps({"type": "hello", "nick": nick}))
    at, _ = await browser.until(_state("connected"))
    return browser, at - start


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1), "n": len(ordered)}


async def _nodes(web: int) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.get(f"http://{HOST}:{web}/api/admin/connections", auth=("admin", SECRETS["TCPCHAT_ADMIN_PASSWORD"]))
    return {c["nick"]: c["node"] for c in resp.json()["connections"]}


async def measure(single: int, multi: int, victim: subprocess.Popen[str], a: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ref, spread = [], []
    for i in range(a.browsers):  # interleaved: the reference gateway, then the three-node one
        b, took = await _hello(f"ws://{HOST}:{single}/ws", f"r{i}")
        ref.append(took)
        await b.close()
        b, took = await _hello(f"ws://{HOST}:{multi}/ws", f"m{i}")
        spread.append((b, took))
    out["hello_one_upstream"] = _summary(ref)
    out["hello_three_upstreams"] = _summary([t for _, t in spread])
    placed = await _nodes(multi)
    browsers = {f"m{i}": b for i, (b, _) in enumerate(spread)}
    out["spread"] = dict(Counter(placed[n] for n in browsers))
    for b in browsers.values():
        await b.ws.send(json.dumps({"type": "join", "room": "#bench"}))
    for b in browsers.values():
        await b.until(lambda e: e["type"] == "names" and e["room"] == "#bench")

    doomed = [n for n in browsers if placed[n] == "n3"]
    killed_at = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    back = []
    for n in doomed:
        b = browsers[n]
        item = await b.until(_state("reconnecting"))
        at, _ = await b.until(_state("connected"), b.events.index(item))
        back.append(at - killed_at)
    out["failover"] = _summary(back)
    speaker = next(n for n in browsers if n not in doomed)
    await browsers[speaker].ws.send(json.dumps({"type": "send", "room": "#bench", "text": "after the kill"}))
    got = 0
    for n, b in browsers.items():
        try:
            await b.until(lambda e: e["type"] == "message" and e.get("text") == "after the kill")
            got += 1
        except TimeoutError:
            print(f"{n} (was on {placed[n]}) missed the line", file=sys.stderr)
    out["line_after_kill_received"] = f"{got}/{len(browsers)}"
    late = []
    for i in range(a.browsers):
        b, took = await _hello(f"ws://{HOST}:{multi}/ws", f"late{i}")
        late.append(took)
        await b.close()
    out["hello_three_upstreams_one_dead"] = _summary(late)
    placed = await _nodes(multi)
    # the dead node's users stay listed (under n3) until its heartbeat TTL lapses; not counted
    out["spread_after_kill"] = dict(Counter(
        node for nick, node in placed.items() if nick.startswith("m") and node != "n3"))
    await asyncio.gather(*(b.close() for b in browsers.values()))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--browsers", type=int, default=30, help="WebSockets per measurement")
    p.add_argument("--reconnect-initial", type=float, default=0.5, help="The gateway's first reconnect delay")
    a = p.parse_args(argv)
    os.environ.update(SECRETS)
    env = {**os.environ, "TCPCHAT_RECONNECT_INITIAL": str(a.reconnect_initial), "TCPCHAT_WS_MAX_PER_IP": "0",
           "TCPCHAT_WS_RATE": "0", "TCPCHAT_LOG_LEVEL": "WARNING"}
    procs: list[subprocess.Popen[Any]] = []
    try:
        redis, url = _start_redis()
        procs.append(redis)
        nodes = [_start_node(url, f"n{i}") for i in (1, 2, 3)]
        procs += [proc for proc, _ in nodes]
        ports = [port for _, port in nodes]
        gateway = [sys.executable, "-m", "tcpchat", "gateway", "--port", "0"]
        one, single = spawn_listening([*gateway, "--irc-port", str(ports[0])], env, ROOT)
        three, multi = spawn_listening(
            [*gateway, "--upstreams", ",".join(f"{HOST}:{port}" for port in ports)], env, ROOT)
        procs += [one, three]
        result = asyncio.run(measure(single, multi, nodes[2][0], a))
        print(json.dumps({"scenario": "gateway_failover", "browsers": a.browsers,
                          "reconnect_initial": a.reconnect_initial, **result}))
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
