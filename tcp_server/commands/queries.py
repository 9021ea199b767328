"""Queries about users and the server: LUSERS, MOTD, WHO, WHOIS, ISON, USERHOST, AWAY, VERSION."""

from __future__ import annotations

import re
import time

from ..protocol import Message, casefold, is_channel_name
from ..protocol import numerics as N
from ..state import VERSION, Client, ServerState, build_variants, server_time
from .table import command


def send_lusers(state: ServerState, client: Client) -> None:
    """RPL_LUSER* (251-255): user, operator, unknown and channel counts."""
    users = state.registered_count
    unknown = len(state.clients) - users
    opers = state.oper_count
    state.numeric(client, N.RPL_LUSERCLIENT, f"There are {users} users and 0 invisible on 1 servers")
    state.numeric(client, N.RPL_LUSEROP, str(opers), "operator(s) online")
    state.numeric(client, N.RPL_LUSERUNKNOWN, str(unknown), "unknown connection(s)")
    state.numeric(client, N.RPL_LUSERCHANNELS, str(len(state.channels)), "channels formed")
    state.numeric(client, N.RPL_LUSERME, f"I have {users} clients and 0 servers")


def send_motd(state: ServerState, client: Client) -> None:
    """The message of the day (375, 372…, 376) or 422 when there is none."""
    lines = state.settings.motd_lines
    if not lines:
        state.numeric(client, N.ERR_NOMOTD, "MOTD File is missing")
        return
    state.numeric(client, N.RPL_MOTDSTART, f"- {state.name} Message of the day - ")
    for line in lines:
        state.numeric(client, N.RPL_MOTD, f"- {line}")
    state.numeric(client, N.RPL_ENDOFMOTD, "End of /MOTD command.")


@command("LUSERS")
def lusers(state: ServerState, client: Client, msg: Message) -> None:
    """Counts of users and channels."""
    send_lusers(state, client)


@command("MOTD")
def motd(state: ServerState, client: Client, msg: Message) -> None:
    """The message of the day."""
    send_motd(state, client)


@command("VERSION")
def version(state: ServerState, client: Client, msg: Message) -> None:
    """RPL_VERSION (351)."""
    state.numeric(client, "351", VERSION, state.name, "tcpchat IRC server")


@command("TIME")
def time_(state: ServerState, client: Client, msg: Message) -> None:
    """RPL_TIME (391)."""
    state.numeric(client, "391", state.name, time.strftime("%a %b %d %Y %H:%M:%S UTC", time.gmtime()))


def _who_line(state: ServerState, asker: Client, target: Client, channel_name: str, prefix: str) -> None:
    flags = ("G" if target.away else "H") + ("*" if target.is_oper else "") + prefix
    state.numeric(
        asker, N.RPL_WHOREPLY, channel_name, target.user or "*", target.host, state.name,
        target.nick, flags, f"0 {target.realname}",
    )


@command("WHO")
def who(state: ServerState, client: Client, msg: Message) -> None:
    """WHO #channel, WHO nick, or WHO mask (``*`` and ``?`` over nick, user, host, realname).

    A mask lists users the asker may see: not ``+i``, or sharing a channel, or itself (operators
    see everyone). ``WHO 0`` is ``WHO *``.
    """
    mask = msg.param(0, "*") or "*"
    multi = "multi-prefix" in client.caps
    if is_channel_name(mask):
        channel = state.get_channel(mask)
        if channel is not None and ("s" not in channel.modes or client in channel.members):
            for member in channel.members:
                _who_line(state, client, member, channel.name, channel.member_prefix(member, multi))
    elif "*" in mask or "?" in mask or mask == "0":
        pattern = _glob("*" if mask == "0" else mask)
        peers = state.peers_of(client)
        for c in list(state.clients.values()):
            fields = (c.nick, c.user, c.host, c.realname)
            if not c.registered or not any(pattern.match(casefold(f)) for f in fields):
                continue
            if "i" in c.modes and c is not client and c not in peers and not client.is_oper:
                continue
            _who_line(state, client, c, "*", "")
    else:
        target = state.find_nick(mask)
        if target is not None:
            _who_line(state, client, target, "*", "")
    state.numeric(client, N.RPL_ENDOFWHO, mask, "End of WHO list")


