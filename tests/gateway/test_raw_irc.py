"""The gateway's raw IRC WebSocket (/ws/irc, text.ircv3.net and binary.ircv3.net subprotocols) end
to end: a real chat server and a real uvicorn gateway; line framing, injection, flood cut-off."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tcp_server.server import ChatServer

from ..browser import RunningGateway, start_gateway
from ..gateway_support import TIMEOUT, _collect
from ..support import RawClient


async def test_raw_irc_text_subprotocol(gateway: RunningGateway, chat: ChatServer) -> None:
    bob = await RawClient.connect(chat.port)
    await bob.register("bob")
    await bob.join("#lobby")
    async with websockets.connect(gateway.ws_url + "/irc", subprotocols=["text.ircv3.net"]) as ws:
        assert ws.subprotocol == "text.ircv3.net"
        for line in ("NICK webby", "USER webby 0 * :Web user", "JOIN #lobby"):
            await ws.send(line)
        lines = await _collect(ws, lambda line: " 366 " in line)
        assert all("\r" not in line and "\n" not in line for line in lines)
        assert any(" 001 webby " in line for line in lines)
        await bob.send("PRIVMSG #lobby :hello raw")
        assert any("hello raw" in line for line in await _collect(ws, lambda line: "hello raw" in line))
        await ws.send("PRIVMSG #lobby :hello from raw\r\n")
        assert (await bob.expect("PRIVMSG")).params == ("#lobby", "hello from raw")
    [web] = [c for c in chat.state.clients.values() if c.transport == "web"] or [None]
    assert web is None or web.nick == "webby"
    await bob.close()


async def test_raw_irc_binary_subprotocol_and_injection(gateway: RunningGateway, chat: ChatServer) -> None:
    async with websockets.connect(gateway.ws_url + "/irc", subprotocols=["binary.ircv3.net"]) as ws:
        assert ws.subprotocol == "binary.ircv3.net"
        await ws.send(b"NICK bin")
        await ws.send(b"USER bin 0 * :x\r\nQUIT :smuggled")  # two lines in one frame: dropped
        await ws.send(b"USER bin 0 * :Binary")
        first = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert isinstance(first, bytes)
        rest = await _collect(ws, lambda line: " 376 " in line)
        assert any(" 001 bin " in line for line in [first.decode(), *rest])
    [web] = [c for c in chat.state.clients.values() if c.nick == "bin"] or [None]
    assert web is None or web.transport == "web"


async def test_raw_irc_flood_is_cut_off_and_others_carry_on(chat: ChatServer) -> None:
    gw = await start_gateway(chat.port, ws_rate=1.0, ws_burst=5)
    bob = await RawClient.connect(chat.port)
    await bob.register("bob")
    await bob.join("#lobby")
    try:
        async with websockets.connect(gw.ws_url + "/irc", subprotocols=["text.ircv3.net"]) as ws:
            for i in range(200):
                await ws.send(f"PRIVMSG #lobby :flood {i}")
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await asyncio.wait_for(ws.recv(), TIMEOUT)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1008
        await bob.send("PING :alive")
        assert (await bob.expect("PONG")).params[-1] == "alive"
    finally:
        await bob.close()
        await gw.stop()
