"""Helpers for the admin/API tests: a chat server and a gateway wired with the shared secrets.

The ``stack`` fixture built on them is in ``tests/api/conftest.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tcp_server.server import ChatServer

from .browser import WEBIRC_PASSWORD, RunningGateway, start_gateway
from .support import RawClient

OPER_PASSWORD = "test-oper-secret"
ADMIN_PASSWORD = "test-admin-secret"
API_TOKEN = "test-api-token"
BASIC = httpx.BasicAuth("admin", ADMIN_PASSWORD)
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}


@dataclass
class Stack:
    chat: ChatServer
    gateway: RunningGateway
    http: httpx.AsyncClient

    @property
    def url(self) -> str:
        return self.gateway.http_url


async def start_stack(
    make_server: Callable[..., Awaitable[ChatServer]],
    server: dict[str, Any] | None = None,
    **gateway: Any,
) -> Stack:
    """A chat server (OPER and WEBIRC configured) and a gateway with admin password and API token."""
    chat = await make_server(oper_password=OPER_PASSWORD, webirc_password=WEBIRC_PASSWORD, **(server or {}))
    gw = await start_gateway(
        chat.port,
        **{
            "oper_password": OPER_PASSWORD,
            "admin_password": ADMIN_PASSWORD,
            "api_token": API_TOKEN,
            "api_timeout": 3.0,
            **gateway,
        },
    )
    http = httpx.AsyncClient(base_url=gw.http_url, timeout=10)
    return Stack(chat, gw, http)


async def stop_stack(stack: Stack) -> None:
    await stack.http.aclose()
    await stack.gateway.stop()


async def tcp(stack: Stack, nick: str, *rooms: str) -> RawClient:
    client = await (await RawClient.connect(stack.chat.port)).register(nick)
    for room in rooms:
        await client.join(room)
    return client
