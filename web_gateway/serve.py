"""Running the gateway under uvicorn: one place that turns ``GatewaySettings`` into a uvicorn Config."""

from __future__ import annotations

import logging
import sys

import uvicorn

from .app import create_app
from .settings import GatewaySettings
from .ws_direct import GatewayWebSocketProtocol

WS_TRANSPORT_LIMIT = 1024 * 1024
"""Frames up to this size are read and answered with a ``too_large`` error event when over
``ws_max_frame``; larger ones make uvicorn close the socket (1009) without reading them."""


def uvicorn_config(settings: GatewaySettings, **overrides: object) -> uvicorn.Config:
    """The uvicorn Config for ``create_app(settings)``."""
    kwargs: dict[str, object] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        "lifespan": "on",
        # The sans-I/O websockets implementation (what "auto" picks today, named so it stays):
        # no task or lock per connection, one transport.write per frame, and uvicorn's
        # pause_writing flow control, which the bridge's backpressure relies on; extended so
        # the bridge writes a room line's frame, built once, straight to each browser's socket.
        "ws": GatewayWebSocketProtocol,
        "ws_max_size": max(WS_TRANSPORT_LIMIT, settings.ws_max_frame * 4),
        # Chat events are small: compressing each costs CPU and ~64 KiB of zlib state per socket,
        # and compressing secrets next to attacker-chosen text invites CRIME-style guessing.
        "ws_per_message_deflate": False,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "server_header": False,
        "proxy_headers": False,
        "loop": "uvloop" if settings.use_uvloop else "asyncio",
    }
    kwargs.update(overrides)
    return uvicorn.Config(create_app(settings), **kwargs)  # type: ignore[arg-type]


def run(settings: GatewaySettings) -> None:
    """Serve until SIGINT/SIGTERM (the ``tcpchat gateway`` command); prints ``listening on HOST:PORT``."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    if settings.use_uvloop:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            settings = settings.model_copy(update={"use_uvloop": False})
    server = uvicorn.Server(uvicorn_config(settings))
    original_startup = server.startup

    async def startup(sockets: object = None) -> None:
        await original_startup(sockets=sockets)  # type: ignore[arg-type]
        for srv in server.servers:
            for sock in srv.sockets:
                host, port = sock.getsockname()[:2]
                print(f"listening on {host}:{port}", flush=True)
                print(f"open http://{host}:{port}/ in a browser", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    if not server.started:
        raise SystemExit(1)
