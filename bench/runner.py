"""Run scenarios against several servers in the same run, take medians, compute ratios."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from .population import connect, idle
from .scenarios import Params, fanout, latency, rooms
from .targets import (
    OUR_RELAY_FLAGS,
    ROOT,
    Running,
    Worktree,
    ngircd_available,
    start_ngircd,
    start_ours,
)

Result = dict[str, Any]
Starter = Callable[[], Running]

SCENARIOS = {"fanout": fanout, "rooms": rooms, "latency": latency, "connect": connect, "idle": idle}
"""Scenarios that run against each target (history and gateway have their own runners)."""


def _run_loop(coro: Coroutine[Any, Any, Result]) -> Result:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def measure(scenario: str, start: Starter, params: Params) -> Result:
    """Start a fresh server, run one scenario against it (bounded by params.timeout), stop it."""
    server = start()
    try:
        fn = SCENARIOS[scenario]

        async def bounded() -> Result:
            return await asyncio.wait_for(fn(server.port, server.pid, params), params.timeout)

        try:
            result = _run_loop(bounded())
        except (TimeoutError, OSError, ConnectionError) as exc:
            result = {"failed": f"{type(exc).__name__}: {exc}"}
        result["server_alive"] = server.alive()
        return result
    finally:
        server.stop()


def chathistory_advertised(start: Starter) -> bool:
    """True when the server lists draft/chathistory in CAP LS (that is, it has a history store)."""
    import socket

    server = start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), 5) as sock:
            sock.sendall(b"CAP LS 302\r\n")
            data = b""
            while b"\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return b"draft/chathistory" in data
    finally:
        server.stop()


WORST_CASE_KEYS = ("lost", "out_of_order", "bad_tags", "disconnected", "not_registered", "ws_lost", "tcp_lost")


def median_result(runs: list[Result]) -> Result:
    """Median of every numeric field over runs; other fields from the first run."""
    ok = [r for r in runs if "failed" not in r] or runs
    out: Result = dict(ok[0])
    for key, value in ok[0].items():
        if key in WORST_CASE_KEYS:  # a loss in any run is reported, not hidden by the median
            out[key] = max(r[key] for r in ok if isinstance(r.get(key), (int, float)))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            values = [r[key] for r in ok if isinstance(r.get(key), (int, float))]
            med = statistics.median(values)
            out[key] = round(med, 3) if isinstance(med, float) else med
    out["runs"] = len(runs)
    out["failed_runs"] = len(runs) - len([r for r in runs if "failed" not in r])
    return out


RATIO_KEYS = (
    "deliveries_per_s",
    "server_cpu_us_per_delivery",
    "p99_ms",
    "conns_per_s",
    "rss_per_conn_kib",
    "server_cpu_pct",
)


def ratios(results: dict[str, Result], base: str = "ours") -> dict[str, dict[str, float]]:
    """``base / other`` for the headline fields present in both."""
    out: dict[str, dict[str, float]] = {}
    mine = results.get(base, {})
    for name, other in results.items():
        if name == base:
            continue
        r = {}
        for key in RATIO_KEYS:
            a, b = mine.get(key), other.get(key)
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
                r[key] = round(a / b, 3)
        out[f"{base}/{name}"] = r
    return out


class Targets:
    """Starters for the servers compared in this run; owns the previous-commit worktree."""

    def __init__(self, names: list[str], prev_ref: str | None, ours_ref: str | None = None) -> None:
        self.starters: dict[str, Starter] = {}
        self.worktree: Worktree | None = None
        self.ours_tree: Worktree | None = None
        self.notes: dict[str, str] = {}
        for name in names:
            if name == "ours" and ours_ref:
                # A fixed commit instead of the working tree (which others may be editing).
                self.ours_tree = Worktree(ours_ref)
                self.starters["ours"] = functools.partial(start_ours, "ours", self.ours_tree.path)
                self.notes["ours"] = f"{ours_ref} = {self.ours_tree.commit}"
            elif name == "ours":
                self.starters["ours"] = lambda: start_ours("ours", ROOT)
                self.notes["ours"] = "working tree"
            elif name == "ngircd":
                if ngircd_available():
                    self.starters["ngircd"] = start_ngircd
                else:
                    self.notes["ngircd"] = "not installed (apt-get install ngircd)"
            elif name == "prev":
                if prev_ref is None:
                    self.notes["prev"] = "no previous commit"
                    continue
                self.worktree = Worktree(prev_ref)
                self.starters["prev"] = functools.partial(start_ours, "prev", self.worktree.path)
                self.notes["prev"] = f"{prev_ref} = {self.worktree.commit}"
            else:
                raise SystemExit(f"unknown target {name!r} (ours, prev, ngircd)")

    @property
    def ours_path(self) -> Path:
        """Where 'ours' runs from: the --ours-ref worktree, or this checkout."""
        return self.ours_tree.path if self.ours_tree is not None else ROOT

    def close(self) -> None:
        for tree in (self.worktree, self.ours_tree):
            if tree is not None:
                tree.close()


def run_scenario(scenario: str, targets: Targets, params: Params, runs: int) -> Result:
    """``runs`` rounds, each round measuring every target once (interleaved against drift)."""
    per_target: dict[str, list[Result]] = {name: [] for name in targets.starters}
    for i in range(runs):
        for name, start in targets.starters.items():
            res = measure(scenario, start, params)
            per_target[name].append(res)
            print(f"# {scenario} run {i + 1}/{runs} {name}: {_brief(res)}", file=sys.stderr, flush=True)
    results = {name: median_result(rs) for name, rs in per_target.items()}
    return {
        "scenario": scenario,
        "results": results,
        "ratios": ratios(results),
        "notes": targets.notes,
    }


def run_history(params: Params, runs: int, tree: Path = ROOT) -> Result:
    """Our fan-out with the history store on (SQLite) versus off, in the same run."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-history-"))
    flags_on = ("--flood-rate", "0", "--history", "--data-dir", str(tmp), "--log-level", "WARNING")

    def on() -> Running:
        return start_ours("history_on", tree, flags_on)

    def off() -> Running:
        return start_ours("history_off", tree, OUR_RELAY_FLAGS)

    try:
        store = chathistory_advertised(on)
        per: dict[str, list[Result]] = {"history_on": [], "history_off": []}
        for i in range(runs):
            for name, start in (("history_off", off), ("history_on", on)):
                res = measure("fanout", start, params)
                per[name].append(res)
                print(f"# history run {i + 1}/{runs} {name}: {_brief(res)}", file=sys.stderr, flush=True)
        results = {name: median_result(rs) for name, rs in per.items()}
        return {
            "scenario": "history",
            "history_store": store,
            "results": results,
            "ratios": ratios(results, base="history_on"),
            "notes": {} if store else {"history_on": "no draft/chathistory in CAP LS: no store yet"},
        }
    finally:
        with contextlib.suppress(OSError):
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


GATEWAY_TIMEOUT = 240.0
"""Seconds the gateway scenario (its own child processes, 200 WebSocket users) may take."""


def run_gateway(params: Params, runs: int) -> Result:
    """The fan-out through WebSocket users of the gateway (``bench.gateway_hop``), which measures
    a plain TCP receiver in the same room as the reference: the difference is the hop."""
    rows: list[Result] = []
    for i in range(runs):
        cmd = [sys.executable, "-m", "bench.gateway_hop", "--users", str(params.gateway_users),
               "--messages", str(params.gateway_messages)]
        try:
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=GATEWAY_TIMEOUT)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            res = json.loads(lines[-1]) if lines else {"failed": proc.stderr[-500:]}
        except subprocess.TimeoutExpired:
            res = {"failed": f"timed out after {GATEWAY_TIMEOUT:.0f} s"}
        rows.append(res)
        print(f"# gateway run {i + 1}/{runs}: {_brief(res)}", file=sys.stderr, flush=True)
    return {"scenario": "gateway", "results": {"ours": median_result(rows)}, "ratios": {}, "notes": {}}


def _brief(res: Result) -> str:
    keys = ("deliveries_per_s", "server_cpu_us_per_delivery", "deliveries_per_write", "messages_per_read", "lost", "p99_ms", "conns_per_s",
            "rss_per_conn_kib", "not_registered", "server_cpu_pct", "added_p99_ms", "ws_lost", "failed")
    return " ".join(f"{k}={res[k]}" for k in keys if k in res)
