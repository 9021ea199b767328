"""Start a tcpchat process (server, gateway, relay) and read the port it printed.

Every process the benchmarks start prints ``listening on HOST:PORT`` once it listens (port 0 picks
a free one); this is the one place that waits for that line.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

START_TIMEOUT = 30.0
"""Seconds a process has to print its ``listening on`` line."""
LISTENING = re.compile(rb"listening on [^ ]+:(\d+)")


def spawn_listening(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Run ``argv`` in ``cwd``; return it and the port of its first ``listening on`` line."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env, cwd=cwd)
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = LISTENING.search(line)
        if match:
            return proc, int(match.group(1))
    proc.kill()
    raise RuntimeError(f"{' '.join(argv[:4])} did not start in {cwd}")
