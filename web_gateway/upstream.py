"""Opening the gateway's raw connections to the chat server (one place for host, port, Unix socket,
TLS, timeout)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import TypeVar

from .settings import GatewaySettings

P = TypeVar("P", bound=asyncio.Protocol)


async def open_upstream(settings: GatewaySettings, factory: Callable[[], P]) -> tuple[asyncio.Transport, P]:
    """Connect ``factory()``'s protocol to the chat server; raises ``OSError`` or ``TimeoutError``
    when it is unreachable."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(settings.connect_timeout):
        if settings.irc_unix_socket:
            return await loop.create_unix_connection(factory, settings.irc_unix_socket)
        tls = ssl.create_default_context() if settings.irc_tls else None
        return await loop.create_connection(
            factory, settings.irc_host, settings.irc_port, ssl=tls,
            server_hostname=settings.irc_host if tls else None,
        )
