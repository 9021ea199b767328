"""Fixtures shared by several test folders: in-process servers on free ports (same event loop as
the test), raw clients, client sessions, an in-process gateway, and a private PostgreSQL.

A folder's own fixtures live in its ``conftest.py`` (``tests/<folder>/conftest.py``); a folder may
override one of these by name (``tests/page/conftest.py``'s ``gateway`` is a real child process).
Plain helpers (clients, process runners) are modules: ``support.py``, ``browser.py``, ...
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from tcp_client.session import ClientSession, SessionConfig
from tcp_server.server import ChatServer
from tcp_server.settings import ServerSettings

from .browser import WEBIRC_PASSWORD, RunningGateway, start_gateway
from .client_support import FAST as CLIENT_FAST
from .gateway_support import WsClient
from .postgres import private_cluster
from .support import FAST, RawClient

# Every test client connects from 127.0.0.1, many at once: the per-address limit (default 16) and the
# connect throttle are off for the suite (child-process servers inherit this); their tests set them.
os.environ.setdefault("TCPCHAT_MAX_CLIENTS_PER_IP", "0")
os.environ.setdefault("TCPCHAT_CONNECT_RATE_PER_IP", "0")


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


@pytest.fixture
async def chat(make_server: Callable[..., Awaitable[ChatServer]]) -> ChatServer:
    """A chat server that trusts the test gateway's WEBIRC password."""
    return await make_server(webirc_password=WEBIRC_PASSWORD)


@pytest.fixture
async def gateway(chat: ChatServer) -> AsyncIterator[RunningGateway]:
    gw = await start_gateway(chat.port)
    yield gw
    await gw.stop()


@pytest.fixture
async def clients(gateway: RunningGateway, chat: ChatServer) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """``await clients(ws='alice')`` -> a registered WsClient; ``clients(tcp='bob')`` -> RawClient."""
    opened: list[Any] = []

    async def factory(ws: str | None = None, tcp: str | None = None) -> Any:
        if ws is not None:
            client = await WsClient.open(gateway.ws_url)
            opened.append(client)
            await client.hello(ws)
            return client
        raw = await RawClient.connect(chat.port)
        opened.append(raw)
        await raw.register(tcp or "tcpuser", caps="message-tags server-time")
        return raw

    yield factory
    for c in opened:
        await c.close()


@pytest.fixture
async def sessions():
    """``sessions(port, nick, **config)`` -> a ClientSession with fast backoff, closed after the test."""
    made: list[ClientSession] = []

    def factory(port: int, nick: str, **kw) -> ClientSession:
        s = ClientSession(SessionConfig("127.0.0.1", port, nick, **{**CLIENT_FAST, **kw}))
        made.append(s)
        return s

    yield factory
    for s in made:
        await s.close()


@pytest.fixture(scope="module")
def pg_socket_dir() -> Iterator[tuple[str, int]]:
    """A private PostgreSQL cluster for this module: (socket dir, port); see ``postgres.py``."""
    with private_cluster() as pg:
        yield pg
