"""The ``tcpchat`` command: server, gateway, up, connect. Thin: build settings, call run()."""

from __future__ import annotations

import typer

from tcp_server.settings import ServerSettings

from .options import settings_command

app = typer.Typer(
    help="tcpchat: an IRC chat server, a web gateway and a terminal client.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """tcpchat: an IRC chat server, a web gateway and a terminal client."""


def _run_server(settings: ServerSettings) -> None:  # type: ignore[misc]
    from tcp_server.server import run

    run(settings)


app.command(
    "server", help="Run the IRC chat server (TCP, optional TLS)."
)(settings_command(ServerSettings, _run_server))  # type: ignore[arg-type]


def main() -> None:
    """Console-script entry point."""
    app()
