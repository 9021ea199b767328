"""The servers a scenario runs against: ours (this tree), a previous commit, and ngircd.

Each target starts as a child process on a free loopback port and is stopped afterwards.
The previous commit is checked out with ``git worktree add`` into a temp dir (never touching the
main checkout) and run with the same interpreter.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 20.0
"""Seconds a server may take to start listening."""
STOP_TIMEOUT = 10.0
"""Seconds a server may take to exit after SIGTERM before it is killed."""
NGIRCD = "/usr/sbin/ngircd"

OUR_RELAY_FLAGS = ("--flood-rate", "0", "--no-history", "--log-level", "WARNING")
"""Our server as the relay scenarios run it: no flood control, no history store."""

NGIRCD_CONF = """\
[Global]
\tName = ngircd.bench
\tInfo = tcpchat benchmark reference
\tAdminInfo1 = bench
\tAdminInfo2 = bench
\tAdminEMail = bench@localhost
\tListen = 127.0.0.1
\tPorts = {port}
\tMotdPhrase = "bench"
[Limits]
\tMaxConnections = 0
\tMaxConnectionsIP = 0
\tMaxJoins = 0
\tMaxNickLength = 30
\tMaxPenaltyTime = 0
\tPingTimeout = 600
\tPongTimeout = 600
[Options]
\tDNS = no
\tIdent = no
\tPAM = no
"""
"""ngircd with flood control relaxed (MaxPenaltyTime = 0) and no per-IP or connection caps."""


def free_port() -> int:
    """A currently free loopback port (for servers that cannot bind port 0 themselves)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Running:
    """A started server: its pid and port, and how to stop it."""

    name: str
    pid: int
    port: int
    proc: subprocess.Popen[bytes]
    cleanup: list[str] = field(default_factory=list)
    cleanup_files: list[str] = field(default_factory=list)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            # A profiler wrapper (BENCH_SERVER_WRAP) writes its report on SIGINT.
            self.proc.send_signal(signal.SIGINT if os.environ.get("BENCH_SERVER_WRAP") else signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)
        for path in self.cleanup_files:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _wait_listening(proc: subprocess.Popen[bytes], name: str, log: Path) -> int:
    """Read stdout until ``listening on HOST:PORT``; return the port."""
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode(errors="replace")
        if not line:
            break
        match = re.search(r"listening on [^ ]+:(\d+)", line)
        if match:
            return int(match.group(1))
    proc.kill()
    proc.wait()
    err = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{name} did not start: {err}")


def _wait_port(proc: subprocess.Popen[bytes], port: int, name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{name} did not listen on {port}")


def start_ours(name: str, tree: Path, extra: tuple[str, ...] = OUR_RELAY_FLAGS) -> Running:
    """``python -m tcpchat server`` from ``tree`` (this checkout or a worktree)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    # stderr goes to a file, not a pipe nobody drains: a chatty server must never block on it.
    with tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False) as log:
        # BENCH_SERVER_WRAP="py-spy record -o prof.svg --" profiles our server (CPU figures then
        # include the wrapper's pid, so use it for profiles only).
        wrap = shlex.split(os.environ.get("BENCH_SERVER_WRAP", ""))
        proc = subprocess.Popen(
            [*wrap, sys.executable, "-m", "tcpchat", "server", "--port", "0", *extra],
            cwd=tree,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    try:
        port = _wait_listening(proc, name, Path(log.name))
    except RuntimeError:
        os.unlink(log.name)
        raise
    return Running(name, proc.pid, port, proc, cleanup_files=[log.name])


def start_ngircd() -> Running:
    """ngircd in the foreground (-n) with a generated config in a temp dir."""
    tmp = tempfile.mkdtemp(prefix="bench-ngircd-")
    os.chmod(tmp, 0o755)
    port = free_port()
    conf = Path(tmp) / "ngircd.conf"
    conf.write_text(NGIRCD_CONF.format(port=port))
    conf.chmod(0o644)
    proc = subprocess.Popen(
        [NGIRCD, "-n", "-f", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(proc, port, "ngircd")
    return Running("ngircd", proc.pid, port, proc, [tmp])


def ngircd_available() -> bool:
    return os.access(NGIRCD, os.X_OK)


class Worktree:
    """A detached ``git worktree`` of ``ref`` in a temp dir, removed again on close."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.path = Path(tempfile.mkdtemp(prefix="bench-prev-")) / "tree"
        self.commit = _git("rev-parse", "--short", ref)
        _git("worktree", "add", "--detach", str(self.path), self.commit)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            _git("worktree", "remove", "--force", str(self.path))
        shutil.rmtree(self.path.parent, ignore_errors=True)


def _git(*args: str) -> str:
    out = subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def resolve_prev_ref(ref: str | None) -> str | None:
    """``ref`` as given, or HEAD~1 when HEAD has a parent; None when there is nothing to compare."""
    if ref:
        return ref
    try:
        _git("rev-parse", "--verify", "HEAD~1")
    except subprocess.CalledProcessError:
        return None
    return "HEAD~1"
