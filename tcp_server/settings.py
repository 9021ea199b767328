"""The one settings object of the TCP server: every limit and default lives here.

Values come from keyword arguments (the CLI passes its flags), then ``TCPCHAT_*`` environment
variables, then the defaults below.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MOTD = (
    "Welcome to tcpchat.\n"
    "Join a room with /join #lobby and say hello.\n"
    "Be kind; operators can disconnect abusive users."
)


class ServerSettings(BaseSettings):
    """Settings of ``tcpchat server``; each field is also flag ``--name`` and ``TCPCHAT_NAME``."""

    model_config = SettingsConfigDict(env_prefix="TCPCHAT_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address the IRC listener binds")
    port: int = Field(6667, ge=0, le=65535, description="IRC port (0 picks a free one)")
    server_name: str = Field("tcpchat.local", description="Server name shown to clients")
    network_name: str = Field("tcpchat", description="Network name advertised in 005")
    password: SecretStr | None = Field(None, description="Connection password (PASS), if any")
    motd: str = Field(DEFAULT_MOTD, description="Message of the day (\\n separates lines)")
    data_dir: Path = Field(Path("data"), description="Directory for the history database")
    history: bool = Field(True, description="Store messages and serve CHATHISTORY")
    database_url: str | None = Field(
        None, description="History database URL (sqlite:///path or postgresql://...)"
    )
    history_replay_lines: int = Field(
        0, ge=0, description="Lines replayed on join to clients without chathistory (0 = off)"
    )
    chathistory_max: int = Field(1000, ge=1, description="Most messages one CHATHISTORY returns")
    history_max_age_days: float = Field(0, ge=0, description="Drop history older than this (0 = keep)")
    history_max_rows_per_target: int = Field(
        0, ge=0, description="Keep at most this many messages per room (0 = keep all)"
    )
    history_commit_interval: float = Field(
        0.002, ge=0, description="Group commit window in seconds"
    )

    unix_socket: Path | None = Field(
        None, description="Also listen on this Unix socket (local clients such as the gateway; they count as 127.0.0.1)"
    )
    tls_port: int | None = Field(None, ge=0, le=65535, description="TLS port (e.g. 6697)")
    tls_cert: Path | None = Field(None, description="TLS certificate file (PEM)")
    tls_key: Path | None = Field(None, description="TLS private key file (PEM)")

    sendq: int = Field(96 * 1024, ge=1024, description="Bytes queued to a client before it is dropped")
    flood_burst: int = Field(30, ge=1, description="Lines a client may send in a burst")
    flood_rate: float = Field(
        8.0, ge=0, description="Lines per second a client may sustain (0 = no flood control)"
    )
    max_clients: int = Field(0, ge=0, description="Most simultaneous connections (0 = unlimited)")
    max_clients_per_ip: int = Field(0, ge=0, description="Most connections per IP (0 = unlimited)")
    ping_interval: float = Field(90.0, gt=0, description="Seconds of silence before the server PINGs")
    ping_timeout: float = Field(60.0, gt=0, description="Seconds to wait for the PONG")
    registration_timeout: float = Field(30.0, gt=0, description="Seconds to finish registering")
    max_channels_per_client: int = Field(50, ge=1, description="Channels one client may join")
    nick_len: int = Field(30, ge=1, le=200, description="Longest nick")
    channel_len: int = Field(64, ge=2, le=200, description="Longest channel name")
    topic_len: int = Field(390, ge=1, description="Longest topic")
    max_targets: int = Field(4, ge=1, description="Targets per PRIVMSG/NOTICE")
    listen_backlog: int = Field(4096, ge=1, description="Listen backlog for bursts of connects")
    shutdown_grace: float = Field(2.0, ge=0, description="Seconds to flush goodbyes on shutdown")

    oper_name: str = Field("admin", description="Operator name for OPER")
    oper_password: SecretStr | None = Field(None, description="Operator password (unset = no OPER)")
    webirc_password: SecretStr | None = Field(None, description="WEBIRC password (unset = off)")
    cloak_hosts: bool = Field(
        True, description="Show users a keyed hash instead of each other's IP (operators see the IP)"
    )
    cloak_secret: SecretStr | None = Field(None, description="Key for host cloaks (unset = random per start)")
    webirc_hosts: str = Field(
        "127.0.0.1,::1", description="Comma-separated addresses allowed to send WEBIRC"
    )
    metrics_port: int | None = Field(None, ge=0, le=65535, description="Prometheus metrics port")
    redis_url: str | None = Field(None, description="Redis URL: join a cluster of server nodes")
    node_id: str | None = Field(None, description="Cluster node id (default: random)")
    use_uvloop: bool = Field(True, description="Use uvloop when it is installed")
    log_level: str = Field("INFO", description="Logging level")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @model_validator(mode="after")
    def _tls_complete(self) -> ServerSettings:
        if self.tls_port is not None and (self.tls_cert is None or self.tls_key is None):
            raise ValueError("tls_port needs tls_cert and tls_key")
        return self

    @property
    def webirc_allowed(self) -> frozenset[str]:
        """Addresses trusted to send WEBIRC."""
        return frozenset(h.strip() for h in self.webirc_hosts.split(",") if h.strip())

    @property
    def motd_lines(self) -> list[str]:
        """The MOTD split into lines."""
        return self.motd.replace("\\n", "\n").splitlines()
