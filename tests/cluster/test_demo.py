"""``tcpchat cluster-demo``: Redis and three nodes as child processes; users on two nodes chat."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys

import pytest

from ..support import ROOT, RawClient, sync
from .support import free_port

pytestmark = pytest.mark.redis


async def test_cluster_demo_runs_three_nodes_that_share_a_room() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tcpchat", "cluster-demo", "--base-port", "0", "--redis-port", str(free_port())],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        ports = []
        for _ in range(5):
            line = proc.stdout.readline()
            if match := re.search(r"node n\d listening on [^ ]+:(\d+)", line):
                ports.append(int(match.group(1)))
            if line.startswith("cluster up"):
                break
        assert len(ports) == 3
        alice = await (await RawClient.connect(ports[0])).register("alice")
        bob = await (await RawClient.connect(ports[2])).register("bob")
        await alice.join("#demo")
        await bob.join("#demo")
        await sync(alice)
        await alice.send("PRIVMSG #demo :hello from node 1")
        assert (await bob.expect("PRIVMSG")).params == ("#demo", "hello from node 1")
        await alice.close()
        await bob.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
