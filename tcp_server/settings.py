"""The one settings object of the TCP server: every limit and default lives here.

Values come from keyword arguments (the CLI passes its flags), then ``TCPCHAT_*`` environment
variables, then the defaults below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

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
    admin_location: str = Field(
        "", description="Who runs the server, for ADMIN (unset with admin_email: 423 No administrative info)"
    )
    admin_email: str = Field("", description="Contact address for ADMIN")
    server_description: str = Field("tcpchat", description="What this server is, in WHOIS (312) and LINKS (364)")
    data_dir: Path = Field(Path("data"), description="Directory for the history database")
    history: bool = Field(True, description="Store messages and serve CHATHISTORY")
    database_url: str | None = Field(
        None, description="History database URL (sqlite:///path or postgresql://...)"
    )
    history_replay_lines: int = Field(
        50, ge=0,
        description="Most lines replayed on join to a client without chathistory: what it missed since it last "
        "left the channel (a first join: the last lines); 0 = off",
    )
    chathistory_max: int = Field(1000, ge=1, description="Most messages one CHATHISTORY returns")
    history_max_age_days: float = Field(0, ge=0, description="Drop history older than this (0 = keep)")
    history_max_rows_per_target: int = Field(
        0, ge=0, description="Keep at most this many messages per room (0 = keep all)"
    )
    history_commit_interval: float = Field(
        0.002, ge=0, description="Group commit window in seconds"
    )
    history_max_pending: int = Field(
        100_000, ge=1, description="Messages waiting for a history commit before new ones get FAIL"
    )
    history_max_batch: int = Field(5_000, ge=1, description="Messages written per history transaction")
    history_retention_interval: float = Field(
        60.0, gt=0, description="Seconds between history retention passes"
    )
    history_retention_chunk: int = Field(
        2000, ge=1, description="Messages deleted per retention transaction (keeps the writer free)"
    )
    history_sqlite_busy_timeout: float = Field(
        2.0, gt=0, description="Seconds a SQLite write waits for another process's lock (then FAIL)"
    )
    history_sqlite_close_timeout: float = Field(
        10.0, gt=0, description="Seconds the SQLite writer process gets to finish at shutdown"
    )
    history_postgres_timeout: float = Field(
        5.0, gt=0, description="Seconds a PostgreSQL statement may take before it is cancelled (FAIL)"
    )
    history_postgres_connect_timeout: float = Field(
        10.0, gt=0, description="Seconds to connect to PostgreSQL at start"
    )
    history_postgres_pool_size: int = Field(
        4, ge=2, description="PostgreSQL connections: one commits, the others answer CHATHISTORY"
    )

    unix_socket: Path | None = Field(
        None, description="Also listen on this Unix socket (local clients such as the gateway; they count as 127.0.0.1)"
    )
    tls_port: int | None = Field(None, ge=0, le=65535, description="TLS port (e.g. 6697)")
    tls_cert: Path | None = Field(None, description="TLS certificate file (PEM)")
    tls_key: Path | None = Field(None, description="TLS private key file (PEM)")

    sendq: int = Field(96 * 1024, ge=1024, description="Bytes queued to a client before it is dropped")
    held_output_max: int = Field(
        1024 * 1024, ge=1024,
        description="Bytes of a client's output that may wait behind its echoes still being committed "
        "(reply order); over it (the store stalls) the client is dropped",
    )
    flood_burst: int = Field(30, ge=1, description="Lines a client may send in a burst")
    flood_rate: float = Field(
        8.0, ge=0, description="Lines per second a client may sustain (0 = no flood control)"
    )
    max_clients: int = Field(0, ge=0, description="Most simultaneous connections (0 = unlimited)")
    max_clients_per_ip: int = Field(
        16, ge=0, description="Most connections per IP, web users counted by their real address (0 = unlimited)"
    )
    connect_rate_per_ip: float = Field(
        1.0, ge=0, description="New connections per second one address may sustain (0 = no throttle)"
    )
    connect_burst_per_ip: int = Field(20, ge=1, description="New connections one address may open at once")
    per_ip_exempt: str = Field(
        "", description="Comma-separated addresses exempt from max_clients_per_ip and the connect throttle (e.g. a NAT)"
    )
    ping_interval: float = Field(90.0, gt=0, description="Seconds of silence before the server PINGs")
    ping_timeout: float = Field(60.0, gt=0, description="Seconds to wait for the PONG")
    registration_timeout: float = Field(30.0, gt=0, description="Seconds to finish registering")
    max_channels_per_client: int = Field(50, ge=1, description="Channels one client may join")
    nick_len: int = Field(30, ge=1, le=200, description="Longest nick")
    channel_len: int = Field(64, ge=2, le=200, description="Longest channel name")
    topic_len: int = Field(390, ge=1, description="Longest topic")
    realname_len: int = Field(100, ge=1, le=300, description="Longest realname (USER, SETNAME; NAMELEN)")
    max_targets: int = Field(4, ge=1, description="Targets per PRIVMSG/NOTICE")
    max_query_targets: int = Field(
        4, ge=1, description="Targets per KICK, NAMES and WHOWAS (TARGMAX in 005); more answer 407"
    )
    whowas_size: int = Field(1000, ge=1, description="Past nick uses WHOWAS remembers (oldest dropped)")
    monitor_limit: int = Field(100, ge=1, description="Nicks one client may MONITOR (MONITOR= in 005)")
    multiline_max_bytes: int = Field(4096, ge=512, description="Bytes of text in one multiline message")
    multiline_max_lines: int = Field(
        24, ge=2,
        description="Lines in one multiline message (keep it under flood_burst: a batch arrives at once)",
    )
    read_markers_max: int = Field(
        100_000, ge=1, description="Read markers (MARKREAD) kept in memory, least recently set dropped"
    )
    max_list_entries: int = Field(
        100, ge=1, description="Entries per channel list +b, +e, +I (MAXLIST in 005)"
    )
    listen_backlog: int = Field(4096, ge=1, description="Listen backlog for bursts of connects")
    shutdown_grace: float = Field(2.0, ge=0, description="Seconds to flush goodbyes on shutdown")
    close_timeout: float = Field(
        5.0, gt=0, description="Seconds a closing socket may take to flush its last bytes (then aborted)"
    )

    auth_attempts_per_ip: int = Field(
        10, ge=1, description="Password checks (OPER, SASL, PASS) one address may start per auth_window"
    )
    auth_window: float = Field(60.0, gt=0, description="Seconds over which auth_attempts_per_ip counts")
    auth_failures_per_connection: int = Field(
        3, ge=1, description="Failed password checks after which a connection is dropped"
    )
    auth_in_flight_per_ip: int = Field(2, ge=1, description="Password checks of one address running at once")
    auth_in_flight_total: int = Field(32, ge=1, description="Password checks running or queued at once")
    kdf_workers: int = Field(1, ge=1, description="Threads that run password hashes off the event loop")
    chathistory_rate: float = Field(
        2.0, ge=0, description="CHATHISTORY requests per second a client may sustain (0 = no limit)"
    )
    chathistory_burst: int = Field(
        20, ge=1, description="CHATHISTORY requests served at once before the rate applies (one per room on join)"
    )
    chathistory_queue: int = Field(
        100, ge=1, description="CHATHISTORY requests one client may have waiting (more get FAIL)"
    )
    chathistory_chunk_bytes: int = Field(
        32 * 1024, ge=1024, description="Bytes of a long reply (history) queued to a client at a time"
    )
    relay_after_commit: bool = Field(
        False,
        description="Relay channel/private messages to anyone only after the history store committed "
        "them (no message seen by others is missing from history after a crash; adds the commit "
        "wait to every delivery)",
    )

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
    accounts: bool = Field(
        True, description="Accounts, SASL and registered channels (stored with history; off with --no-history)"
    )
    account_registration: bool = Field(True, description="Allow REGISTER (off: only existing accounts log in)")
    account_verification: Literal["none", "admin"] = Field(
        "none", description="New accounts: none = usable at once, admin = an operator approves them"
    )
    nick_enforce_timeout: float = Field(
        30.0, ge=0, description="Seconds before a registered nick used without logging in becomes Guest<n>"
    )
    account_scrypt_n: int = Field(
        2**14, ge=2, description="scrypt cost N for account passwords (a power of 2; memory 128*N*8 bytes)"
    )
    scram_iterations: int = Field(4096, ge=4096, description="PBKDF2 iterations of stored SCRAM-SHA-256 keys")
    account_min_password: int = Field(8, ge=1, description="Shortest password REGISTER accepts")
    auth_failures_per_account: int = Field(
        10, ge=1, description="Failed logins to one account (from anywhere) per auth_window before refusing"
    )
    account_sync_retry: float = Field(
        2.0, gt=0, description="Seconds between attempts to re-listen for account changes of other nodes "
        "(PostgreSQL LISTEN) after the connection was lost"
    )
    sasl_max_bytes: int = Field(8192, ge=400, description="Longest SASL message (bytes, before base64)")
    tls_client_ca: Path | None = Field(
        None, description="CA file whose client certificates the TLS port accepts (SASL EXTERNAL)"
    )
    metrics_port: int | None = Field(None, ge=0, le=65535, description="Prometheus metrics port")
    redis_url: str | None = Field(None, description="Redis URL: join a cluster of server nodes")
    node_id: str | None = Field(None, description="Cluster node id (default: random)")
    cluster_heartbeat_ttl: float = Field(
        6.0, gt=0, description="Seconds a node's heartbeat lives in Redis: a node silent this long is lost"
    )
    cluster_reconnect_interval: float = Field(1.0, gt=0, description="Seconds between Redis reconnect attempts")
    cluster_redis_timeout: float = Field(2.0, gt=0, description="Seconds before a Redis call counts as failed")
    cluster_batch: int = Field(512, ge=1, description="Most queued cluster events sent in one Redis pipeline")
    cluster_gap_fill_delay: float = Field(
        0.5, ge=0, description="Seconds to wait before filling a channel's missed messages from history"
    )
    cluster_gap_fill_margin: float = Field(
        2.0, ge=0, description="A gap fill reads history from this many seconds before the last message received"
    )
    cluster_seen_ids: int = Field(2000, ge=1, description="Msgids remembered per channel so a gap fill never repeats one")
    use_uvloop: bool = Field(True, description="Use uvloop when it is installed")
    log_level: str = Field("INFO", description="Logging level")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @field_validator("account_scrypt_n")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError("must be a power of 2")
        return value

    @model_validator(mode="after")
    def _tls_complete(self) -> ServerSettings:
        if self.tls_port is not None and (self.tls_cert is None or self.tls_key is None):
            raise ValueError("tls_port needs tls_cert and tls_key")
        return self

    @property
    def per_ip_exempt_set(self) -> frozenset[str]:
        """Addresses that max_clients_per_ip does not count."""
        return frozenset(h.strip() for h in self.per_ip_exempt.split(",") if h.strip())

    @property
    def webirc_allowed(self) -> frozenset[str]:
        """Addresses trusted to send WEBIRC."""
        return frozenset(h.strip() for h in self.webirc_hosts.split(",") if h.strip())

    @property
    def motd_lines(self) -> list[str]:
        """The MOTD split into lines."""
        return self.motd.replace("\\n", "\n").splitlines()


def default(name: str) -> Any:
    """The default of setting ``name``, for parts built without a settings object (tests, benchmarks).

    Their keyword arguments default to this, so each default is written once, in the field above.
    """
    return ServerSettings.model_fields[name].default
