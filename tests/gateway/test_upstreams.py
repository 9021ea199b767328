"""The gateway's upstream nodes: parsing ``--upstreams``, round robin, skipping dead nodes.

Ordering is tested with a fake clock (no sockets); dialling with real loopback listeners and a
port nothing listens on.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets
from pydantic import ValidationError

from web_gateway.endpoints import Endpoint, parse_endpoint, parse_upstreams
from web_gateway.settings import GatewaySettings
from web_gateway.upstream import NoUpstream, UpstreamPool, node_failure

from ..browser import WEBIRC_PASSWORD, start_gateway
from ..gateway_support import _collect

A, B, C = Endpoint("127.0.0.1", 1001), Endpoint("127.0.0.1", 1002), Endpoint("127.0.0.1", 1003)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pool(*endpoints: Endpoint, clock: Clock | None = None, retry_after: float = 10.0) -> UpstreamPool:
    return UpstreamPool(
        endpoints, retry_after=retry_after, dial_timeout=1.0, check_interval=5.0,
        clock=clock or Clock(), wall=lambda: 1_700_000_000.0,
    )


def test_parse_upstreams_forms_and_errors() -> None:
    assert parse_upstreams(" a:1, [::1]:2 ,unix:/run/irc.sock, b ,a:1", 6667) == (
        Endpoint("a", 1), Endpoint("::1", 2), Endpoint(unix_socket="/run/irc.sock"), Endpoint("b", 6667),
    )
    assert str(Endpoint("::1", 2)) == "[::1]:2" and str(Endpoint(unix_socket="/s")) == "unix:/s"
    for bad, why in [("a:0", "port"), ("a:x", "port"), ("::1:5", "IPv6"), ("[::1", "IPv6"),
                     ("unix:", "path"), (":5", "no host")]:
        with pytest.raises(ValueError, match=why):
            parse_endpoint(bad, 6667)


def test_settings_endpoints_default_to_irc_host_port_and_reject_bad_lists() -> None:
    assert GatewaySettings(irc_host="h", irc_port=7000).endpoints == (Endpoint("h", 7000),)
    assert GatewaySettings(irc_unix_socket="/s").endpoints == (Endpoint(unix_socket="/s"),)
    assert GatewaySettings(upstreams="x:1,y", irc_port=7000).endpoints == (Endpoint("x", 1), Endpoint("y", 7000))
    with pytest.raises(ValidationError, match="upstream 'x:99999'"):
        GatewaySettings(upstreams="x:99999")


def test_round_robin_spreads_connections_and_skips_a_dead_node_evenly() -> None:
    clock = Clock()
    p = pool(A, B, C, clock=clock)
    assert [p.order()[0] for _ in range(6)] == [A, B, C, A, B, C]
    p.mark_down(B, "refused")
    firsts = [p.order()[0] for _ in range(6)]
    assert firsts == [A, C, A, C, A, C]  # the live nodes share the load, B is not tried first
    assert p.order()[-1] == B  # still a last resort when every other node fails
    clock.now += 10.0  # retry_after passed: B is back in the rotation
    assert B in [p.order()[0] for _ in range(3)]


def test_all_down_tries_the_node_that_comes_back_first() -> None:
    clock = Clock()
    p = pool(A, B, clock=clock)
    p.mark_down(A, "refused")
    clock.now += 1
    p.mark_down(B, "refused")
    assert p.order() == [A, B]
    status = {s.address: s for s in p.status()}
    assert status[str(A)].state == "down" and status[str(A)].reason == "refused"
    assert status[str(A)].down_since == 1_700_000_000.0
    p.mark_up(A)
    assert [s.state for s in p.status()] == ["up", "down"]


def test_node_failure_is_the_nodes_fault_only() -> None:
    assert node_failure(ConnectionRefusedError()) and node_failure(TimeoutError())
    assert node_failure(OSError(113, "No route to host")) and node_failure(FileNotFoundError())
    assert not node_failure(ConnectionResetError())  # reached, then closed on us: not "down"


@pytest.fixture
async def listeners() -> AsyncIterator[list[Endpoint]]:
    """Two loopback listeners that accept and close, and a port nothing listens on."""
    servers = []
    for _ in range(2):
        servers.append(await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    yield [Endpoint("127.0.0.1", srv.sockets[0].getsockname()[1]) for srv in servers] + [Endpoint("127.0.0.1", dead)]
    for srv in servers:
        srv.close()
        await srv.wait_closed()


async def test_dial_skips_a_refusing_node_and_marks_it_down(listeners: list[Endpoint]) -> None:
    first, second, dead = listeners
    p = pool(dead, first, second)
    tried: list[Endpoint] = []

    async def open_one(endpoint: Endpoint) -> Endpoint:
        tried.append(endpoint)
        _, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
        writer.close()
        return endpoint

    assert await p.dial(open_one) == first  # dead refused, first answered
    assert tried == [dead, first]
    assert await p.dial(open_one) == second
    assert await p.dial(open_one) == first  # dead is skipped now, not retried
    assert tried == [dead, first, second, first]
    assert [s.state for s in p.status()] == ["down", "up", "up"]


async def test_dial_passes_a_refusal_of_the_user_through_without_marking_the_node(listeners: list[Endpoint]) -> None:
    first, second, _ = listeners
    p = pool(first, second)

    async def refused(endpoint: Endpoint) -> None:
        raise ConnectionResetError("closed during registration")

    with pytest.raises(ConnectionResetError):
        await p.dial(refused)
    assert [s.state for s in p.status()] == ["unknown", "unknown"]


async def test_every_node_down_names_each(listeners: list[Endpoint]) -> None:
    _, _, dead = listeners
    other_dead = Endpoint("127.0.0.1", dead.port)  # the same dead port under another name
    p = pool(dead, Endpoint("localhost", other_dead.port))

    async def open_one(endpoint: Endpoint) -> None:
        await asyncio.open_connection(endpoint.host, endpoint.port)

    with pytest.raises(NoUpstream, match=f"127.0.0.1:{dead.port}: .*; localhost:{dead.port}: "):
        await p.dial(open_one)
    single = pool(dead)
    with pytest.raises(ConnectionRefusedError):  # one node: its own error, as before
        await single.dial(open_one)


async def test_check_dials_stale_nodes_for_the_health_page(listeners: list[Endpoint]) -> None:
    first, _, dead = listeners
    p = pool(first, dead)
    states = await p.check()
    assert [(s.address, s.state) for s in states] == [(str(first), "up"), (str(dead), "down")]
    assert states[1].reason


async def test_raw_irc_skips_a_dead_upstream_and_health_shows_it_down(make_server) -> None:  # type: ignore[no-untyped-def]
    first, second = await make_server(webirc_password=WEBIRC_PASSWORD), await make_server(webirc_password=WEBIRC_PASSWORD)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    gw = await start_gateway(first.port, upstreams=f"127.0.0.1:{dead},127.0.0.1:{first.port},127.0.0.1:{second.port}")
    try:
        for nick in ("raw1", "raw2"):
            async with websockets.connect(gw.ws_url + "/irc", subprotocols=["text.ircv3.net"]) as ws:
                for line in (f"NICK {nick}", f"USER {nick} 0 * :raw"):
                    await ws.send(line)
                await _collect(ws, lambda line: " 376 " in line or " 422 " in line)  # all read: quick close
                on = [srv for srv in (first, second) if any(c.nick == nick for c in srv.state.clients.values())]
                assert len(on) == 1
                assert next(c for c in on[0].state.clients.values() if c.nick == nick).transport == "web"
                placed = on[0]
            if nick == "raw1":
                assert placed is first  # the dead node, first in the list, refused: the next one took it
            else:
                assert placed is second  # round robin went on after the node that took the last one
        async with httpx.AsyncClient(base_url=gw.http_url) as http:
            health = await http.get("/api/health")
            metrics = (await http.get("/metrics")).text
        assert [u["state"] for u in health.json()["upstreams"]] == ["down", "up", "up"]
        assert f'tcpchat_gateway_upstream_up{{address="127.0.0.1:{dead}"}} 0.0' in metrics
        assert f'tcpchat_gateway_upstream_up{{address="127.0.0.1:{first.port}"}} 1.0' in metrics
    finally:
        await gw.stop()