def _glob(mask: str) -> re.Pattern[str]:
    """An IRC mask (only ``*`` and ``?`` are special; ``[`` is a nick character) as a regex."""
    return re.compile(re.escape(casefold(mask)).replace(r"\*", ".*").replace(r"\?", ".") + r"\Z")


@command("WHOIS", min_params=1)
def whois(state: ServerState, client: Client, msg: Message) -> None:
    """WHOIS [server] nick: user, server, channels, idle, away, operator."""
    name = msg.params[-1].split(",")[0]
    target = state.find_nick(name)
    if target is None:
        state.numeric(client, N.ERR_NOSUCHNICK, name, "No such nick/channel")
        state.numeric(client, N.RPL_ENDOFWHOIS, name, "End of /WHOIS list")
        return
    host = target.real_host if client is target or client.is_oper else target.host
    state.numeric(client, N.RPL_WHOISUSER, target.nick, target.user, host, "*", target.realname)
    chans = [
        ch.member_prefix(target, "multi-prefix" in client.caps) + ch.name
        for ch in target.channels.values()
        if "s" not in ch.modes or client in ch.members
    ]
    if chans:
        state.numeric(client, N.RPL_WHOISCHANNELS, target.nick, " ".join(chans))
    state.numeric(client, N.RPL_WHOISSERVER, target.nick, state.name, "tcpchat")
    if target.account:
        state.numeric(client, N.RPL_WHOISACCOUNT, target.nick, target.account, "is logged in as")
    if target.away:
        state.numeric(client, N.RPL_AWAY, target.nick, target.away)
    if target.is_oper:
        state.numeric(client, N.RPL_WHOISOPERATOR, target.nick, "is an IRC operator")
    if client.is_oper or client is target:
        state.numeric(client, N.RPL_WHOISACTUALLY, target.nick, target.ip, "Actual IP address")
    idle = int(time.time() - target.last_active)
    state.numeric(
        client, N.RPL_WHOISIDLE, target.nick, str(idle), str(int(target.signon)),
        "seconds idle, signon time",
    )
    state.numeric(client, N.RPL_ENDOFWHOIS, target.nick, "End of /WHOIS list")


@command("ISON", min_params=1)
def ison(state: ServerState, client: Client, msg: Message) -> None:
    """Which of the given nicks are online."""
    names = " ".join(msg.params).split()
    online = [c.nick for n in names if (c := state.find_nick(n)) is not None]
    state.numeric(client, N.RPL_ISON, " ".join(online))


@command("USERHOST", min_params=1)
def userhost(state: ServerState, client: Client, msg: Message) -> None:
    """``nick[*]=[+-]user@host`` for up to five nicks."""
    out = []
    for name in msg.params[:5]:
        c = state.find_nick(name)
        if c is not None:
            out.append(f"{c.nick}{'*' if c.is_oper else ''}={'-' if c.away else '+'}{c.user}@{c.host}")
    state.numeric(client, N.RPL_USERHOST, " ".join(out))


@command("AWAY")
def away(state: ServerState, client: Client, msg: Message) -> None:
    """Set or clear the away message; away-notify peers are told."""
    text = msg.param(0)
    client.away = text[:390] or None
    if client.away:
        state.numeric(client, N.RPL_NOWAWAY, "You have been marked as being away")
        params: tuple[str, ...] = (client.away,)
    else:
        state.numeric(client, N.RPL_UNAWAY, "You are no longer marked as being away")
        params = ()
    variants = build_variants(client.prefix, "AWAY", params, server_time())
    for peer in state.peers_of(client):
        if "away-notify" in peer.caps:
            peer.outbox.send(variants[peer.tag_level])
