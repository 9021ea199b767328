"""The server process: listeners (TCP, TLS, Unix socket), the liveness sweep, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import socket
import ssl
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .accounts import AccountError, AccountService, make_account_store
from .commands.accounts import install as install_account_hooks
from .commands.history import install as install_history_hooks
from .history.base import HistoryError
from .history.factory import open_history
from .offload import Offloader
from .settings import ServerSettings
from .state import MsgIdGenerator, ServerState
from .transport import Connection, OutputFlusher

if TYPE_CHECKING:
    from .cluster import Link

log = logging.getLogger("tcpchat.server")


FD_RESERVE = 64
"""File descriptors kept for listeners, the history store, logs and the loop itself."""
FD_LIMIT_WARN_BELOW = 4096
"""An open-file limit under this is logged as a warning (few clients could connect)."""


def _hard_limit() -> str:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return "unlimited" if hard == resource.RLIM_INFINITY else str(hard)


def set_client_socket_options(listener: socket.socket) -> None:
    """Options every client socket gets, set once on the listener: accepted sockets inherit them.

    ``TCP_NODELAY``: coalesced output goes out at once instead of waiting for an ACK (Nagle).
    ``SO_KEEPALIVE``: a peer that vanished without a FIN is noticed even if we never write.
    """
    with contextlib.suppress(OSError):
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if listener.family in (socket.AF_INET, socket.AF_INET6):
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class StartupError(Exception):
    """The server cannot start because of a setting (busy port, unreadable certificate)."""


class ChatServer:
    """Owns the state, the listeners and the background tasks of one server node."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.state = ServerState(settings)
        self.connections: set[Connection] = set()
        self.flusher: OutputFlusher | None = None  # type: ignore[assignment]
        self.listeners: list[asyncio.Server] = []
        self.addresses: list[tuple[str, int, str]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = asyncio.Event()
        self._offloader: Offloader | None = None
        self.cluster: Link | None = None
        """The Redis link in cluster mode (``--redis-url``), else None."""

    async def start(self) -> None:
        """Open the history store and the listeners; print ``listening on HOST:PORT``."""
        loop = asyncio.get_running_loop()
        self.flusher = OutputFlusher(loop)
        s = self.settings
        self._offloader = self.state.offloader = Offloader(loop, s.kdf_workers)
        self.state.call_later = loop.call_later
        try:
            self.state.history = await open_history(s)
        except HistoryError as exc:
            raise StartupError(
                f"setting data_dir/database_url (--data-dir/--database-url, or --no-history): {exc}"
            ) from exc
        install_history_hooks(self.state)
        try:
            store = make_account_store(s)
            if store is not None:
                self.state.accounts = AccountService(store, await store.start())
        except AccountError as exc:
            raise StartupError(f"setting accounts/database_url (--no-accounts to run without): {exc}") from exc
        install_account_hooks(self.state)
        if s.redis_url and s.relay_after_commit:
            raise StartupError("setting relay_after_commit (--relay-after-commit) is not supported with --redis-url yet")
        if s.redis_url:
            from redis.exceptions import RedisError

            from .cluster import join_cluster

            try:
                self.cluster = await join_cluster(self.state, s)
                self.state.new_msgid = MsgIdGenerator(self.cluster.bus.node)
            except (RedisError, OSError) as exc:
                raise StartupError(f"setting redis_url (--redis-url): cannot reach Redis: {exc}") from exc
        try:
            await self._listen(s.host, s.port, "tcp", None)
        except OSError as exc:
            raise StartupError(
                f"setting host/port (--host/--port, TCPCHAT_HOST/TCPCHAT_PORT): "
                f"cannot listen on {s.host}:{s.port}: {exc.strerror or exc}"
            ) from exc
        if s.unix_socket is not None:
            try:
                await self._listen_unix(s.unix_socket)
            except OSError as exc:
                raise StartupError(
                    f"setting unix_socket (--unix-socket, TCPCHAT_UNIX_SOCKET): "
                    f"cannot listen on {s.unix_socket}: {exc.strerror or exc}"
                ) from exc
        if s.tls_port is not None and s.tls_cert and s.tls_key:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            try:
                ctx.load_cert_chain(str(s.tls_cert), str(s.tls_key))
                if s.tls_client_ca is not None:  # SASL EXTERNAL: ask for (optional) client certs
                    ctx.load_verify_locations(str(s.tls_client_ca))
                    ctx.verify_mode = ssl.CERT_OPTIONAL
            except (OSError, ssl.SSLError) as exc:
                raise StartupError(
                    f"setting tls_cert/tls_key/tls_client_ca (--tls-cert/--tls-key/--tls-client-ca): "
                    f"cannot load {s.tls_cert} / {s.tls_key}: {exc.strerror or exc}"
                ) from exc
            try:
                await self._listen(s.host, s.tls_port, "tls", ctx)
            except OSError as exc:
                raise StartupError(
                    f"setting tls_port (--tls-port, TCPCHAT_TLS_PORT): "
                    f"cannot listen on {s.host}:{s.tls_port}: {exc.strerror or exc}"
                ) from exc
        self._tasks.append(asyncio.create_task(self._sweep_liveness()))
        if s.metrics_port is not None:
            from .metrics import start_metrics

            start_metrics(self, s.host, s.metrics_port)

    async def _listen(self, host: str, port: int, kind: str, ctx: ssl.SSLContext | None) -> None:
        server = await asyncio.get_running_loop().create_server(
            lambda: Connection(self, kind),
            host,
            port,
            backlog=self.settings.listen_backlog,
            reuse_address=True,
            ssl=ctx,
            # a TLS client is not a Connection until its handshake ends: bound that wait too
            ssl_handshake_timeout=self.settings.registration_timeout if ctx else None,
        )
        self.listeners.append(server)
        for sock in server.sockets:
            set_client_socket_options(sock)
            addr = sock.getsockname()
            self.addresses.append((addr[0], addr[1], kind))
            suffix = "" if kind == "tcp" else f" ({kind})"
            print(f"listening on {addr[0]}:{addr[1]}{suffix}", flush=True)
            log.info("listening on %s:%s transport=%s", addr[0], addr[1], kind)

    async def _listen_unix(self, path: Path) -> None:
        """A Unix-socket listener (a stale socket file from an earlier run is replaced)."""
        if path.is_socket():
            path.unlink()
        server = await asyncio.get_running_loop().create_unix_server(
            lambda: Connection(self, "unix"), str(path), backlog=self.settings.listen_backlog
        )
        self.listeners.append(server)
        print(f"listening on unix:{path}", flush=True)
        log.info("listening on unix:%s", path)

    @property
    def stopped(self) -> bool:
        """True once shutdown has finished."""
        return self._stopped.is_set()

    @property
    def port(self) -> int:
        """The plain TCP port actually bound (useful with port 0)."""
        return next(p for _, p, kind in self.addresses if kind == "tcp")

    async def _sweep_liveness(self) -> None:
        """PING silent clients, drop unanswered ones and never-registering ones."""
        s = self.settings
        interval = max(0.05, min(s.ping_interval, s.ping_timeout, s.registration_timeout) / 4)
        interval = min(interval, 5.0)
        loop = asyncio.get_running_loop()
        state = self.state
        ping = f"PING :{state.name}\r\n".encode()
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            wall = time.time()
            for client in list(state.clients.values()):
                if client.gone:
                    continue
                if not client.registered:
                    if wall - client.signon > s.registration_timeout:
                        state.disconnect(client, "Registration timeout")
                    continue
                if client.ping_sent_at:
                    if now - client.ping_sent_at > s.ping_timeout:
                        state.disconnect(client, f"Ping timeout: {int(now - client.last_recv)} seconds")
                elif now - client.last_recv > s.ping_interval:
                    client.ping_sent_at = now
                    client.outbox.send(ping)

    async def shutdown(self, reason: str = "Server shutting down") -> None:
        """Tell every client why, let the goodbyes flush, close the history store."""
        for server in self.listeners:
            server.close()
        for task in self._tasks:
            task.cancel()
        self.state.shutting_down = True
        for client in list(self.state.clients.values()):
            self.state.disconnect(client, reason)
        deadline = time.monotonic() + self.settings.shutdown_grace
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        if self.cluster is not None:
            await self.cluster.close()
        if self.state.history is not None:
            await self.state.history.close()
        if self.state.accounts is not None:
            await self.state.accounts.close()
        if self._offloader is not None:
            self._offloader.close()
        path = self.settings.unix_socket
        if path is not None and path.is_socket():
            path.unlink(missing_ok=True)
        self._stopped.set()

    async def run_until_signal(self) -> None:
        """Serve until SIGINT/SIGTERM, then shut down gracefully."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("shutting down")
        await self.shutdown()


def raise_fd_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard limit; returns ``(before, after)``.

    Every client is a file descriptor; the usual soft limit (1024) would refuse the 1021st.
    The hard limit is the most an unprivileged process may ask for."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_FD_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
        return soft, soft
    return soft, target


UNLIMITED_FD_TARGET = 1 << 20
"""Soft limit asked for when the hard limit is unlimited (the kernel's usual ``nr_open``)."""


def run(settings: ServerSettings) -> None:
    """Run a server until a signal arrives (the ``tcpchat server`` command)."""
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    before, after = raise_fd_limit()

    async def main() -> None:
        server = ChatServer(settings)
        try:
            await server.start()
        except StartupError as exc:
            await server.shutdown()
            print(f"error: {exc}", file=sys.stderr, flush=True)  # the one line a bad setting gets
            raise SystemExit(2) from None
        log.log(
            logging.INFO if after >= FD_LIMIT_WARN_BELOW else logging.WARNING,
            "open-file limit %d (was %d, hard limit %s): at most about %d clients",
            after, before, _hard_limit(), max(0, after - FD_RESERVE),
        )
        await server.run_until_signal()

    if settings.use_uvloop:
        try:
            import uvloop

            uvloop.run(main())
            return
        except ImportError:
            pass
    asyncio.run(main())
