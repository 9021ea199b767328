"""Random command sequences from several clients on real sockets (issue 10): after every step the
state invariants hold (each nick maps to one client, membership is symmetric, no empty channel
lingers) and so does the send-queue accounting of every connection (never negative, equal to what
is queued, a client over its sendq is dropped); at the end no connection is left behind.

The in-memory version (tests/commands/test_fuzz.py) covers many more sequences; this one runs the
real transport, whose byte counts and sendq drops the in-memory outbox does not have.
"""

from __future__ import annotations

import asyncio
import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcp_server.server import ChatServer
from tcp_server.settings import ServerSettings

from ..commands.test_fuzz import check_invariants, line
from ..support import RawClient
from .support import settle

SENDQ = 4096
BURST = "BURST"
"""A step that makes the client say 100 long lines (40 KB) to #a at once: the silent member
overflows its sendq and must be dropped."""
step = st.tuples(st.integers(0, 2), line)
steps = st.lists(st.one_of(step, step, step, st.just((0, BURST))), min_size=1, max_size=25)


def check_sendq_accounting(server: ChatServer) -> None:
    for conn in server.connections:
        assert conn.out_bytes == sum(len(b) for b in conn.out) >= 0
        assert conn.sendq_bytes >= 0
        if conn.overflowed:
            assert conn.out_bytes == 0 and not conn.out
        if conn.client is not None and not conn.client.gone:
            assert server.state.clients.get(conn.client.id) is conn.client


async def _silent_member(server: ChatServer) -> socket.socket:
    """A registered member of #a that never reads, behind a slow link.

    Loopback lets the kernel buffer megabytes for a reader that stops, so the server's socket
    buffer for this one peer is made small, as a slow network would (a few KiB in flight).
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    await asyncio.get_running_loop().sock_sendall(sock, b"NICK silent\r\nUSER s 0 * :s\r\nJOIN #a\r\n")
    assert await settle(lambda: "silent" in server.state.nicks)
    local = sock.getsockname()[1]
    for conn in server.connections:
        if conn.client is not None and conn.client.port == local and conn.transport is not None:
            conn.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    return sock


async def _step(client: RawClient, text: str) -> bool:
    """Send one step and wait until the server has handled it; False once the client is gone."""
    lines = [f"PRIVMSG #a :{k:03} " + "x" * 380 for k in range(100)] if text == BURST else [text]
    try:
        await client.send(*lines, "PING :step")
        while True:
            msg = await client.recv(10)
            if msg is None:
                return False
            if msg.command == "PONG" and msg.param(1) == "step":
                return True
    except (ConnectionError, OSError):
        return False


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=steps)
async def test_real_connections_keep_state_and_sendq_accounting_consistent(script) -> None:
    server = ChatServer(ServerSettings(
        port=0, history=False, flood_rate=0, use_uvloop=False, cloak_hosts=False, shutdown_grace=0,
        sendq=SENDQ, oper_password="pw", max_channels_per_client=3, webirc_password="gw",
        max_clients_per_ip=0,
    ))
    await server.start()
    try:
        silent = await _silent_member(server)
        clients = [await RawClient.connect(server.port) for _ in range(3)]
        await clients[0].register("alice")
        await clients[1].register("bob")
        await clients[0].join("#a")
        live = [True, True, True]
        alice, quiet = server.state.nicks["alice"], server.state.nicks["silent"]
        for i, text in script:
            channel = server.state.channels.get("#a")
            floods_silent = (
                i == 0 and text == BURST and channel is not None and {alice, quiet} <= channel.members.keys()
            )
            if live[i]:
                live[i] = await _step(clients[i], text)
            if floods_silent and live[i]:
                assert quiet.gone, "a member 40 KB behind was not dropped"
            check_invariants(server)
            check_sendq_accounting(server)
        for c in clients:
            await c.close()
        silent.close()
        assert await settle(lambda: not server.connections and not server.state.clients)
        assert not server.state.nicks and not server.state.channels
    finally:
        await server.shutdown()

