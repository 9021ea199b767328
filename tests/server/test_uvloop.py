"""The production event loop: key socket tests rerun on uvloop (the in-process fixtures use asyncio).

``tcpchat server`` runs on uvloop when it is installed, and its transports differ from asyncio's
(write buffers, half-close), so the behaviour that depends on them is checked on both.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from tcp_server.server import ChatServer
from tcp_server.settings import ServerSettings

from ..support import FAST, RawClient
from . import test_clients as clients
from . import test_labels as labels
from . import test_limits as limits
from . import test_shutdown as shutdown

uvloop = pytest.importorskip("uvloop")

TESTS = [
    limits.test_client_that_never_reads_is_dropped_others_get_everything_in_order,
    limits.test_flood_disconnects_with_excess_flood,
    limits.test_burst_over_the_allowance_is_slowed_not_dropped,
    limits.test_oversized_line_gets_417_and_connection_keeps_working,
    limits.test_max_clients_refuses_with_a_clear_error,
    limits.test_a_reply_bigger_than_the_sendq_reaches_a_client_that_reads,
    clients.test_quit_reaches_each_peer_exactly_once,
    clients.test_abrupt_close_propagates_once_and_frees_the_nick,
    clients.test_half_close_by_client_is_a_disconnect,
    labels.test_labelled_single_reply_ack_and_batch,
    shutdown.test_shutdown_sends_each_client_one_error_and_no_peer_quits,
]


def run_on_uvloop(test: Callable[..., Any]) -> None:
    """Run one of the async socket tests with fixtures built the same way as conftest's."""

    async def main() -> None:
        started: list[ChatServer] = []
        opened: list[RawClient] = []

        async def make_server(**overrides: Any) -> ChatServer:
            server = ChatServer(ServerSettings(**{**FAST, **overrides}))
            await server.start()
            started.append(server)
            return server

        async def connect(nick: str | None = None, caps: str = "") -> RawClient:
            if not started:
                await make_server()
            client = await RawClient.connect(started[0].port)
            opened.append(client)
            if nick:
                await client.register(nick, caps)
            return client

        fixtures = {"make_server": make_server, "connect": connect}
        names = inspect.signature(test).parameters
        if "server" in names:
            fixtures["server"] = await make_server()
        try:
            await test(**{name: fixtures[name] for name in names})
        finally:
            for c in opened:
                await c.close()
            for s in started:
                if not s.stopped:
                    await s.shutdown()

    uvloop.run(main())


@pytest.mark.parametrize("test", TESTS, ids=[t.__name__.removeprefix("test_") for t in TESTS])
def test_on_uvloop(test: Callable[..., Any]) -> None:
    run_on_uvloop(test)
