"""Queries about users and the server: LUSERS, MOTD, INFO, WHOIS, ISON, USERHOST, AWAY, VERSION."""

from __future__ import annotations

import time

from ..protocol import Message
from ..protocol import numerics as N
from ..state import VERSION, Client, ServerState, build_variants, server_time
from ..state.responses import ResponseBuffer
from .monitor import extended_watchers
from .table import command


def send_lusers(state: ServerState, client: Client, rb: ResponseBuffer) -> None:
    """RPL_LUSER* (251-255, 265, 266): users, operators, unknown connections and channels.

    In a cluster users, servers and channels are the whole network's (``bus.counts``); 255 and
    265 count this node's own clients, operators are the network's (``bus.operators``). 251 splits
    the users into visible and invisible (+i) as RFC 1459 words it; invisible counts this node's."""
    users = state.registered_count
    unknown = len(state.clients) - users
    opers = state.bus.operators()
    servers, everyone, channels = state.bus.counts()
    invisible = min(state.invisible_count, everyone)  # this node's +i users (a cluster's others: unknown)
    rb.numeric(
        N.RPL_LUSERCLIENT, f"There are {everyone - invisible} users and {invisible} invisible on {servers} servers"
    )
    rb.numeric(N.RPL_LUSEROP, str(opers), "operator(s) online")
    rb.numeric(N.RPL_LUSERUNKNOWN, str(unknown), "unknown connection(s)")
    rb.numeric(N.RPL_LUSERCHANNELS, str(channels), "channels formed")
    rb.numeric(N.RPL_LUSERME, f"I have {users} clients and {servers - 1} servers")
    peak = max(state.peak_users, users)
    rb.numeric(N.RPL_LOCALUSERS, str(users), str(peak), f"Current local users {users}, max {peak}")
    top = max(state.peak_users, everyone)
    rb.numeric(N.RPL_GLOBALUSERS, str(everyone), str(top), f"Current global users {everyone}, max {top}")


def send_motd(state: ServerState, client: Client, rb: ResponseBuffer) -> None:
    """The message of the day (375, 372…, 376) or 422 when there is none."""
    lines = state.settings.motd_lines
    if not lines:
        rb.numeric(N.ERR_NOMOTD, "MOTD File is missing")
        return
    rb.numeric(N.RPL_MOTDSTART, f"- {state.name} Message of the day - ")
    for line in lines:
        rb.numeric(N.RPL_MOTD, f"- {line}")
    rb.numeric(N.RPL_ENDOFMOTD, "End of /MOTD command.")


@command("LUSERS")
def lusers(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """Counts of users and channels."""
    send_lusers(state, client, rb)


@command("MOTD")
def motd(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """The message of the day."""
    send_motd(state, client, rb)


@command("INFO")
def info(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """RPL_INFO (371) lines about the server, then RPL_ENDOFINFO (374)."""
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(state.created))
    for line in (f"{VERSION}: an IRC server in Python asyncio", f"Network {state.settings.network_name}",
                 f"Running since {started}"):
        rb.numeric(N.RPL_INFO, line)
    rb.numeric(N.RPL_ENDOFINFO, "End of INFO list")


@command("VERSION")
def version(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """RPL_VERSION (351)."""
    rb.numeric(N.RPL_VERSION, VERSION, state.name, "tcpchat IRC server")


@command("TIME")
def time_(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """RPL_TIME (391)."""
    rb.numeric(N.RPL_TIME, state.name, time.strftime("%a %b %d %Y %H:%M:%S UTC", time.gmtime()))


@command("WHOIS", min_params=1)
def whois(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """WHOIS [server] nick: user, server, channels, idle, away, operator."""
    name = msg.params[-1].split(",")[0]
    target = state.find_nick(name)
    if target is None:
        rb.numeric(N.ERR_NOSUCHNICK, name, "No such nick/channel")
        rb.numeric(N.RPL_ENDOFWHOIS, name, "End of /WHOIS list")
        return
    host = target.real_host if client is target or client.is_oper else target.host
    rb.numeric(N.RPL_WHOISUSER, target.nick, target.user, host, "*", target.realname)
    chans = [
        ch.member_prefix(target, "multi-prefix" in client.caps) + ch.name
        for ch in target.channels.values()
        if "s" not in ch.modes or client in ch.members
    ]
    if chans:
        rb.numeric(N.RPL_WHOISCHANNELS, target.nick, " ".join(chans))
    rb.numeric(N.RPL_WHOISSERVER, target.nick, state.name, state.settings.server_description)
    if target.account:
        rb.numeric(N.RPL_WHOISACCOUNT, target.nick, target.account, "is logged in as")
    if target.away:
        rb.numeric(N.RPL_AWAY, target.nick, target.away)
    if target.is_oper:
        rb.numeric(N.RPL_WHOISOPERATOR, target.nick, "is an IRC operator")
    if "B" in target.modes:
        rb.numeric(N.RPL_WHOISBOT, target.nick, f"is a Bot on {state.settings.network_name}")
    if client.is_oper or client is target:
        rb.numeric(N.RPL_WHOISACTUALLY, target.nick, target.ip, "Actual IP address")
    idle = int(time.time() - target.last_active)
    state.numeric(
        client, N.RPL_WHOISIDLE, target.nick, str(idle), str(int(target.signon)),
        "seconds idle, signon time",
    )
    rb.numeric(N.RPL_ENDOFWHOIS, target.nick, "End of /WHOIS list")


@command("ISON", min_params=1)
def ison(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """Which of the given nicks are online."""
    names = " ".join(msg.params).split()
    online = [c.nick for n in names if (c := state.find_nick(n)) is not None]
    rb.numeric(N.RPL_ISON, " ".join(online))


@command("USERHOST", min_params=1)
def userhost(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """``nick[*]=[+-]user@host`` for up to five nicks."""
    out = []
    for name in msg.params[:5]:
        c = state.find_nick(name)
        if c is not None:
            out.append(f"{c.nick}{'*' if c.is_oper else ''}={'-' if c.away else '+'}{c.user}@{c.host}")
    rb.numeric(N.RPL_USERHOST, " ".join(out))


@command("AWAY")
def away(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """Set or clear the away message; away-notify peers are told."""
    text = msg.param(0)
    client.away = text[:390] or None
    if client.away:
        rb.numeric(N.RPL_NOWAWAY, "You have been marked as being away")
        params: tuple[str, ...] = (client.away,)
    else:
        rb.numeric(N.RPL_UNAWAY, "You are no longer marked as being away")
        params = ()
    variants = build_variants(client.prefix, "AWAY", params, server_time())
    for peer in state.peers_of(client) | extended_watchers(state, client, "away-notify"):
        if "away-notify" in peer.caps:
            peer.outbox.send(variants[peer.tag_level])
    state.bus.user_changed(client, variants, "away-notify")
