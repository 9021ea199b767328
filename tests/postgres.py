"""A throwaway PostgreSQL for the tests (history, accounts, cluster), from Debian's package.

``initdb`` + ``pg_ctl`` in a temp dir, listening only on a unix socket there (run as the
``postgres`` user when the tests run as root). The ``pg_socket_dir`` fixture in ``tests/conftest.py``
starts one per test module; ``fresh_pg_url`` makes an empty database in it for each test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path

import pytest


def _pg_bin(name: str) -> str | None:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def private_cluster() -> Iterator[tuple[str, int]]:
    """A private PostgreSQL cluster: (socket dir, port); skips the test when PostgreSQL is missing."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL is not installed (initdb missing): apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="tcpchat-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    run = {"check": True, "capture_output": True, "timeout": 60}
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres",
                    "-E", "UTF8", "--no-sync"], **run)  # type: ignore[call-overload]
    opts = f"-c listen_addresses='' -k {root} -p {port} -c fsync=off"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"),
                    "-w", "-t", "30", "start"], **run)  # type: ignore[call-overload]
    try:
        yield str(root), port
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=30)
        shutil.rmtree(root, ignore_errors=True)


async def fresh_pg_url(pg: tuple[str, int]) -> str:
    """A URL of a new, empty database in the module's cluster."""
    import asyncpg

    sock, port = pg
    name = "t_" + uuid.uuid4().hex[:12]
    con = await asyncpg.connect(host=sock, port=port, user="postgres", database="postgres")
    try:
        await con.execute(f"CREATE DATABASE {name}")
    finally:
        await con.close()
    return f"postgresql://postgres@/{name}?host={sock}&port={port}"
