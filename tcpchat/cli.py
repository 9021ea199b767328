"""The ``tcpchat`` command: server, gateway, up, connect, cluster-demo. Thin: build settings, call run()."""

from __future__ import annotations

import typer

from tcp_server import __version__
from tcp_server.settings import ServerSettings

from .options import settings_command

app = typer.Typer(
    help="tcpchat: an IRC chat server, a web gateway and a terminal client.",
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"tcpchat {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """tcpchat: an IRC chat server, a web gateway and a terminal client."""


def _run_server(settings: ServerSettings) -> None:  # type: ignore[misc]
    from tcp_server.server import run

    run(settings)


app.command(
    "server", help="Run the IRC chat server (TCP, optional TLS)."
)(settings_command(ServerSettings, _run_server))  # type: ignore[arg-type]


from .connect import connect_command  # noqa: E402

app.command(
    "connect", help="Chat in a terminal: full-screen on a TTY, one line per event with --plain."
)(connect_command)


from .cluster_demo import HELP as DEMO_HELP  # noqa: E402
from .cluster_demo import ClusterDemoSettings  # noqa: E402
from .cluster_demo import run as run_cluster_demo  # noqa: E402
from .gateway_cmd import HELP as GATEWAY_HELP  # noqa: E402
from .gateway_cmd import gateway_command  # noqa: E402
from .up import HELP as UP_HELP  # noqa: E402
from .up import up_command  # noqa: E402

app.command("gateway", help=GATEWAY_HELP)(gateway_command)
app.command("cluster-demo", help=DEMO_HELP)(settings_command(ClusterDemoSettings, run_cluster_demo))  # type: ignore[arg-type]
app.command("up", help=UP_HELP)(up_command)


def main() -> None:
    """Console-script entry point."""
    app()
