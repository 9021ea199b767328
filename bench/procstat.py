"""CPU time and resident memory of a process, read from /proc (Linux only).

The benchmark compares servers by CPU spent per delivered message, because on a small shared
machine the load generator itself is often the bottleneck and deliveries/s alone would flatter
whichever server happens to get more of the CPU.
"""

from __future__ import annotations

import os
import resource

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    # The command name may contain spaces; fields start after the last ')'.
    fields = data[data.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size in bytes."""
    with open(f"/proc/{pid}/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE


def syscalls(pid: int) -> tuple[int, int]:
    """Read-like and write-like system calls the process has made so far (``/proc/PID/io``).

    On loopback a ``write`` costs several µs of the server's CPU, so writes per delivery show
    how well output is coalesced."""
    try:
        with open(f"/proc/{pid}/io", "rb") as f:
            fields = dict(line.split(b": ") for line in f.read().splitlines())
    except OSError:  # another user's process, or gone
        return 0, 0
    return int(fields[b"syscr"]), int(fields[b"syscw"])


def own_cpu_seconds() -> float:
    """CPU seconds used by this (the generator) process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raise_fd_limit(wanted: int) -> int:
    """Raise RLIMIT_NOFILE towards ``wanted`` (children inherit it); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft
