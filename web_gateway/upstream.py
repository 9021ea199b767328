"""The gateway's chat server nodes: where the next connection goes, and which nodes are down.

Every new upstream connection (a browser's session and each of its reconnects, a raw ``/ws/irc``
socket, the operator and API links) asks the pool. It tries the nodes round robin, starting after
the node the previous connection was given, skips a node that failed within ``upstream_retry_after``
seconds (those are tried last, only when no other is left), and marks a node down when it cannot
be reached: refused, timed out, no route, no socket file. A node that answers and then refuses
the user (nick in use, bad password, too many connections from the address) is not down: that
error goes back to the caller at once, so one user can never take a node out of the rotation.

With one node (``--irc-host/--irc-port``, the default) this is today's behaviour: one address,
the same errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from tcp_client.config import SessionConfig

from .endpoints import Endpoint
from .settings import GatewaySettings

if TYPE_CHECKING:
    from tcp_client.link import Link

T = TypeVar("T")
P = TypeVar("P", bound=asyncio.Protocol)


def node_failure(exc: BaseException) -> bool:
    """True when ``exc`` says the node itself is unreachable (not that it refused this user)."""
    if isinstance(exc, TimeoutError | ConnectionRefusedError):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, ConnectionError)


def describe(exc: BaseException) -> str:
    """A short reason for the health page and logs."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)  # "Connection refused", not asyncio's "Connect call failed (...)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


@dataclass
class NodeState:
    """What the pool knows of one node."""

    endpoint: Endpoint
    down_since: float | None = None
    """Wall-clock time of the first failure in a row (None while up)."""
    retry_at: float = 0.0
    """Monotonic time before which the node is skipped."""
    reason: str | None = None
    known: bool = False
    """Tried at least once (by a connection or a health check)."""


@dataclass(frozen=True)
class NodeStatus:
    """One node as ``/api/health`` shows it."""

    address: str
    state: Literal["up", "down", "unknown"]
    down_since: float | None
    reason: str | None


class NoUpstream(OSError):
    """Every node failed; the message names each one and why."""


