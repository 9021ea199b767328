"""The account benchmark runs end to end at a tiny size: every login and registration succeeds."""

from __future__ import annotations

import json
import subprocess
import sys

from ..support import ROOT


def test_accounts_bench_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.accounts_bench", "--connections", "4", "--workers", "1",
         "--scrypt-n", "1024"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    (run,) = summary["runs"]
    assert run["workers"] == 1 and run["logins_per_s"] > 0 and run["registrations_per_s"] > 0
    assert summary["kdf_verify_ms"] > 0
