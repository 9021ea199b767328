"""The gateway's /metrics: open WebSockets by kind, admin logins, kills (real uvicorn + TCP server)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families

from tcp_server.server import ChatServer

from ..admin_harness import BASIC, Stack, start_stack, stop_stack
from ..support import RawClient


async def samples(stack: Stack) -> dict[str, float]:
    resp = await stack.http.get("/metrics")
    assert resp.status_code == 200
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


async def test_websockets_logins_and_kills_are_counted(make_server: Callable[..., Awaitable[ChatServer]]) -> None:
    stack = await start_stack(make_server)
    try:
        async with websockets.connect(stack.gateway.ws_url) as ws:
            await ws.send(json.dumps({"type": "hello", "nick": "webby"}))
            while json.loads(await asyncio.wait_for(ws.recv(), 10)).get("state") != "connected":
                pass
            assert (await samples(stack))["tcpchat_gateway_websockets{kind=json}"] == 1
        for _ in range(200):
            if (await samples(stack))["tcpchat_gateway_websockets{kind=json}"] == 0:
                break
            await asyncio.sleep(0.02)
        assert (await samples(stack))["tcpchat_gateway_websockets{kind=json}"] == 0

        page = await stack.http.get("/admin/login")
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        await stack.http.post("/admin/login", data={"username": "admin", "password": "wrong", "csrf": token})
        victim = await (await RawClient.connect(stack.chat.port)).register("victim")
        data = (await stack.http.get("/api/admin/connections", auth=BASIC)).json()
        vid = next(c["id"] for c in data["connections"] if c["nick"] == "victim")
        assert (await stack.http.delete(f"/api/admin/connections/{vid}", auth=BASIC)).status_code == 200
        await victim.read_until_closed()
        got = await samples(stack)
        assert got["tcpchat_gateway_admin_logins_total{result=failed}"] == 1
        assert got["tcpchat_gateway_admin_kills_total"] == 1
        assert got["tcpchat_gateway_irc_link_up{link=oper}"] == 1
        assert "process_resident_memory_bytes" in got
    finally:
        await stop_stack(stack)


async def test_upstream_errors_are_counted(make_server: Callable[..., Awaitable[ChatServer]]) -> None:
    stack = await start_stack(make_server)
    try:
        await stack.chat.shutdown()
        assert (await stack.http.get("/api/rooms")).status_code == 503
        got = await samples(stack)
        assert got["tcpchat_gateway_upstream_errors_total"] >= 1
        assert got["tcpchat_gateway_irc_link_up{link=oper}"] == 0
    finally:
        await stop_stack(stack)


async def test_metrics_is_not_in_the_api_schema(make_server: Callable[..., Awaitable[ChatServer]]) -> None:
    stack = await start_stack(make_server)
    try:
        schema = (await stack.http.get("/api/openapi.json")).json()
        assert "/metrics" not in schema["paths"]
        assert isinstance(stack.http, httpx.AsyncClient)
    finally:
        await stop_stack(stack)
