"""Graceful shutdown in process: every client gets one ERROR, and nobody a flood of QUITs."""

from __future__ import annotations

import asyncio

from ..support import RawClient

N_CLIENTS = 60


async def test_shutdown_sends_each_client_one_error_and_no_peer_quits(make_server):
    server = await make_server()
    clients = [await RawClient.connect(server.port) for _ in range(N_CLIENTS)]
    for i, c in enumerate(clients):
        await c.register(f"user{i}")
        await c.join("#everyone")
    for c in clients:  # drain the JOIN storm
        await c.send("PING :drained")
        await c.expect("PONG", lambda m: m.params[-1] == "drained")
    unregistered = await RawClient.connect(server.port)
    await unregistered.send("NICK later")
    stopping = asyncio.create_task(server.shutdown())

    async def tail(c: RawClient) -> list[str]:
        got = await c.read_until_closed()
        await c.close()
        return [m.command for m in got]

    tails = await asyncio.gather(*(tail(c) for c in (*clients, unregistered)))
    await stopping
    for commands in tails:
        assert commands == ["ERROR"], commands
    assert server.stopped and server.state.clients == {}
