"""The JOIN replay benchmark runs end to end at a tiny size: replay off gives nothing, 50 gives the
last 50 on a first join and only the 5 new lines on a rejoin."""

from __future__ import annotations

import json
import subprocess
import sys

from ..support import ROOT


def test_join_replay_bench_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.join_replay", "--runs", "1", "--clients", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (summary["off"]["first_lines"], summary["off"]["rejoin_lines"]) == (0, 0)
    assert (summary["replay50"]["first_lines"], summary["replay50"]["rejoin_lines"]) == (50, 5)
    assert summary["first_join_ratio"] > 0 and summary["rejoin_ratio"] > 0
