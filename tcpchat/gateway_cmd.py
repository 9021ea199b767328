"""``tcpchat gateway``: run the web gateway (FastAPI under uvicorn) from its settings."""

from __future__ import annotations

from web_gateway.settings import GatewaySettings

from .options import settings_command

HELP = "Run the web gateway: the chat page, /ws (JSON) and /ws/irc (raw IRC) for browsers."


def _run_gateway(settings: GatewaySettings) -> None:  # type: ignore[misc]
    from web_gateway.serve import run

    run(settings)


gateway_command = settings_command(GatewaySettings, _run_gateway)  # type: ignore[arg-type]