class UpstreamPool:
    """The nodes of one gateway process, shared by all its connections."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        *,
        retry_after: float,
        dial_timeout: float,
        check_interval: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if not endpoints:
            raise ValueError("an upstream pool needs at least one endpoint")
        self.nodes = [NodeState(e) for e in endpoints]
        self.retry_after, self.dial_timeout, self.check_interval = retry_after, dial_timeout, check_interval
        self._clock, self._wall = clock, wall
        self._next = 0
        self._checked_at: float | None = None
        self._checking: asyncio.Future[None] | None = None

    @classmethod
    def from_settings(cls, s: GatewaySettings) -> UpstreamPool:
        return cls(
            s.endpoints, retry_after=s.upstream_retry_after, dial_timeout=s.upstream_dial_timeout,
            check_interval=s.upstream_check_interval,
        )

    # ---- choosing ------------------------------------------------------------------------------
    def order(self) -> list[Endpoint]:
        """The nodes for one new connection, in the order to try them; the first one is taken
        now, so connections opened at the same moment go to different nodes."""
        now = self._clock()
        count = len(self.nodes)
        rotated = [self.nodes[(self._next + i) % count] for i in range(count)]
        live = [n for n in rotated if n.retry_at <= now]
        resting = sorted((n for n in rotated if n.retry_at > now), key=lambda n: n.retry_at)
        chosen = live + resting
        self._next = (self.nodes.index(chosen[0]) + 1) % count
        return [n.endpoint for n in chosen]

    async def dial(self, open_one: Callable[[Endpoint], Awaitable[T]]) -> T:
        """``open_one`` on the nodes in turn until one is reached.

        Raises:
            what ``open_one`` raised, when the node was reached and refused (not tried further);
            with one node, its own error; with several, ``NoUpstream`` naming each failure.
        """
        failures: list[tuple[Endpoint, BaseException]] = []
        for endpoint in self.order():
            try:
                result = await open_one(endpoint)
            except (OSError, TimeoutError) as exc:
                if not node_failure(exc):
                    raise
                self.mark_down(endpoint, describe(exc))
                failures.append((endpoint, exc))
                continue
            self.mark_up(endpoint)
            if failures:  # the rotation goes on after the node that took the connection
                self._next = (self.nodes.index(self._node(endpoint)) + 1) % len(self.nodes)
            return result
        if len(failures) == 1:
            raise failures[0][1]
        raise NoUpstream("no chat server node reachable: " + "; ".join(f"{e}: {describe(x)}" for e, x in failures))

    async def open_link(self, config: SessionConfig, open_link: Callable[[SessionConfig], Awaitable[Link]]) -> Link:
        """The client session's ``Route``: each connect and reconnect goes to the next live node."""
        return await self.dial(lambda endpoint: open_link(self.for_endpoint(endpoint, config)))

    def for_endpoint(self, endpoint: Endpoint, config: SessionConfig) -> SessionConfig:
        """``config`` aimed at ``endpoint``, with the pool's dial timeout."""
        return endpoint.applied_to(config, dial_timeout=self.dial_timeout)

    # ---- state ---------------------------------------------------------------------------------
    def _node(self, endpoint: Endpoint) -> NodeState:
        return next(n for n in self.nodes if n.endpoint == endpoint)

    def mark_down(self, endpoint: Endpoint, reason: str) -> None:
        node, now = self._node(endpoint), self._clock()
        if node.down_since is None:
            node.down_since = self._wall()
        node.retry_at, node.reason, node.known = now + self.retry_after, reason, True

    def mark_up(self, endpoint: Endpoint) -> None:
        node = self._node(endpoint)
        node.down_since, node.retry_at, node.reason, node.known = None, 0.0, None, True

    def status(self) -> list[NodeStatus]:
        """Each node: up, down (since when, why), or unknown (never tried yet)."""
        out = []
        for n in self.nodes:
            state: Literal["up", "down", "unknown"] = (
                "unknown" if not n.known else "down" if n.down_since is not None else "up"
            )
            out.append(NodeStatus(str(n.endpoint), state, n.down_since, n.reason))
        return out

    async def check(self) -> list[NodeStatus]:
        """Every node's state, fresh: all nodes are dialled (a connect and a close, bounded by the
        dial timeout) unless they were less than ``check_interval`` ago; callers at the same
        moment share one round of dials."""
        if self._checking is None:
            now = self._clock()
            if self._checked_at is not None and now - self._checked_at < self.check_interval:
                return self.status()
            self._checked_at = now
            self._checking = asyncio.ensure_future(self._probe_all())
        await asyncio.shield(self._checking)
        return self.status()

    async def _probe_all(self) -> None:
        try:
            await asyncio.gather(*(self._probe(n.endpoint) for n in self.nodes))
        finally:
            self._checking = None

    async def _probe(self, endpoint: Endpoint) -> None:
        try:
            async with asyncio.timeout(self.dial_timeout):
                if endpoint.unix_socket:
                    _, writer = await asyncio.open_unix_connection(endpoint.unix_socket)
                else:
                    _, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
        except (OSError, TimeoutError) as exc:
            self.mark_down(endpoint, describe(exc))
            return
        self.mark_up(endpoint)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def upstreams_of(app: Any) -> UpstreamPool:
    """The app's pool (``create_app`` makes it; one per gateway process)."""
    return app.state.upstreams  # type: ignore[no-any-return]


async def open_upstream(
    settings: GatewaySettings, pool: UpstreamPool, factory: Callable[[], P]
) -> tuple[asyncio.Transport, P]:
    """Connect ``factory()``'s protocol to the next live node; raises ``OSError`` or
    ``TimeoutError`` when none can be reached."""
    loop = asyncio.get_running_loop()

    async def open_one(endpoint: Endpoint) -> tuple[asyncio.Transport, P]:
        async with asyncio.timeout(min(pool.dial_timeout, settings.connect_timeout)):
            if endpoint.unix_socket:
                return await loop.create_unix_connection(factory, endpoint.unix_socket)  # type: ignore[return-value]
            tls = ssl.create_default_context() if settings.irc_tls else None
            return await loop.create_connection(  # type: ignore[return-value]
                factory, endpoint.host, endpoint.port, ssl=tls, server_hostname=endpoint.host if tls else None
            )

    return await pool.dial(open_one)
