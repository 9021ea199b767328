"""The gateway below HTTP: idle and slowloris sockets are closed, one address cannot hold them all.

Real uvicorn (the gateway's own config) on 127.0.0.1; the attacker's sockets come from 127.0.0.2,
a normal browser from 127.0.0.1 keeps getting pages and WebSockets throughout.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from ..browser import WEBIRC_PASSWORD, start_gateway


async def _open(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes | None:
    """What the server sent before closing, or None if it is still open after ``seconds``."""
    data = b""
    try:
        async with asyncio.timeout(seconds):
            while chunk := await reader.read(4096):
                data += chunk
    except TimeoutError:
        return None
    except ConnectionError:
        pass
    return data


async def test_idle_and_slow_header_sockets_are_closed_and_others_are_served(make_server) -> None:
    chat = await make_server()
    gw = await start_gateway(chat.port, http_header_timeout=1.0, http_max_per_ip=50)
    try:
        idle = [await _open(gw.port, "127.0.0.2") for _ in range(10)]
        slow = [await _open(gw.port, "127.0.0.2") for _ in range(10)]
        for _, w in slow:
            w.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes its headers

        async def trickle() -> None:
            for _ in range(8):
                await asyncio.sleep(0.25)
                for _, w in slow:
                    w.write(b"X-a: b\r\n")

        trickling = asyncio.create_task(trickle())
        async with httpx.AsyncClient(base_url=gw.http_url) as http:  # meanwhile, a browser is served
            assert (await http.get("/")).status_code == 200
        results = await asyncio.gather(*(_closed_within(r, 5.0) for r, _ in (*idle, *slow)))
        trickling.cancel()
        assert all(r is not None for r in results), "a socket without complete headers stayed open"
        async with httpx.AsyncClient(base_url=gw.http_url) as http:  # a complete request is unaffected
            assert (await http.get("/")).status_code == 200
    finally:
        await gw.stop()


async def test_one_address_cannot_hold_more_than_http_max_per_ip(make_server) -> None:
    chat = await make_server(webirc_password=WEBIRC_PASSWORD)
    gw = await start_gateway(chat.port, http_max_per_ip=20, http_header_timeout=30.0, ws_max_per_ip=0)
    try:
        held = [await _open(gw.port, "127.0.0.3") for _ in range(20)]
        extra_r, extra_w = await _open(gw.port, "127.0.0.3")
        refused = await _closed_within(extra_r, 5.0)
        assert refused is not None and b"429" in refused
        # a WebSocket from another address still works while 127.0.0.3 is at its limit
        url = gw.http_url.replace("http", "ws") + "/ws"
        async with websockets.connect(url, origin=gw.http_url) as ws:
            await ws.send(json.dumps({"type": "hello", "nick": "fine"}))
            event = json.loads(await asyncio.wait_for(ws.recv(), 10))
            while event.get("state") != "connected":  # ("account", then "connecting" come first)
                assert event["type"] != "error", event
                event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        for _, w in held[:5]:  # closing some frees their places
            w.close()
        await asyncio.sleep(0.3)
        again_r, again_w = await _open(gw.port, "127.0.0.3")
        again_w.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        reply = await _closed_within(again_r, 5.0)
        assert reply is not None and reply.startswith(b"HTTP/1.1 200")
        for _, w in (*held[5:], (extra_r, extra_w), (again_r, again_w)):
            w.close()
    finally:
        await gw.stop()
