"""Check the issue's targets against one run's results, and render the README table."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Result = dict[str, Any]


def _get(summary: Result, target: str, key: str) -> Any:
    return summary.get("results", {}).get(target, {}).get(key)


def _ratio(summary: Result, other: str, key: str) -> float | None:
    return summary.get("ratios", {}).get(f"ours/{other}", {}).get(key)


def check_targets(summaries: dict[str, Result]) -> list[dict[str, Any]]:
    """One row per target of issues 7 and 15: the measured value and whether it is met."""
    rows: list[dict[str, Any]] = []

    def add(name: str, value: Any, ok: bool | None) -> None:
        rows.append({"target": name, "value": value, "met": ok})

    f = summaries.get("fanout")
    if f:
        r = _ratio(f, "ngircd", "deliveries_per_s")
        add("fanout deliveries/s >= 1.5x ngircd", r, None if r is None else r >= 1.5)
        cpu = _get(f, "ours", "server_cpu_us_per_delivery")
        add("fanout server CPU <= 0.5 us/delivery", cpu, None if cpu is None else cpu <= 0.5)
        lost, ooo = _get(f, "ours", "lost"), _get(f, "ours", "out_of_order")
        bad = _get(f, "ours", "bad_tags")
        add("fanout zero loss, in order, tags", {"lost": lost, "out_of_order": ooo, "bad_tags": bad},
            lost == 0 and ooo == 0 and bad == 0)
    r_ = summaries.get("rooms")
    if r_:
        r = _ratio(r_, "ngircd", "deliveries_per_s")
        lost = _get(r_, "ours", "lost")
        cpu = _get(r_, "ours", "server_cpu_us_per_delivery")
        add("rooms deliveries/s >= 1.5x ngircd, zero loss (issue 15)", {"ratio": r, "lost": lost},
            None if r is None else (r >= 1.5 and lost == 0))
        add("rooms server CPU <= 1.2 us/delivery (issue 15)", cpu, None if cpu is None else cpu <= 1.2)
    lat = summaries.get("latency")
    if lat:
        p99 = _get(lat, "ours", "p99_ms")
        add("latency p99 <= 5 ms", p99, None if p99 is None else p99 <= 5)
    c = summaries.get("connect")
    if c:
        r = _ratio(c, "ngircd", "conns_per_s")
        missing = _get(c, "ours", "not_registered")
        add("connect all registered, >= 3x ngircd rate", {"ratio": r, "not_registered": missing},
            None if r is None else (r >= 3 and missing == 0))
        rss = _get(c, "ours", "rss_per_conn_kib")
        add("connect RSS <= 4 KiB/conn", rss, None if rss is None else rss <= 4)
    i = summaries.get("idle")
    if i:
        cpu = _get(i, "ours", "server_cpu_pct")
        add(f"idle {_get(i, 'ours', 'clients')} clients < 2% CPU", cpu, None if cpu is None else cpu < 2)
        rss = _get(i, "ours", "rss_per_conn_kib")
        add("idle RSS <= 3 KiB/conn (issue 15)", rss, None if rss is None else rss <= 3)
    h = summaries.get("history")
    if h:
        on = _get(h, "history_on", "deliveries_per_s")
        off = _get(h, "history_off", "deliveries_per_s")
        ratio = round(on / off, 3) if on and off else None
        cpu_on = _get(h, "history_on", "server_cpu_us_per_delivery")
        cpu_off = _get(h, "history_off", "server_cpu_us_per_delivery")
        cpu_ratio = round(cpu_on / cpu_off, 3) if cpu_on and cpu_off else None
        ok = None if ratio is None or not h.get("history_store") else ratio >= 0.9
        add("history on costs <= 10% of fanout deliveries/s (writer child's CPU counted)",
            {"on/off": ratio, "cpu on/off": cpu_ratio, "store": h.get("history_store")}, ok)
    g = summaries.get("gateway")
    if g:
        added = _get(g, "ours", "added_p99_ms")
        add("gateway hop adds <= 2 ms p99 at 200 WebSocket users", added,
            None if added is None else added <= 2)
    return rows


COLUMNS = {
    "fanout": ("deliveries_per_s", "server_cpu_us_per_delivery", "server_cpu_pct", "p50_ms", "p99_ms", "lost"),
    "rooms": ("deliveries_per_s", "server_cpu_us_per_delivery", "deliveries_per_write", "server_cpu_pct", "p99_ms", "lost"),
    "latency": ("p50_ms", "p99_ms", "max_ms", "server_cpu_us_per_delivery", "lost"),
    "connect": ("conns_per_s", "rss_per_conn_kib", "server_cpu_pct", "not_registered"),
    "idle": ("clients", "registered", "rss_per_conn_kib", "server_cpu_pct", "generator_processes", "server_fd_limit"),
    "history": ("deliveries_per_s", "server_cpu_us_per_delivery", "server_children_cpu_s", "p99_ms", "lost"),
    "gateway": ("ws_users", "tcp_p99_ms", "ws_p99_ms", "added_p50_ms", "added_p99_ms", "ws_lost"),
}
"""The columns of each scenario's table."""


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(summaries: dict[str, Result]) -> str:
    """One markdown table per scenario: a row per server (medians), then ours ÷ that server."""
    out: list[str] = []
    for scenario, summary in summaries.items():
        cols = COLUMNS.get(scenario, ())
        out.append(f"\n**{scenario}**\n")
        out.append("| server | " + " | ".join(cols) + " | ours ÷ this |")
        out.append("|---" * (len(cols) + 2) + "|")
        for target, res in summary.get("results", {}).items():
            cells = [_fmt(res.get(k)) for k in cols]
            if "failed" in res:
                cells = [f"failed: {res['failed']}"] + [""] * (len(cols) - 1)
            ratio = summary.get("ratios", {}).get(f"ours/{target}", {})
            rtext = ", ".join(f"{k}={v}" for k, v in ratio.items() if k in cols) or ""
            out.append(f"| {target} | " + " | ".join(cells) + f" | {rtext} |")
    return "\n".join(out)


def interleaved_medians(configs: dict[str, Callable[[], dict[str, Any]]], runs: int) -> dict[str, dict[str, Any]]:
    """Run each config ``runs`` times, interleaved (the machine's drift hits every config alike),
    reporting each run on stderr; the run with the median ``deliveries_per_s`` of each config."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    for i in range(runs):
        for name, run in configs.items():
            result = run()
            results[name].append(result)
            print(f"# run {i + 1}/{runs} {name}: {result['deliveries_per_s']}/s p99 {result['p99_ms']} ms",
                  file=sys.stderr, flush=True)
    return {name: sorted(rs, key=lambda r: r["deliveries_per_s"])[len(rs) // 2] for name, rs in results.items()}
