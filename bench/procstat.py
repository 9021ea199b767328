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


def _stat_fields(pid: int) -> list[bytes]:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    # The command name may contain spaces; fields start after the last ')'.
    return data[data.rindex(b")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (its threads, not its children)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / _TICKS


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from every thread's ``children`` list)."""
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                out.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds of ``pid`` and of all its descendants (live ones, plus the reaped ones the
    kernel adds to their parent's ``cutime``/``cstime``): ``(own, descendants)``.

    The history store's SQLite writer is a child process of the server; its CPU is part of
    what history costs."""
    fields = _stat_fields(pid)
    own = (int(fields[11]) + int(fields[12])) / _TICKS
    reaped = (int(fields[13]) + int(fields[14])) / _TICKS
    rest = reaped
    for child in children(pid):
        try:
            rest += sum(tree_cpu_seconds(child))
        except (OSError, ValueError):  # exited meanwhile: its time lands in our cutime next read
            continue
    return own, rest


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


def fd_limit(pid: int) -> int | None:
    """The soft open-file limit of process ``pid`` (None when unlimited or unreadable)."""
    try:
        with open(f"/proc/{pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    soft = line.split()[3]
                    return int(soft) if soft.isdigit() else None
    except OSError:
        pass
    return None


def raise_fd_limit(wanted: int) -> int:
    """Raise RLIMIT_NOFILE towards ``wanted`` (children inherit it); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft
