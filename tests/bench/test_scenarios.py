"""The benchmark runs end to end at a tiny size and reports zero loss, in order, with tags."""

from __future__ import annotations

import json
import subprocess
import sys

from ..support import ROOT

TINY = ["--clients", "12", "--senders", "2", "--messages", "30", "--full-receivers", "3", "--timeout", "30"]


def _bench(*args: str) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def test_fanout_against_ours_and_the_committed_tree_loses_nothing():
    lines = _bench("fanout", "--targets", "ours,prev", "--prev-ref", "HEAD", *TINY)
    summary, verdict = lines[0], lines[-1]
    assert summary["scenario"] == "fanout"
    for name in ("ours", "prev"):
        res = summary["results"][name]
        assert res["expected"] == 30 * 2 * 11
        assert res["received"] == res["expected"]
        assert res["lost"] == 0 and res["out_of_order"] == 0 and res["bad_tags"] == 0
        assert res["server_cpu_us_per_delivery"] is not None
        assert res["p99_ms"] is not None and res["p99_ms"] >= res["p50_ms"]
    assert "deliveries_per_s" in summary["ratios"]["ours/prev"]
    assert any(t["target"].startswith("fanout zero loss") and t["met"] for t in verdict["targets"])


def test_connect_and_rooms_at_tiny_size():
    lines = _bench(
        "connect", "--targets", "ours", "--connect-clients", "50", "--timeout", "30"
    )
    res = lines[0]["results"]["ours"]
    assert res["registered"] == 50 and res["not_registered"] == 0 and res["failed_runs"] == 0
    assert res["rss_per_conn_kib"] is not None
    lines = _bench("rooms", "--targets", "ours", "--clients", "20", "--rooms", "4",
                   "--room-messages", "10", "--timeout", "30")
    res = lines[0]["results"]["ours"]
    assert res["expected"] == 20 * 10 * 4 and res["lost"] == 0 and res["out_of_order"] == 0


def test_bad_arguments_get_a_clear_error():
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "fanout", "--clients", "3", "--senders", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode != 0
    assert "senders" in proc.stderr


def test_latency_and_idle_at_tiny_size():
    lines = _bench("latency", "--targets", "ours", "--latency-clients", "10", "--latency-rate", "300",
                   "--latency-senders", "2", "--latency-seconds", "1", "--full-receivers", "3",
                   "--timeout", "30")
    res = lines[0]["results"]["ours"]
    assert res["sent"] > 0 and res["received"] == res["expected"] == res["sent"] * 9
    assert res["lost"] == 0 and res["out_of_order"] == 0 and res["p99_ms"] is not None
    lines = _bench("idle", "--targets", "ours", "--idle-clients", "40", "--idle-seconds", "0.5",
                   "--timeout", "30")
    res = lines[0]["results"]["ours"]
    assert res["registered"] == 40 and res["rss_per_conn_kib"] is not None
    assert res["server_cpu_pct"] < 50
