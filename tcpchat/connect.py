"""``tcpchat connect``: the terminal chat client (full-screen on a TTY, line mode otherwise).

Settings come from flags and ``TCPCHAT_*`` variables (one model, turned into flags by
``options.settings_command``); the client itself lives in ``tcp_client``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import typer
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tcp_server.protocol import is_channel_name, is_valid_nick
from tcp_server.settings import default as server_default

from .options import settings_command

NICK_SYNTAX_MAX = 200
"""Upper bound for the local nick syntax check; the server enforces its own NICKLEN."""
TUI_MISSING = (
    "note: the full-screen client needs Textual, which is not installed; "
    "install it with: pip install 'tcpchat[tui]' (scripts/setup does). Using line mode (--plain)."
)
DEFAULT_CONFIG = Path("~/.config/tcpchat/connect.toml")
"""Read when present and no --config is given: ``nick = "bob"``, ``join = "#lobby"``, ..."""


class ConfigFileError(Exception):
    """The config file named by --config / TCPCHAT_CONFIG (or the default one) is unusable."""


def _config_path(init: PydanticBaseSettingsSource) -> Path | None:
    given: Any = getattr(init, "init_kwargs", {}).get("config") or os.environ.get("TCPCHAT_CONFIG")
    path = Path(given).expanduser() if given else DEFAULT_CONFIG.expanduser()
    if not path.is_file():
        if given:
            raise ConfigFileError(f"config file {path} does not exist")
        return None
    try:
        with path.open("rb") as f:
            tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigFileError(f"config file {path}: {exc}") from None
    return path


class ConnectSettings(BaseSettings):
    """Settings of ``tcpchat connect``; each field is also flag ``--name`` and ``TCPCHAT_NAME``."""

    model_config = SettingsConfigDict(env_prefix="TCPCHAT_", extra="ignore", frozen=True)

    config: Path | None = Field(None, description=f"TOML file with these settings (default: {DEFAULT_CONFIG})")
    nick: str = Field(description="Your nick")
    host: str = Field("127.0.0.1", description="IRC server address")
    port: int = Field(server_default("port"), ge=1, le=65535, description="IRC server port")
    join: str = Field("", description="Rooms to join, comma-separated (e.g. '#lobby,#dev')")
    plain: bool = Field(False, description="Line mode even on a terminal (one line per event)")
    tls: bool = Field(False, description="Connect with TLS (certificates verified)")
    insecure: bool = Field(False, description="With --tls: do not verify the certificate")
    password: SecretStr | None = Field(
        None, description="With --account: the account's password (SASL); else the server password (PASS)"
    )
    account: str | None = Field(None, description="Log in to this account (SASL PLAIN; needs --password)")
    username: str | None = Field(None, description="User name (unset: the nick)")
    realname: str | None = Field(None, description="Real name shown in WHOIS (unset: the nick)")
    history_lines: int = Field(50, ge=0, le=1000, description="Messages of history shown on join")
    max_input_bytes: int = Field(4096, ge=64, le=65536, description="Longest input line accepted")
    nick_fallback: bool = Field(
        False, description="If the nick is taken at start, use nick_ instead of exiting (reconnects always may)"
    )
    reconnect: bool = Field(True, description="Reconnect when the connection drops")
    backoff_max: float = Field(30.0, gt=0, description="Longest wait between reconnect attempts (s)")
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to connect and register")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags win over ``TCPCHAT_*`` variables, which win over the config file."""
        path = _config_path(init_settings)
        if path is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=path))

    @field_validator("nick")
    @classmethod
    def _nick_syntax(cls, value: str) -> str:
        if not is_valid_nick(value, NICK_SYNTAX_MAX):
            raise ValueError("not a valid IRC nick (letters, digits, -[]\\`_^{|}; not starting with a digit)")
        return value

    @field_validator("join")
    @classmethod
    def _rooms(cls, value: str) -> str:
        bad = [r for r in value.split(",") if r.strip() and not is_channel_name(r.strip())]
        if bad:
            raise ValueError(f"not a room name: {bad[0]!r} (rooms start with # or &)")
        return value

    @property
    def rooms(self) -> list[str]:
        """The ``--join`` rooms as a list."""
        return [r.strip() for r in self.join.split(",") if r.strip()]


def make_session(settings: ConnectSettings):  # noqa: ANN201 - tcp_client is imported lazily
    """The client session these settings describe."""
    from tcp_client.session import ClientSession, SessionConfig

    secret = settings.password.get_secret_value() if settings.password else None
    account = (settings.account, secret or "") if settings.account else None
    return ClientSession(SessionConfig(
        settings.host, settings.port, settings.nick,
        username=settings.username, realname=settings.realname,
        password=None if account else secret, account=account,
        tls=settings.tls, tls_verify=not settings.insecure, reconnect=settings.reconnect,
        nick_fallback=settings.nick_fallback,
        backoff_max=settings.backoff_max, connect_timeout=settings.connect_timeout,
        history_on_join=settings.history_lines,
    ))


def run_connect(settings: ConnectSettings) -> None:
    """Pick the mode (full-screen on a TTY unless --plain), run it, exit with its code."""
    full_screen = not settings.plain and sys.stdin.isatty() and sys.stdout.isatty()
    if full_screen:
        try:
            from tcp_client.tui import run_tui
        except ModuleNotFoundError as exc:  # Textual is the optional ``tui`` extra
            if exc.name is None or exc.name.split(".")[0] != "textual":
                raise
            typer.echo(TUI_MISSING, err=True)
            full_screen = False
    if full_screen:
        code = run_tui(make_session(settings), settings.rooms, max_input_bytes=settings.max_input_bytes)
    else:
        from tcp_client.plain import run_plain

        async def main() -> int:
            return await run_plain(
                make_session(settings), settings.rooms, max_input_bytes=settings.max_input_bytes
            )

        try:
            code = asyncio.run(main())
        except KeyboardInterrupt:
            code = 130
    raise typer.Exit(code)


_command = settings_command(ConnectSettings, run_connect)  # type: ignore[arg-type]


def connect_command(**kwargs: Any) -> None:
    """The typer command: settings from flags, env and the config file, then ``run_connect``."""
    try:
        _command(**kwargs)
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


connect_command.__signature__ = _command.__signature__  # type: ignore[attr-defined]
