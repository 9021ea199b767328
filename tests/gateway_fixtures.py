"""Shared pieces of the gateway end-to-end tests (``test_gateway*.py``): a browser stand-in speaking
the /ws JSON protocol, the chat server / gateway / clients fixtures, and a raw-IRC frame collector.

Test modules import the fixtures by name (``from .gateway_fixtures import chat as chat``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tcp_server.server import ChatServer

from .browser import WEBIRC_PASSWORD, RunningGateway, start_gateway
from .support import RawClient

TIMEOUT = 10.0


class WsClient:
    """A browser stand-in speaking the /ws JSON protocol; remembers every event it received."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str, **kwargs: Any) -> WsClient:
        return cls(await websockets.connect(url, **kwargs))

    async def send(self, **command: Any) -> None:
        await self.ws.send(json.dumps(command))

    async def expect(
        self, type_: str, pred: Callable[[dict[str, Any]], bool] | None = None, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        async def scan() -> dict[str, Any]:
            while True:
                event = json.loads(await self.ws.recv())
                self.seen.append(event)
                if event["type"] == type_ and (pred is None or pred(event)):
                    return event

        return await asyncio.wait_for(scan(), timeout)

    async def hello(self, nick: str) -> dict[str, Any]:
        await self.send(type="hello", nick=nick)
        return await self.expect("status", lambda e: e["state"] == "connected")

    async def join(self, room: str) -> dict[str, Any]:
        await self.send(type="join", room=room)
        return await self.expect("names", lambda e: e["room"].lower() == room.lower())

    async def close(self) -> None:
        await self.ws.close()


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


async def _collect(ws: Any, until: Callable[[str], bool]) -> list[str]:
    lines: list[str] = []
    while True:
        try:
            frame = await asyncio.wait_for(ws.recv(), TIMEOUT)
        except ConnectionClosed:
            return lines
        line = frame.decode() if isinstance(frame, bytes) else frame
        lines.append(line)
        if until(line):
            return lines
