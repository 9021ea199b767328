"""Opening the gateway's raw connections to the chat server (one place for host, port, Unix socket,
TLS, timeout)."""

from __future__ import annotations

import asyncio
import ssl

from .settings import GatewaySettings


async def open_upstream(settings: GatewaySettings) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the chat server; raises ``OSError`` or ``TimeoutError`` when it is unreachable."""
    if settings.irc_unix_socket:
        return await asyncio.wait_for(asyncio.open_unix_connection(settings.irc_unix_socket), settings.connect_timeout)
    tls = ssl.create_default_context() if settings.irc_tls else None
    return await asyncio.wait_for(
        asyncio.open_connection(
            settings.irc_host,
            settings.irc_port,
            ssl=tls,
            server_hostname=settings.irc_host if tls else None,
        ),
        settings.connect_timeout,
    )
