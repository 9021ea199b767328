"""Shared fixtures: an in-process server on a free port (same event loop as the test)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tcp_server.server import ChatServer
from tcp_server.settings import ServerSettings

from .support import RawClient

# Every test client connects from 127.0.0.1, many at once: the per-address limit (default 16) and the
# connect throttle are off for the suite (child-process servers inherit this); their tests set them.
os.environ.setdefault("TCPCHAT_MAX_CLIENTS_PER_IP", "0")
os.environ.setdefault("TCPCHAT_CONNECT_RATE_PER_IP", "0")

FAST = {"flood_rate": 0, "history": False, "port": 0, "use_uvloop": False}


@pytest.fixture
async def make_server() -> AsyncIterator[Callable[..., Awaitable[ChatServer]]]:
    """Start ChatServers with settings overrides; all are shut down after the test."""
    started: list[ChatServer] = []

    async def factory(**overrides: Any) -> ChatServer:
        settings = ServerSettings(**{**FAST, **overrides})
        server = ChatServer(settings)
        await server.start()
        started.append(server)
        return server

    yield factory
    for srv in started:
        if not srv.stopped:
            await srv.shutdown()


@pytest.fixture
async def server(make_server: Callable[..., Awaitable[ChatServer]]) -> ChatServer:
    """A running server with default test settings."""
    return await make_server()


@pytest.fixture
async def connect(server: ChatServer) -> AsyncIterator[Callable[..., Awaitable[RawClient]]]:
    """Open raw clients to ``server``; ``await connect('alice')`` registers too."""
    clients: list[RawClient] = []

    async def factory(nick: str | None = None, caps: str = "") -> RawClient:
        client = await RawClient.connect(server.port)
        clients.append(client)
        if nick:
            await client.register(nick, caps)
        return client

    yield factory
    for c in clients:
        await c.close()
