"""Fixtures of the account tests: a server with accounts on (real SQLite) and raw clients to it.

The SASL/REGISTER helpers are plain functions in ``tests/accounts_support.py`` (the admin and
gateway tests use them too).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tcp_server.server import ChatServer

from ..accounts_support import ACCOUNTS
from ..support import RawClient


@pytest.fixture
async def acct_server(make_server, tmp_path) -> ChatServer:
    """A server with history and accounts in ``tmp_path``."""
    return await make_server(data_dir=tmp_path, **ACCOUNTS)


@pytest.fixture
async def dial(acct_server: ChatServer) -> AsyncIterator[Callable[..., Awaitable[RawClient]]]:
    """Open raw clients to ``acct_server`` (closed after the test)."""
    clients: list[RawClient] = []

    async def factory(port: int | None = None) -> RawClient:
        client = await RawClient.connect(port or acct_server.port)
        clients.append(client)
        return client

    yield factory
    for c in clients:
        await c.close()
