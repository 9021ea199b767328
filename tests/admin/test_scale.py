"""Soak: the admin API with many connections (``pytest -m slow``; TCPCHAT_SOAK_SCALE=small in CI).

Every connection is listed with correct totals, the rooms view sees every room, a kill among
many works, and the gateway's operator link is not dropped for the size of the ``STATS l`` reply.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import pytest

from tcp_server.server import ChatServer

from ..admin_harness import BASIC, start_stack, stop_stack

SOAK = {"small": (200, 10), "full": (2000, 50)}
"""TCPCHAT_SOAK_SCALE -> (connections, rooms)."""


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_many_connections_listed_and_killable(make_server: Callable[..., Awaitable[ChatServer]]) -> None:
    count, rooms = SOAK[os.environ.get("TCPCHAT_SOAK_SCALE", "full")]
    stack = await start_stack(make_server, server={"flood_rate": 0})
    socks: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    readers: list[asyncio.Task[None]] = []

    async def drain(reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    try:
        for i in range(count):
            reader, writer = await asyncio.open_connection("127.0.0.1", stack.chat.port)
            writer.write(f"NICK soak{i}\r\nUSER s 0 * :s\r\nJOIN #soak{i % rooms}\r\n".encode())
            socks.append((reader, writer))
            readers.append(asyncio.create_task(drain(reader)))
        for _ in range(600):
            if sum(c.registered for c in stack.chat.state.clients.values()) >= count:
                break
            await asyncio.sleep(0.05)

        for _ in range(3):  # repeated listings: the operator link survives the big replies
            resp = await stack.http.get("/api/admin/connections", auth=BASIC)
            assert resp.status_code == 200, resp.text
            data = resp.json()
            assert data["totals"]["connections"] == count + 1
            assert data["totals"]["registered"] == count + 1
        listed = (await stack.http.get("/api/rooms")).json()["rooms"]
        assert len(listed) == rooms
        assert sum(r["member_count"] for r in listed) == count
        assert stack.chat.state.counters.sendq_drops == 0

        victim = next(c for c in data["connections"] if c["nick"] == f"soak{count // 2}")
        resp = await stack.http.delete(f"/api/admin/connections/{victim['id']}", auth=BASIC)
        assert resp.status_code == 200
        after = (await stack.http.get("/api/admin/connections", auth=BASIC)).json()
        assert after["totals"]["connections"] == count
        assert victim["id"] not in {c["id"] for c in after["connections"]}
    finally:
        for task in readers:
            task.cancel()
        for _, writer in socks:
            writer.close()
        await stop_stack(stack)
