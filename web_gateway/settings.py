"""The one settings object of the web gateway (same TCPCHAT_* names as the server for shared secrets)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tcp_server.settings import default as server_default

from .endpoints import Endpoint, parse_upstreams


class GatewaySettings(BaseSettings):
    """Settings of ``tcpchat gateway``; each field is also flag ``--name`` and ``TCPCHAT_NAME``."""

    model_config = SettingsConfigDict(env_prefix="TCPCHAT_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address the web server binds")
    port: int = Field(8080, ge=0, le=65535, description="Web port (0 picks a free one)")
    irc_host: str = Field("127.0.0.1", description="TCP chat server host")
    irc_port: int = Field(server_default("port"), ge=1, le=65535, description="TCP chat server port")
    irc_tls: bool = Field(False, description="Connect to the chat server over TLS")
    irc_unix_socket: str | None = Field(
        None, description="Reach the chat server over this Unix socket instead of irc_host:irc_port"
    )
    upstreams: str = Field(
        "",
        description="Comma-separated chat server nodes (host:port, [v6addr]:port or unix:/path); each new "
        "connection takes the next live one, round robin (empty = irc_host:irc_port, or irc_unix_socket)",
    )
    upstream_dial_timeout: float = Field(
        2.0, gt=0, description="Seconds to open the connection to one upstream before trying the next"
    )
    upstream_retry_after: float = Field(
        10.0, gt=0, description="Seconds an upstream that refused or timed out is skipped before it is tried again"
    )
    upstream_check_interval: float = Field(
        5.0, gt=0, description="Seconds /api/health reuses its last check of the upstreams before dialling them again"
    )
    allowed_origins: str = Field(
        "", description="Comma-separated WebSocket origins allowed (empty = the gateway's own)"
    )
    password: SecretStr | None = Field(
        None, description="The chat server's connection password (PASS), if it has one"
    )
    allowed_hosts: str = Field(
        "",
        description="Comma-separated Host names the gateway answers to (empty = 127.0.0.1, "
        "localhost and ::1 when bound to loopback, any otherwise); guards against DNS rebinding",
    )
    webirc_password: SecretStr | None = Field(None, description="WEBIRC password shared with the server")
    webirc_gateway_name: str = Field("tcpchat-web", description="Gateway name sent in WEBIRC")
    oper_name: str = Field("admin", description="Operator name the admin link OPERs with")
    oper_password: SecretStr | None = Field(None, description="Operator password (admin link)")
    admin_password: SecretStr | None = Field(None, description="Password for /admin (unset = admin off)")
    api_token: SecretStr | None = Field(None, description="Bearer token for posting via the HTTP API")
    session_secret: SecretStr | None = Field(None, description="Cookie signing key (default: random)")
    ws_max_frame: int = Field(16 * 1024, ge=512, description="Largest WebSocket frame accepted (bytes)")
    ws_rate: float = Field(5.0, ge=0, description="Messages per second per WebSocket (0 = unlimited)")
    ws_burst: int = Field(20, ge=1, description="Burst of messages per WebSocket")
    ws_queue: int = Field(512, ge=16, description="Events queued per WebSocket before it is dropped")
    ws_max_per_ip: int = Field(
        20, ge=0, description="WebSockets (each one IRC connection) per browser address (0 = unlimited)"
    )
    http_max_per_ip: int = Field(
        256, ge=0, description="Open sockets (HTTP and WebSocket) per client address (0 = unlimited)"
    )
    http_header_timeout: float = Field(
        10.0, gt=0, description="Seconds a socket has to send complete request headers (slowloris)"
    )
    ws_hello_timeout: float = Field(
        30.0, gt=0, description="Seconds a /ws socket has to register (hello) before it is closed"
    )
    history_on_join: int = Field(50, ge=0, description="Messages of history shown on join")
    account_conversations: int = Field(
        50, ge=1, le=1000, description="Private conversations a signed-in page gets back (CHATHISTORY TARGETS)"
    )
    reconnect_initial: float = Field(0.5, gt=0, description="First reconnect delay (seconds)")
    reconnect_max: float = Field(15.0, gt=0, description="Longest reconnect delay (seconds)")
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to connect and register upstream")
    use_uvloop: bool = Field(True, description="Use uvloop when it is installed")
    workers: int = Field(
        1, ge=1, le=6, description="Gateway processes sharing the web port (a room's web users spread over cores)"
    )
    oper_nick: str = Field("tcpchat-admin", description="Nick of the gateway's operator link")
    api_nick: str = Field("api", description="Nick that posts messages sent through the HTTP API")
    api_timeout: float = Field(5.0, gt=0, description="Seconds any admin/API request waits upstream")
    api_post_rate: float = Field(2.0, gt=0, description="Messages per second the HTTP API may post")
    api_post_burst: int = Field(10, ge=1, description="Burst of messages the HTTP API may post")
    api_history_max: int = Field(200, ge=1, description="Most messages one history API call returns")
    ws_history_max: int = Field(200, ge=1, description="Largest limit of one /ws history request")
    api_read_rate: float = Field(
        20.0, ge=0, description="API queries per second per client address (0 = unlimited)"
    )
    api_read_burst: int = Field(40, ge=1, description="Burst of API queries per client address")
    admin_login_attempts: int = Field(5, ge=1, description="Admin login attempts per address per window (a success gives its attempt back)")
    admin_login_window: float = Field(60.0, gt=0, description="Admin login rate-limit window (seconds)")
    admin_login_in_flight_per_ip: int = Field(
        1, ge=1, description="Admin password checks of one address running at once (the rest get 429)"
    )
    admin_login_in_flight_total: int = Field(
        4, ge=1, description="Admin password checks running at once in all (each holds 16 MiB of scrypt)"
    )
    admin_session_max_age: int = Field(8 * 3600, ge=60, description="Admin session lifetime (seconds)")
    admin_poll_interval: float = Field(2.0, gt=0, description="Seconds between admin page refreshes")
    log_level: str = Field("INFO", description="Logging level")

    @field_validator("upstreams")
    @classmethod
    def _valid_upstreams(cls, value: str) -> str:
        parse_upstreams(value, server_default("port"))  # raises ValueError naming the bad entry
        return value

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """The chat server nodes, in the order given (one when ``upstreams`` is empty)."""
        listed = parse_upstreams(self.upstreams, self.irc_port)
        if listed:
            return listed
        if self.irc_unix_socket:
            return (Endpoint(unix_socket=self.irc_unix_socket),)
        return (Endpoint(self.irc_host, self.irc_port),)

    @property
    def hosts(self) -> list[str]:
        """Host header names accepted (``*`` = any)."""
        explicit = [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]
        if explicit:
            return explicit
        if self.host in ("127.0.0.1", "localhost", "::1"):
            return ["127.0.0.1", "localhost", "::1"]
        return ["*"]

    @property
    def origins(self) -> frozenset[str]:
        """Explicitly allowed WebSocket origins."""
        return frozenset(o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip())


def default(name: str) -> Any:
    """The default of setting ``name``, for parts used without a settings object (tests).

    Their keyword arguments default to this, so each default is written once, in the field above.
    """
    return GatewaySettings.model_fields[name].default
