"""The gateway answers only to its own host names (DNS rebinding guard), over a real uvicorn.

A page on an attacker's site whose DNS name is rebound to 127.0.0.1 sends ``Host`` and ``Origin``
of that site: they match each other, so an Origin check alone lets it in. The Host check does not.
"""

from __future__ import annotations

import httpx
import websockets
from websockets.exceptions import InvalidStatus

from tcp_server.server import ChatServer

from ..browser import RunningGateway, start_gateway

REBOUND = {"Host": "evil.example", "Origin": "http://evil.example"}


async def _ws_status(port: int) -> int:
    """101 when a /ws handshake from a page on the rebound name is accepted, else the refusal status."""
    try:
        async with websockets.connect(
            f"ws://evil.example:{port}/ws",  # Host: evil.example:port, but the socket goes to loopback
            host="127.0.0.1",
            port=port,
            origin=f"http://evil.example:{port}",  # type: ignore[arg-type]
        ):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def test_known_host_names_are_served(gateway: RunningGateway) -> None:
    async with httpx.AsyncClient() as http:
        for host in ("127.0.0.1", "localhost"):
            res = await http.get(f"http://127.0.0.1:{gateway.port}/", headers={"Host": f"{host}:{gateway.port}"})
            assert res.status_code == 200, host


async def test_a_rebound_dns_name_is_refused_for_pages_api_and_websockets(gateway: RunningGateway) -> None:
    async with httpx.AsyncClient() as http:
        page = await http.get(f"http://127.0.0.1:{gateway.port}/", headers=REBOUND)
        api = await http.get(f"http://127.0.0.1:{gateway.port}/api/health", headers=REBOUND)
    assert (page.status_code, api.status_code) == (400, 400)
    assert await _ws_status(gateway.port) == 403  # refused before any route runs


async def test_allowed_hosts_star_opens_it_again(chat: ChatServer) -> None:
    gw = await start_gateway(chat.port, allowed_hosts="*")
    try:
        assert await _ws_status(gw.port) == 101
    finally:
        await gw.stop()
