"""``tcpchat cluster-demo``: Redis and three nodes as child processes; users on two nodes chat."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys

import httpx
import pytest

from ..gateway_support import WsClient
from ..support import ROOT, RawClient, sync
from .support import free_port

pytestmark = pytest.mark.redis


async def test_cluster_demo_runs_three_nodes_that_share_a_room() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tcpchat", "cluster-demo", "--base-port", "0", "--redis-port", str(free_port()),
         "--web-port", "0"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        ports = []
        web, admin_password = 0, ""
        for _ in range(10):
            line = proc.stdout.readline()
            if match := re.search(r"node n\d listening on [^ ]+:(\d+)", line):
                ports.append(int(match.group(1)))
            if match := re.search(r"gateway listening on [^ ]+:(\d+)", line):
                web = int(match.group(1))
            if match := re.search(r"password (\S+)\)", line):
                admin_password = match.group(1)
            if line.startswith("cluster up"):
                break
        assert len(ports) == 3 and web
        alice = await (await RawClient.connect(ports[0])).register("alice")
        bob = await (await RawClient.connect(ports[2])).register("bob")
        await alice.join("#demo")
        await bob.join("#demo")
        await sync(alice)
        await alice.send("PRIVMSG #demo :hello from node 1")
        assert (await bob.expect("PRIVMSG")).params == ("#demo", "hello from node 1")
        # the gateway in front: two browsers land on two nodes (round robin) and talk
        ann, bea = await WsClient.open(f"ws://127.0.0.1:{web}/ws"), await WsClient.open(f"ws://127.0.0.1:{web}/ws")
        await ann.hello("ann")
        await bea.hello("bea")
        for ws in (ann, bea):
            await ws.join("#demo")
        await ann.send(type="send", room="#demo", text="hello through the gateway")
        got = await bea.expect("message", lambda e: e["text"] == "hello through the gateway")
        assert got["from"] == "ann"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web}", timeout=10) as http:
            listing = await http.get("/api/admin/connections", auth=("admin", admin_password))
        node = {c["nick"]: c["node"] for c in listing.json()["connections"]}
        assert node["ann"] != node["bea"]  # on two different nodes
        for c in (alice, bob, ann, bea):
            await c.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
