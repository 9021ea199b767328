"""``SessionConfig``: everything a client session needs to know, in one frozen object.

Built once by whoever starts a session (``tcpchat connect`` from its settings, the gateway's bridge
from ``GatewaySettings``) and passed down, as uvicorn passes its ``Config``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .registration import WebIrc

DEFAULT_CAPS = (
    "message-tags", "server-time", "echo-message", "multi-prefix", "away-notify", "batch",
    "draft/chathistory",
)
"""Capabilities requested when the server offers them."""


@dataclass(frozen=True)
class SessionConfig:
    """Where to connect, who to be, and the session's limits and timers."""

    host: str
    port: int
    nick: str
    username: str | None = None
    """User name (None: the nick)."""
    realname: str | None = None
    """Real name shown in WHOIS (None: the nick)."""
    password: str | None = None
    """Server password (PASS)."""
    unix_socket: str | None = None
    """Connect over this Unix socket instead of host:port (a gateway beside its server)."""
    tls: bool = False
    tls_verify: bool = True
    webirc: WebIrc | None = None
    """Sent first by a trusted gateway, so the server records the real user's address."""
    caps: tuple[str, ...] = DEFAULT_CAPS
    reconnect: bool = True
    nick_fallback: bool = True
    """At the first connect, take ``nick_`` when the nick is in use (reconnects always may)."""
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    connect_timeout: float = 10.0
    """Seconds to connect and register, and to wait for each rejoin and gap-fill reply."""
    dial_timeout: float | None = None
    """Seconds the connect alone (TCP or Unix socket, and the TLS handshake) may take, so a caller
    with other servers to try gives up on a dead one early (None: only ``connect_timeout``)."""
    queue_size: int = 1000
    """Events waiting for the consumer (and lines typed while disconnected) before overflow."""
    oper: tuple[str, str] | None = None
    account: tuple[str, str] | None = None
    """(account, password): log in with SASL PLAIN on every (re)connect."""
    history_on_join: int = 0
    """Messages of history asked for after each join (0: none)."""
    ping_interval: float = 60.0
    ping_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        object.__setattr__(self, "caps", tuple(self.caps))
