"""WHO and its WHOX form (``WHO <mask> %<fields>[,<token>]`` -> 354), advertised as ``WHOX``.

A mask lists users the asker may see: not ``+i``, or sharing a channel, or itself (operators
see everyone). ``WHO 0`` is ``WHO *``. WHOX fields come back in the spec's fixed order whatever
order they were asked in: t c u i h s n f d l a o r. The real IP (``i``) goes to operators and
to the user itself; others get ``255.255.255.255``. The host (``h``) is the one plain WHO, 001 and
JOIN show (the cloak), also for the user itself: irssi and WeeChat ask ``WHO #chan %...h...`` on
join and would otherwise file their own host as the real one. Operators see the real host.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..protocol import Message, casefold, is_channel_name
from ..protocol import numerics as N
from ..state import Channel, Client, ServerState
from ..state.masks import glob_pattern
from ..state.responses import ResponseBuffer
from .table import command

WHOX_ORDER = "tcuihsnfdlaor"
HIDDEN_IP = "255.255.255.255"


def who_flags(target: Client, prefix: str) -> str:
    """H/G (here/gone), ``*`` for operators, ``B`` for bots, then the channel prefix."""
    flags = "G" if target.away else "H"
    if target.is_oper:
        flags += "*"
    if "B" in target.modes:
        flags += "B"
    return flags + prefix


def _matches(state: ServerState, client: Client, mask: str) -> list[tuple[Client, str, str]]:
    """(user, ``*``, no prefix) for each visible user ``mask`` (a nick or a pattern) selects."""
    if "*" in mask or "?" in mask or mask == "0":
        pattern = glob_pattern("*" if mask == "0" else mask)
        peers = state.peers_of(client)
        out = []
        for c in list(state.clients.values()):
            fields = (c.nick, c.user, c.host, c.realname)
            if not c.registered or not any(pattern.match(casefold(f)) for f in fields):
                continue
            if "i" in c.modes and c is not client and c not in peers and not client.is_oper:
                continue
            out.append((c, "*", ""))
        return out
    target = state.find_nick(mask)
    return [] if target is None else [(target, "*", "")]


def _whox_fields(
    state: ServerState, asker: Client, target: Client, channel: str, prefix: str, fields: str, token: str
) -> list[str]:
    values: dict[str, Callable[[], str]] = {
        "t": lambda: token,
        "c": lambda: channel,
        "u": lambda: target.user or "*",
        "i": lambda: target.ip if asker.is_oper or asker is target else HIDDEN_IP,
        "h": lambda: target.real_host if asker.is_oper else target.host,
        "s": lambda: state.name,
        "n": lambda: target.nick,
        "f": lambda: who_flags(target, prefix),
        "d": lambda: "0",
        "l": lambda: str(int(time.time() - target.last_active)),
        "a": lambda: target.account or "0",
        "o": lambda: "n/a",
        "r": lambda: target.realname,
    }
    return [values[f]() for f in WHOX_ORDER if f in fields]


@command("WHO")
def who(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """WHO #channel | nick | mask [%fields[,token]]."""
    mask = msg.param(0, "*") or "*"
    if is_channel_name(mask):  # in a cluster, a channel on any node
        state.bus.find_channel(
            rb, mask, lambda rb, channel: _reply(state, client, rb, mask, msg.param(1), _members(client, channel))
        )
        return
    _reply(state, client, rb, mask, msg.param(1), _matches(state, client, mask))


def _members(client: Client, channel: Channel | None) -> list[tuple[Client, str, str]]:
    """(member, channel name, member prefix) of a channel ``client`` may look into."""
    if channel is None or ("s" in channel.modes and client not in channel.members):
        return []
    multi = "multi-prefix" in client.caps
    return [(m, channel.name, channel.member_prefix(m, multi)) for m in channel.members]


def _reply(
    state: ServerState, client: Client, rb: ResponseBuffer, mask: str, spec: str,
    found: list[tuple[Client, str, str]],
) -> None:
    if spec.startswith("%"):
        fields, _, token = spec[1:].partition(",")
        token = token if token.isdigit() and len(token) <= 3 else ""
        if not token:
            fields = fields.replace("t", "")
        for target, channel, prefix in found:
            values = _whox_fields(state, client, target, channel, prefix, fields, token)
            if values:
                rb.numeric(N.RPL_WHOSPCRPL, *values[:-1], values[-1])
    else:
        for target, channel, prefix in found:
            rb.numeric(
                N.RPL_WHOREPLY, channel, target.user or "*", target.host, state.name,
                target.nick, who_flags(target, prefix), f"0 {target.realname}",
            )
    rb.numeric(N.RPL_ENDOFWHO, mask, "End of WHO list")
