"""MONITOR (IRCv3 monitor + extended-monitor) and WHOWAS: presence without polling ISON.

``MONITOR + a,b`` answers 730 (online, with ``nick!user@host``) / 731 (offline) at once and again
whenever those nicks come or go; ``-`` removes, ``C`` clears, ``L`` lists (732/733), ``S`` sends
the status of every entry. A full list answers 734 with the nicks that did not fit.
With ``extended-monitor``, watchers also get AWAY (with away-notify), SETNAME (with setname) and
ACCOUNT (with account-notify) of the nicks they monitor, as if they shared a channel.
"""

from __future__ import annotations

import time

from ..protocol import Message, casefold
from ..protocol import numerics as N
from ..state import Client, ServerState
from ..state.responses import ResponseBuffer
from .table import command

EXTENDED = "extended-monitor"
EXTENDED_DRAFT = "draft/extended-monitor"
"""The name before ratification, still asked for by clients and test suites written against it."""


def _status(state: ServerState, client: Client, rb: ResponseBuffer, nicks: list[str]) -> None:
    """730 for the online ones, 731 for the others, each as few lines as fit."""
    online: list[str] = []
    offline: list[str] = []
    for nick in nicks:
        target = state.find_nick(nick)
        (online if target is not None else offline).append(target.prefix if target else nick)
    for code, items in ((N.RPL_MONONLINE, online), (N.RPL_MONOFFLINE, offline)):
        for chunk in _chunks(items, 400):
            rb.numeric(code, ",".join(chunk))


def _chunks(items: list[str], budget: int) -> list[list[str]]:
    """``items`` grouped so each comma-joined group stays under ``budget`` bytes."""
    out: list[list[str]] = []
    size = budget
    for item in items:
        if size + len(item) + 1 > budget:
            out.append([])
            size = 0
        out[-1].append(item)
        size += len(item) + 1
    return out


@command("MONITOR", min_params=1)
def monitor(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """MONITOR +|- targets, C, L, S."""
    presence = state.presence
    sub = msg.params[0]
    targets = [t for t in msg.param(1).split(",") if t]
    if sub == "+":
        if not targets:
            rb.numeric(N.ERR_NEEDMOREPARAMS, "MONITOR", "Not enough parameters")
            return
        limit = state.settings.monitor_limit
        added, refused = presence.watch(client, targets, limit)
        _status(state, client, rb, added)
        if refused:
            rb.numeric(N.ERR_MONLISTFULL, str(limit), ",".join(refused), "Monitor list is full.")
    elif sub == "-":
        presence.unwatch(client, targets)
    elif sub.upper() == "C":
        presence.unwatch(client)
    elif sub.upper() == "L":
        for chunk in _chunks(presence.monitored(client), 400):
            rb.numeric(N.RPL_MONLIST, ",".join(chunk))
        rb.numeric(N.RPL_ENDOFMONLIST, "End of MONITOR list")
    elif sub.upper() == "S":
        _status(state, client, rb, presence.monitored(client))


def extended_watchers(state: ServerState, client: Client, cap: str) -> set[Client]:
    """Monitor watchers of ``client`` that asked for its ``cap`` notifications (extended-monitor)."""
    return {
        w for w in state.presence.watchers_of(client)
        if (EXTENDED in w.caps or EXTENDED_DRAFT in w.caps) and cap in w.caps and w is not client
    }


@command("WHOWAS", min_params=1)
def whowas(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """WHOWAS nick[,nick] [count]: past users of the nicks, newest first (314, 312; 406 for
    each nick never seen), then one 369 naming the list as given (RFC 2812 3.6.3).
    ``count`` is per nick; more than ``max_query_targets`` nicks: 407."""
    count_text = msg.param(1, "0")
    count = int(count_text) if count_text.lstrip("-").isdigit() else 0
    nicks = [n for n in msg.params[0].split(",") if n] or ["*"]
    asked = msg.params[0] or "*"
    if len(nicks) > state.settings.max_query_targets:
        rb.numeric(N.ERR_TOOMANYTARGETS, asked, "Too many targets")
        rb.numeric(N.RPL_ENDOFWHOWAS, asked, "End of WHOWAS")
        return
    entries = state.presence.lookup_many(nicks, count)
    for entry in entries:
        host = entry.real_host if client.is_oper else entry.host
        rb.numeric(N.RPL_WHOWASUSER, entry.nick, entry.user or "*", host, "*", entry.realname)
        rb.numeric(N.RPL_WHOISSERVER, entry.nick, state.name, _when(entry.left_at))
    seen = {e.folded for e in entries}
    for nick in dict.fromkeys(nicks):
        if casefold(nick) not in seen:
            rb.numeric(N.ERR_WASNOSUCHNICK, nick, "There was no such nickname")
    rb.numeric(N.RPL_ENDOFWHOWAS, asked, "End of WHOWAS")


def _when(ts: float) -> str:
    """When a nick was left, as the 312 text of a WHOWAS entry."""
    return time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(ts))


def isupport_monitor(state: ServerState) -> str:
    """The ``MONITOR=`` 005 token."""
    return f"MONITOR={state.settings.monitor_limit}"

