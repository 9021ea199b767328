"""Helpers of the gateway end-to-end tests (``tests/gateway/``, also hardening and accounts): a
browser stand-in speaking the /ws JSON protocol and a raw-IRC frame collector.

The ``chat`` / ``gateway`` / ``clients`` fixtures built on them are in ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

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
