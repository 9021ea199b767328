"""Fixtures of the cluster tests: a real ``redis-server`` on a free port, in-process nodes joined
to it, and registered raw clients on a chosen node."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from tcp_server.server import ChatServer

from ..support import RawClient
from .support import NODE, RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh ``redis-server`` for this test, killed after it."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def cluster(redis_server: RedisServer) -> AsyncIterator[Callable[..., Awaitable[ChatServer]]]:
    """Start in-process nodes joined to ``redis_server``; all shut down after the test."""
    started: list[ChatServer] = []

    async def node(**overrides: Any) -> ChatServer:
        from tcp_server.settings import ServerSettings

        n = len(started) + 1
        settings = ServerSettings(**{**NODE, "redis_url": redis_server.url, "node_id": f"n{n}",
                                     "server_name": f"n{n}.tcpchat.local", **overrides})
        srv = ChatServer(settings)
        await srv.start()
        started.append(srv)
        return srv

    yield node
    for srv in started:
        if not srv.stopped:
            await srv.shutdown()


@pytest.fixture
async def users() -> AsyncIterator[Callable[..., Awaitable[RawClient]]]:
    """Registered raw clients on a given node: ``await users(node, 'alice')``."""
    opened: list[RawClient] = []

    async def factory(node: ChatServer | int, nick: str, caps: str = "") -> RawClient:
        port = node if isinstance(node, int) else node.port
        client = await RawClient.connect(port)
        opened.append(client)
        await client.register(nick, caps)
        return client

    yield factory
    for c in opened:
        await c.close()
