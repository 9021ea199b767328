"""The gateway reaching the server over a Unix socket (``--unix-socket`` / ``--irc-unix-socket``):
web users chat with TCP users, WEBIRC is accepted on the socket, the admin link works over it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from tcp_server.server import ChatServer

from ..browser import WEBIRC_PASSWORD, start_gateway
from ..gateway_support import WsClient
from ..support import RawClient

OPER_PASSWORD = "unix-oper-secret"


async def test_web_users_reach_the_server_over_its_unix_socket(
    make_server: Callable[..., Awaitable[ChatServer]], tmp_path: Path
) -> None:
    sock = tmp_path / "irc.sock"
    chat = await make_server(webirc_password=WEBIRC_PASSWORD, unix_socket=sock, oper_password=OPER_PASSWORD)
    assert sock.is_socket()
    gw = await start_gateway(chat.port, irc_unix_socket=str(sock), oper_password=OPER_PASSWORD,
                             admin_password="pw")
    bob = await RawClient.connect(chat.port)
    alice = await WsClient.open(gw.ws_url)
    try:
        await bob.register("bob")
        await bob.join("#lobby")
        await alice.hello("alice")
        await alice.join("#lobby")
        await alice.send(type="send", room="#lobby", text="over the socket")
        got = await bob.expect("PRIVMSG")
        assert got.params == ("#lobby", "over the socket") and got.source.startswith("alice!")
        [web] = [c for c in chat.state.clients.values() if c.nick == "alice"]
        assert web.transport == "web" and web.gateway  # WEBIRC was accepted on the socket
        async with httpx.AsyncClient(base_url=gw.http_url, auth=("admin", "pw"), timeout=10) as http:
            resp = await http.get("/api/admin/connections")
        assert resp.status_code == 200, resp.text
        assert "alice" in resp.text and "bob" in resp.text  # the operator link asked over the socket
    finally:
        await alice.close()
        await bob.close()
        await gw.stop()
        await chat.shutdown()
    assert not sock.exists()  # removed at shutdown


async def test_a_stale_socket_file_is_replaced(
    make_server: Callable[..., Awaitable[ChatServer]], tmp_path: Path
) -> None:
    sock = tmp_path / "irc.sock"
    stale = await asyncio.start_unix_server(lambda r, w: None, str(sock))
    stale.close()  # leaves the file behind, as a crashed server would
    assert sock.is_socket()
    chat = await make_server(unix_socket=sock)
    reader, writer = await asyncio.open_unix_connection(str(sock))
    writer.write(b"NICK carol\r\nUSER carol 0 * :carol\r\n")
    async with asyncio.timeout(10):
        while b" 001 " not in (line := await reader.readline()):
            assert line
    writer.close()
    await chat.shutdown()
