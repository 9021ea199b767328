"""Soak: many WebSocket users and TCP users chatting through the gateway, users coming and going.

Every line posted reaches every user in the room exactly once and in each sender's order, and when
everyone has left the gateway holds nothing (no counted sockets, no web connections upstream).
``pytest -m slow``; ``TCPCHAT_SOAK_SCALE=small`` in CI.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable

import pytest
import websockets

from tcp_server.server import ChatServer

from ..browser import WEBIRC_PASSWORD, start_gateway
from ..support import RawClient

SCALES = {"small": (20, 3, 20, 3), "full": (150, 10, 60, 10)}
"""TCPCHAT_SOAK_SCALE -> (web users, TCP users, lines per sender, churn rounds)."""
TIMEOUT = 60.0


@pytest.mark.slow
async def test_web_and_tcp_users_soak(make_server: Callable[..., Awaitable[ChatServer]]) -> None:
    web_n, tcp_n, per_sender, rounds = SCALES[os.environ.get("TCPCHAT_SOAK_SCALE", "full")]
    chat = await make_server(webirc_password=WEBIRC_PASSWORD)
    gw = await start_gateway(chat.port, ws_rate=0, ws_max_per_ip=0)
    try:
        webs = []
        for i in range(web_n):
            ws = await websockets.connect(gw.ws_url, close_timeout=1)
            await ws.send(json.dumps({"type": "hello", "nick": f"web{i}"}))
            await ws.send(json.dumps({"type": "join", "room": "#soak"}))
            webs.append(ws)
        tcps = []
        for i in range(tcp_n):
            raw = await RawClient.connect(chat.port)
            await raw.register(f"tcp{i}")
            await raw.join("#soak")
            tcps.append(raw)
        for ws in webs:  # everyone is in before anyone talks
            while json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))["type"] != "names":
                pass

        senders = [f"web{i}" for i in range(0, web_n, max(1, web_n // 3))] + ["tcp0"]
        expected = {s: [f"{s} {k}" for k in range(per_sender)] for s in senders}

        async def web_reader(ws: websockets.ClientConnection, me: str) -> dict[str, list[str]]:
            got: dict[str, list[str]] = {s: [] for s in senders}
            want = sum(per_sender for s in senders)
            seen = 0
            while seen < want:
                event = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                if event["type"] == "message" and event.get("room") == "#soak":
                    got[event["from"]].append(event["text"])
                    seen += 1
            return got

        readers = [asyncio.create_task(web_reader(ws, f"web{i}")) for i, ws in enumerate(webs)]
        for k in range(per_sender):
            for s in senders:
                if s.startswith("web"):
                    await webs[int(s[3:])].send(json.dumps({"type": "send", "room": "#soak", "text": f"{s} {k}"}))
                else:
                    await tcps[0].send(f"PRIVMSG #soak :{s} {k}")
            await asyncio.sleep(0.01)
        results = await asyncio.gather(*readers)
        for got in results:
            assert got == expected  # exactly once, in each sender's order (own lines via echo)

        # Churn: users leave and come back; the gateway forgets them completely.
        for r in range(rounds):
            ws = webs.pop()
            await ws.close()
            again = await websockets.connect(gw.ws_url, close_timeout=1)
            await again.send(json.dumps({"type": "hello", "nick": f"again{r}"}))
            await again.send(json.dumps({"type": "join", "room": "#soak"}))
            while json.loads(await asyncio.wait_for(again.recv(), TIMEOUT))["type"] != "names":
                pass
            webs.append(again)
        # The test clients stopped reading, so do not wait out each close handshake in turn.
        await asyncio.gather(*(ws.close() for ws in webs))
        for raw in tcps:
            await raw.close()
        for _ in range(500):
            if not gw.app.state.ws_counter.open and not any(
                c.transport == "web" for c in chat.state.clients.values()
            ):
                break
            await asyncio.sleep(0.02)
        assert gw.app.state.ws_counter.open == {}
        assert not [c.nick for c in chat.state.clients.values() if c.transport == "web"]
    finally:
        await gw.stop()
