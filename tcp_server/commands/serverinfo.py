"""ADMIN and LINKS (RFC 2812 3.4.5, 3.4.9): what IRC clients ask about the server itself.

irssi and WeeChat bind them to ``/admin`` and ``/links``; without handlers a user got
``421 Unknown command``. The server is one IRC server to its users (cluster nodes share the
network), so LINKS lists this server only.
"""

from __future__ import annotations

from ..protocol import Message, casefold
from ..protocol import numerics as N
from ..state import Client, ServerState
from ..state.masks import glob_pattern
from ..state.responses import ResponseBuffer
from .table import command


def _is_here(state: ServerState, target: str) -> bool:
    """Whether ``target`` (a server mask or a nick, as RFC 2812 allows) names this server."""
    return bool(glob_pattern(target).match(casefold(state.name))) or state.find_nick(target) is not None


@command("ADMIN")
def admin(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """ADMIN [target]: 256-259 from the ``admin_location``/``admin_email`` settings, else 423."""
    target = msg.param(0)
    if target and not _is_here(state, target):
        rb.numeric(N.ERR_NOSUCHSERVER, target, "No such server")
        return
    location, email = state.settings.admin_location, state.settings.admin_email
    if not (location or email):
        rb.numeric(N.ERR_NOADMININFO, state.name, "No administrative info available")
        return
    rb.numeric(N.RPL_ADMINME, state.name, "Administrative info")
    rb.numeric(N.RPL_ADMINLOC1, location or state.settings.network_name)
    rb.numeric(N.RPL_ADMINLOC2, f"{state.settings.network_name} IRC network")
    rb.numeric(N.RPL_ADMINEMAIL, email or "-")


@command("LINKS")
def links(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """LINKS [[remote] mask]: this server (364) if it matches ``mask``, then 365.

    364 names the server and the one it links through (itself here), as ircd-hybrid and
    solanum send it; irssi prints the line as is.
    """
    if len(msg.params) >= 2 and not _is_here(state, msg.params[0]):
        rb.numeric(N.ERR_NOSUCHSERVER, msg.params[0], "No such server")
        return
    mask = msg.params[-1] if msg.params and msg.params[-1] else "*"
    if glob_pattern(mask).match(casefold(state.name)):
        rb.numeric(N.RPL_LINKS, state.name, state.name, f"0 {state.settings.server_description}")  # server, its uplink
    rb.numeric(N.RPL_ENDOFLINKS, mask, "End of /LINKS list")
