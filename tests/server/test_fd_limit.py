"""What every client socket gets from the server: enough descriptors, and its socket options.

The server raises its own open-file limit (a low inherited soft limit must not cap clients), and
sets TCP_NODELAY and SO_KEEPALIVE once on the listener so accepted sockets inherit them.
"""

from __future__ import annotations

import asyncio
import re
import resource
import socket
import subprocess
import sys

import pytest

from ..support import ROOT, RawClient

LOW_SOFT_LIMIT = 128
CLIENTS = 160
"""More clients than the inherited soft limit allows descriptors."""


def _lower_soft_limit() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (LOW_SOFT_LIMIT, hard))


def _soft_limit_of(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard) if hard.isdigit() else -1
    raise AssertionError("no open-files line in /proc/PID/limits")


async def test_server_raises_a_low_inherited_fd_limit_and_serves_more_clients_than_it() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < CLIENTS + 100:
        pytest.skip(f"hard open-file limit {hard} is too low for this test")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tcpchat", "server", "--port", "0", "--no-history", "--flood-rate", "0",
         "--max-clients-per-ip", "0", "--log-level", "INFO"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        preexec_fn=_lower_soft_limit,
    )
    clients: list[RawClient] = []
    try:
        assert proc.stdout is not None
        match = re.search(r"listening on [^ ]+:(\d+)", proc.stdout.readline())
        assert match, "server did not start"
        port = int(match.group(1))
        soft, hard_seen = _soft_limit_of(proc.pid)
        assert soft > LOW_SOFT_LIMIT and (hard_seen == -1 or soft == hard_seen)
        for i in range(CLIENTS):
            client = await RawClient.connect(port)
            clients.append(client)
            await client.send(f"NICK fd{i}")
            await client.send(f"USER fd{i} 0 * :fd")
        for client in clients:
            await client.expect("001")
        await clients[-1].send("LUSERS")
        reply = await clients[-1].expect("251")
        assert f"There are {CLIENTS} users" in reply.params[-1]
    finally:
        for client in clients:
            await client.close()
        proc.terminate()
        _, err = await asyncio.to_thread(proc.communicate, timeout=10)
    assert re.search(rf"open-file limit \d+ \(was {LOW_SOFT_LIMIT}, hard limit", err), err[-2000:]


async def test_accepted_client_sockets_have_nodelay_and_keepalive(server, connect) -> None:
    client = await connect()
    await client.register("opts")
    conns = [c for c in server.connections if c.client is not None and c.client.nick == "opts"]
    assert len(conns) == 1 and conns[0].transport is not None
    sock = conns[0].transport.get_extra_info("socket")
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
