"""Fixtures of the HTTP API tests: ``stack`` is a chat server plus a real uvicorn gateway with the
admin and API secrets set, and an httpx client to it (``tests/admin_harness.py`` builds it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tcp_server.server import ChatServer

from ..admin_harness import Stack, start_stack, stop_stack


@pytest.fixture
async def stack(make_server: Callable[..., Awaitable[ChatServer]]) -> AsyncIterator[Stack]:
    s = await start_stack(make_server)
    yield s
    await stop_stack(s)
