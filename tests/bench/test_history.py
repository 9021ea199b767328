"""The history benchmark runs end to end at a tiny size and reports both servers."""

from __future__ import annotations

import json
import subprocess
import sys

from ..support import ROOT


def test_history_bench_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.history_bench", "--runs", "1", "--quick", "--clients", "20",
         "--listeners", "5", "--closed-loop", "20", "--per-sender", "20", "--store-rows", "2000"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["lost"] == {"off": [0], "on": [0], "after": [0]}
    assert summary["deliveries_per_s"]["on"] > 0 and summary["deliveries_per_s"]["off"] > 0
    assert summary["echo_closed_loop_ms"]["on"]["p50_ms"] > 0
    assert isinstance(summary["target_met"], bool)
    assert summary["store_only"]["rows_per_s"] > 0
