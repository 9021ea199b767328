"""The gateway's request/response connections to the TCP server (the operator link, the API poster).

The admin page and the HTTP API ask the server, never a shadow copy (DESIGN.md): each query is
sent on a registered IRC connection and the reply lines are collected up to their end marker.
Queries are serialised per connection (the server answers in order, so replies never interleave),
every wait is bounded by ``api_timeout``, and a link that is down is reconnected on the next query;
when that fails the caller gets ``UpstreamError`` with a reason (the API answers 503), never a hang.

Built on ``tcp_client``'s protocol core, ``Link`` and request ``Collector`` (the same handshake and
reply collection ``ClientSession`` uses) rather than on ``ClientSession`` itself: these links only
ask and collect, so they need no event queue to drain (a session closes itself when its queue
fills, and the poster sits in busy rooms), no background reconnect loop (a query reconnects on
demand and fails at once when the server refuses), and one query at a time so that replies of
concurrent queries never mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence

from tcp_client.config import SessionConfig
from tcp_client.link import Link, expect_replies
from tcp_client.protocol import ClientProtocol
from tcp_client.registration import RegistrationClosed, RegistrationError
from tcp_client.requests import Until
from tcp_server.protocol import Message

from .endpoints import Endpoint
from .settings import GatewaySettings
from .upstream import UpstreamPool

log = logging.getLogger("tcpchat.gateway.oper")

OPER_CAPS = ("message-tags", "server-time", "batch", "draft/chathistory")
"""Caps the operator link asks for: vendor tags on STATS/LIST, and history batches."""
POSTER_CAPS = ("message-tags", "server-time", "echo-message")
"""Caps the API poster asks for: echo-message is its acknowledgement (with msgid and time)."""
PING_INTERVAL = 60.0
"""Seconds of upstream silence before the link PINGs the server (keepalive)."""

class UpstreamError(Exception):
    """The TCP server could not answer; ``reason`` says why in words an operator can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UpstreamLink:
    """One registered connection to the TCP server used for request/response queries."""

    def __init__(
        self,
        settings: GatewaySettings,
        nick: str,
        *,
        caps: Sequence[str],
        oper: tuple[str, str] | None = None,
        realname: str = "tcpchat gateway",
        upstreams: UpstreamPool | None = None,
    ) -> None:
        self.settings = settings
        self.upstreams = upstreams or UpstreamPool.from_settings(settings)
        self.server: str | None = None
        """The node the link is (or was last) connected to."""
        self.wanted_nick = nick
        self.caps = tuple(caps)
        self.oper = oper
        self.realname = realname
        self.registered: ClientProtocol | None = None
        self.last_error: str | None = None
        self.generation = 0
        """Bumped on every new connection, so callers can forget per-connection state (joins)."""
        self._link: Link | None = None
        self._lock = asyncio.Lock()
        self._tokens = itertools.count(1)

    @property
    def connected(self) -> bool:
        """True while the link is registered and its reader runs."""
        return self._link is not None and not self._link.closed and self.registered is not None

    @property
    def nick(self) -> str:
        """The nick the server gave us (may differ from the wanted one after a collision)."""
        return self.registered.nick if self.registered else self.wanted_nick

    def _config(self) -> SessionConfig:
        s = self.settings
        return SessionConfig(
            s.irc_host, s.irc_port, self.wanted_nick, username="tcpchat", realname=self.realname,
            unix_socket=s.irc_unix_socket,
            password=s.password.get_secret_value() if s.password else None, tls=s.irc_tls,
            caps=self.caps, nick_fallback=True, oper=self.oper, connect_timeout=s.api_timeout,
            ping_interval=PING_INTERVAL, ping_timeout=s.api_timeout,
        )

    async def _connect(self) -> None:
        core = ClientProtocol(self._config())

        async def open_link(config: SessionConfig) -> Link:
            link = await Link.open(config, core, lambda _events: None)
            self.server = str(Endpoint(config.host, config.port, config.unix_socket))
            return link

        try:
            link = await self.upstreams.open_link(core.config, open_link)
        except RegistrationError as exc:
            if exc.numeric == "464" and not exc.oper_refused:
                raise UpstreamError(
                    "the TCP server refused the gateway's connection password (check TCPCHAT_PASSWORD)"
                ) from None
            if exc.oper_refused:
                raise UpstreamError(
                    "the TCP server refused the gateway's OPER (check TCPCHAT_OPER_NAME/TCPCHAT_OPER_PASSWORD)"
                ) from None
            raise UpstreamError(f"the TCP server refused the gateway's connection: {exc}") from None
        except RegistrationClosed as exc:
            raise UpstreamError(f"the TCP server closed the connection during registration: {exc}") from None
        except OSError as exc:  # NoUpstream (several nodes) names each node and its failure
            nodes = self.upstreams.nodes
            where = f" at {nodes[0].endpoint}" if len(nodes) == 1 else ""
            raise UpstreamError(f"cannot reach the TCP chat server{where}: {exc.strerror or exc}") from None
        self._link, self.registered = link, core
        self.generation += 1
        self.last_error = None
        link.lost.add_done_callback(lambda _f: self._lost(link))
        log.info("upstream link %s registered as %s", self.wanted_nick, core.nick)

    def _lost(self, link: Link) -> None:
        if self._link is not link:
            return
        if link.core.error:
            self._drop(f"the TCP server closed the link: {link.core.error}")
        elif link.reason == "connection closed by the server":
            self._drop("the TCP server closed the connection")
        else:
            self._drop(f"lost the link to the TCP server: {link.reason}")

    def _drop(self, reason: str) -> None:
        self.last_error = reason
        self.registered = None
        if self._link is not None:
            self._link.core.collectors.fail_all(UpstreamError(reason))
        log.warning("upstream link %s down: %s", self.wanted_nick, reason)

    async def ensure(self) -> None:
        """Connect and register unless already connected (bounded by ``api_timeout``)."""
        async with self._turn():
            if not self.connected:
                await self._connect()

    @contextlib.asynccontextmanager
    async def _turn(self):  # type: ignore[no-untyped-def]
        """Hold the link for one query; waiting for it and using it are each bounded in time."""
        timeout = self.settings.api_timeout
        try:
            async with asyncio.timeout(timeout):
                await self._lock.acquire()
        except TimeoutError:
            raise UpstreamError("the gateway is busy: too many queries are waiting for the TCP server") from None
        try:
            async with asyncio.timeout(timeout):
                yield
        except TimeoutError:
            self.last_error = f"the TCP server did not answer within {timeout:g} s"
            self._abort()
            raise UpstreamError(self.last_error) from None
        except UpstreamError as exc:
            self.last_error = exc.reason
            raise
        finally:
            self._lock.release()

    def _abort(self) -> None:
        """Forget a link whose reply stream is in an unknown state; the next query reconnects."""
        link, self._link = self._link, None
        self.registered = None
        if link is not None:
            link.close()

    async def request(self, messages: Sequence[Message], until: Until) -> list[Message]:
        """Send ``messages`` and collect every line up to the first one ``until`` accepts."""
        async with self._turn():
            if not self.connected:
                await self._connect()
            link = self._link
            assert link is not None
            col, done = expect_replies(link.core, until)
            try:
                for msg in messages:
                    link.write(msg)
                await link.drain()
                return await done
            except (ConnectionError, OSError) as exc:
                self._abort()
                raise UpstreamError(f"lost the link to the TCP server: {exc}") from None
            finally:
                link.core.collectors.discard(col)

    async def barrier(self, messages: Sequence[Message], stop: Until | None = None) -> list[Message]:
        """Send ``messages`` then a PING; return the lines before its PONG (or before ``stop``).

        For commands that answer nothing on success (KILL): the server handles lines in order,
        so once the PONG is back the commands have taken effect.
        """
        token = f"tcpchat-barrier-{next(self._tokens)}"

        def until(msg: Message) -> bool:
            if msg.command == "PONG" and msg.params and msg.params[-1] == token:
                return True
            return stop is not None and stop(msg)

        lines = await self.request([*messages, Message("PING", (token,))], until)
        if lines and lines[-1].command == "PONG":
            lines.pop()
        return lines

    async def close(self) -> None:
        """Say goodbye and close (idempotent)."""
        link, self._link = self._link, None
        self.registered = None
        if link is not None and not link.closed:
            link.write(Message("QUIT", ("gateway shutting down",)))
            with contextlib.suppress(ConnectionError, OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await link.drain()
            link.close()



def oper_link(settings: GatewaySettings, upstreams: UpstreamPool | None = None) -> UpstreamLink:
    """The operator link: OPERs with the shared credentials (none configured: a plain link)."""
    oper = None
    if settings.oper_password is not None:
        oper = (settings.oper_name, settings.oper_password.get_secret_value())
    return UpstreamLink(
        settings, settings.oper_nick, caps=OPER_CAPS, oper=oper, realname="tcpchat admin link", upstreams=upstreams
    )


def poster_link(settings: GatewaySettings, upstreams: UpstreamPool | None = None) -> UpstreamLink:
    """The HTTP API's posting identity (``api_nick``): an ordinary user, not an operator."""
    return UpstreamLink(
        settings, settings.api_nick, caps=POSTER_CAPS, realname="tcpchat HTTP API", upstreams=upstreams
    )
