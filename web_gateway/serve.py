"""Running the gateway under uvicorn: one place that turns ``GatewaySettings`` into a uvicorn Config."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from uvicorn.supervisors import Multiprocess

from .app import create_app
from .http_guard import http_protocol
from .logs import quiet_uvicorn
from .settings import GatewaySettings
from .workers import PinnedMultiprocess, pinned_sockets
from .ws_direct import GatewayWebSocketProtocol

WS_TRANSPORT_LIMIT = 1024 * 1024
"""Frames up to this size are read and answered with a ``too_large`` error event when over
``ws_max_frame``; larger ones make uvicorn close the socket (1009) without reading them."""


def uvicorn_config(settings: GatewaySettings, **overrides: object) -> uvicorn.Config:
    """The uvicorn Config for ``create_app(settings)``."""
    kwargs = {**_uvicorn_kwargs(settings), **overrides}
    return uvicorn.Config(create_app(settings), **kwargs)  # type: ignore[arg-type]


def _uvicorn_kwargs(settings: GatewaySettings) -> dict[str, object]:
    return {
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
        # uvicorn's httptools protocol plus sockets-per-address and a request-header deadline
        "http": http_protocol(settings),
    }


def app_from_env() -> FastAPI:
    """The app of one worker process (``--workers N``): settings from the ``TCPCHAT_*`` variables
    the parent exported (``settings_env``)."""
    return create_app(GatewaySettings())


def settings_env(settings: GatewaySettings) -> dict[str, str]:
    """``settings`` as ``TCPCHAT_*`` variables, so a worker process rebuilds the same object."""
    env = {}
    for name in GatewaySettings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"TCPCHAT_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def _print_listening(sock: socket.socket) -> None:
    host, port = sock.getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    print(f"open http://{host}:{port}/ in a browser", flush=True)


class _WorkerConfig(uvicorn.Config):
    """A worker's Config: built in the parent and pickled to each spawned worker, where the HTTP
    protocol (a class ``http_guard`` makes per settings, which does not pickle) is made from the
    exported settings."""

    def load(self) -> None:
        self.http = http_protocol(GatewaySettings())
        super().load()


def run_workers(settings: GatewaySettings) -> None:
    """``--workers N``: N gateway processes on one port, so a room's web users spread over the
    cores. Each worker has its own socket and every client address is pinned to one worker
    (``workers.py``: SO_REUSEPORT and a BPF program choosing by source address), so per-address
    limits (``ws_max_per_ip``, ``http_max_per_ip``, rates) hold across workers; where that is not
    possible, uvicorn's workers share one socket and those limits count per worker.

    Each worker has its own operator and API links to the server (the nick gets a ``_`` suffix
    when another worker holds it); the cookie signing key is made shared, so an admin login works
    on whichever worker answers.
    """
    if settings.session_secret is None:
        settings = settings.model_copy(update={"session_secret": SecretStr(secrets.token_hex(32))})
    os.environ.update(settings_env(settings))
    kwargs = {**_uvicorn_kwargs(settings), "http": "httptools"}  # the guard is made per worker
    config = _WorkerConfig(
        "web_gateway.serve:app_from_env", factory=True, workers=settings.workers, **kwargs
    )  # type: ignore[arg-type]
    pinned = pinned_sockets(settings.host, settings.port, settings.workers, config.backlog)
    if pinned is not None:
        _print_listening(pinned[0])  # connections wait in the backlogs until the workers start
        PinnedMultiprocess(config, pinned).run()
        return
    sock = config.bind_socket()
    sock.listen(config.backlog)
    _print_listening(sock)
    Multiprocess(config, sockets=[sock]).run()


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
    if settings.workers > 1:
        run_workers(settings)
        return
    server = uvicorn.Server(uvicorn_config(settings))
    quiet_uvicorn()  # after the Config, which sets up uvicorn's loggers
    original_startup = server.startup

    async def startup(sockets: object = None) -> None:
        await original_startup(sockets=sockets)  # type: ignore[arg-type]
        for srv in server.servers:
            for sock in srv.sockets:
                _print_listening(sock)  # type: ignore[arg-type]

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    if not server.started:
        raise SystemExit(1)
