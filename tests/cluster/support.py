"""Helpers of the cluster tests: a real ``redis-server`` on a free port, node settings, and waiting
until a node knows a nick. The fixtures built on them are in ``tests/cluster/conftest.py``.

Nodes started in-process share the test's event loop; ``ServerProcess`` children are used when a
test must SIGKILL a node.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from ..support import RawClient

NODE = {"flood_rate": 0, "history": False, "port": 0, "use_uvloop": False, "cluster_heartbeat_ttl": 1.5,
        "cluster_reconnect_interval": 0.2}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server --port N --save '' --appendonly no``; restartable on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (scripts/system-deps)")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


async def until_known(client: RawClient, nick: str, tries: int = 200) -> None:
    """Poll ISON (bounded) until ``client``'s node knows ``nick`` (user events are asynchronous)."""
    import asyncio

    for _ in range(tries):
        await client.send(f"ISON {nick}")
        reply = await client.expect("303")
        if reply.params[-1].lower() == nick.lower():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{nick} never became visible")
