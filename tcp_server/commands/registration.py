"""Connection registration: CAP negotiation, PASS, NICK, USER, WEBIRC; the welcome burst."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import time

from ..protocol import CASEMAPPING, CHANTYPES, Message, casefold, is_valid_nick
from ..protocol import numerics as N
from ..state import VERSION, Client, ServerState, build_variants, display_host, server_time
from ..state.responses import ResponseBuffer
from .bans import isupport_list_tokens
from .modes import MAX_PARAM_MODES
from .monitor import isupport_monitor
from .multiline import CAP as MULTILINE
from .multiline import cap_value as multiline_value
from .queries import send_lusers, send_motd
from .table import command

log = logging.getLogger("tcpchat.server")

BASE_CAPS = (
    "message-tags", "server-time", "echo-message", "multi-prefix", "away-notify",
    "batch", "labeled-response", "userhost-in-names", "extended-monitor", "draft/extended-monitor", "setname",
    "cap-notify", "invite-notify", "no-implicit-names", "draft/multiline",
    "draft/read-marker",
)
HISTORY_CAPS = ("draft/chathistory", "draft/message-redaction")
"""Offered only with a history store: redaction checks the sender against the stored message."""
ACCOUNT_CAPS = ("account-notify", "account-tag", "extended-join", "sasl")
REGISTRATION_CAP = "draft/account-registration"
_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}\Z")
"""A host name WEBIRC may set (else the address is shown): letters, digits, dots, dashes."""


def supported_caps(state: ServerState) -> tuple[str, ...]:
    """Capabilities this server offers (chathistory only when history is on, the account ones
    only when accounts are)."""
    caps = BASE_CAPS + (HISTORY_CAPS if state.history is not None else ())
    if state.accounts is not None:
        caps += ACCOUNT_CAPS
        if state.settings.account_registration:
            caps += (REGISTRATION_CAP,)
    return caps


def sasl_mechanisms(state: ServerState) -> tuple[str, ...]:
    """SASL mechanisms offered (EXTERNAL only when the TLS port asks for client certificates)."""
    external = ("EXTERNAL",) if state.settings.tls_client_ca is not None else ()
    return ("PLAIN", "SCRAM-SHA-256", *external)


def cap_values(state: ServerState) -> dict[str, str]:
    """Values shown after ``=`` in ``CAP LS 302`` (older clients get bare names)."""
    values = {MULTILINE: multiline_value(state)}
    if state.accounts is not None:
        values["sasl"] = ",".join(sasl_mechanisms(state))
        values[REGISTRATION_CAP] = "before-connect"
    return values


def _ls_line(state: ServerState, client: Client) -> str:
    values = cap_values(state) if client.cap_version >= 302 else {}
    return " ".join(f"{c}={values[c]}" if values.get(c) else c for c in supported_caps(state))


def isupport_tokens(state: ServerState) -> list[str]:
    """The RPL_ISUPPORT (005) tokens."""
    s = state.settings
    tokens = [
        "AWAYLEN=390",
        "BOT=B",
        f"CASEMAPPING={CASEMAPPING}",
        f"CHANLIMIT={CHANTYPES}:{s.max_channels_per_client}",
        "CHANMODES=beI,k,l,imnpst",
        f"CHANNELLEN={s.channel_len}",
        f"CHANTYPES={CHANTYPES}",
        "ELIST=CMNTU",
        "KICKLEN=390",
        f"MODES={MAX_PARAM_MODES}",
        f"NETWORK={s.network_name}",
        f"NAMELEN={s.realname_len}",
        f"NICKLEN={s.nick_len}",
        "PREFIX=(ov)@+",
        f"TARGMAX=PRIVMSG:{s.max_targets},NOTICE:{s.max_targets},JOIN:,PART:,"
        f"KICK:{s.max_query_targets},NAMES:{s.max_query_targets},WHOWAS:{s.max_query_targets}",
        "STATUSMSG=@+",
        f"TOPICLEN={s.topic_len}",
        "UTF8ONLY",
        *isupport_list_tokens(state),
        isupport_monitor(state),
        "WHOX",
    ]
    if state.history is not None:
        tokens += [f"CHATHISTORY={s.chathistory_max}", "MSGREFTYPES=msgid,timestamp"]
    if state.accounts is not None:
        tokens.append("EXTBAN=$,a")  # $a:account in +b/+e/+I (commands/chanserv.py)
    return tokens


def try_finish_registration(state: ServerState, client: Client, rb: ResponseBuffer) -> None:
    """Complete registration once NICK and USER are in and CAP negotiation has ended."""
    if client.registered or client.cap_negotiating or not client.user or not client.folded:
        return
    if state.settings.password is not None and not client.pass_ok:
        rb.numeric(N.ERR_PASSWDMISMATCH, "Password incorrect")
        state.disconnect(client, "Bad password")
        return
    state.mark_registered(client)
    client.update_prefix()
    state.presence.came_online(client)
    log.info(
        "register id=%s nick=%s addr=%s:%s transport=%s",
        client.id, client.nick, client.ip, client.port, client.transport,
    )
    s = state.settings
    rb.numeric(N.RPL_WELCOME, f"Welcome to the {s.network_name} IRC Network {client.prefix}")
    rb.numeric(N.RPL_YOURHOST, f"Your host is {state.name}, running version {VERSION}")
    created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(state.created))
    rb.numeric(N.RPL_CREATED, f"This server was created {created}")
    rb.add(
        f":{state.name} {N.RPL_MYINFO} {client.nick} {state.name} {VERSION} Biow Ibeiklmnopstv\r\n".encode()
    )
    tokens = isupport_tokens(state)
    for i in range(0, len(tokens), 12):
        rb.numeric(N.RPL_ISUPPORT, *tokens[i : i + 12], "are supported by this server")
    send_lusers(state, client, rb)
    send_motd(state, client, rb)
    for hook in state.on_nick:
        hook(client)


@command("CAP", min_params=1, pre_registration=True)
def cap(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """CAP LS / LIST / REQ / END (IRCv3 capability negotiation, version 302)."""
    sub = msg.params[0].upper()
    if sub == "LS":
        if not client.registered:
            client.cap_negotiating = True
        version = msg.param(1)
        client.cap_version = max(client.cap_version, int(version) if version.isdigit() else 301)
        rb.reply("CAP", client.nick, "LS", _ls_line(state, client))
    elif sub == "LIST":
        rb.reply("CAP", client.nick, "LIST", " ".join(sorted(client.caps)))
    elif sub == "REQ":
        if not client.registered:
            client.cap_negotiating = True
        wanted = msg.param(1).split()
        offered = set(supported_caps(state))
        caps = set(client.caps)
        for item in wanted:
            name = item.lstrip("-")
            if name not in offered:
                rb.reply("CAP", client.nick, "NAK", msg.param(1))
                return
            if item.startswith("-"):
                caps.discard(name)
            else:
                caps.add(name)
        client.set_caps(caps)
        rb.reply("CAP", client.nick, "ACK", msg.param(1))
    elif sub == "END":
        if not client.registered:
            client.cap_negotiating = False
            try_finish_registration(state, client, rb)
    else:
        rb.numeric(N.ERR_INVALIDCAPCMD, msg.params[0], "Invalid CAP command")


@command("PASS", min_params=1, pre_registration=True)
def pass_(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """Connection password, checked when registration completes; without one, with accounts on,
    ``PASS account:password`` logs in (for clients without SASL)."""
    if client.registered:
        rb.numeric(N.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    expected = state.settings.password
    if expected is None and state.accounts is not None and ":" in msg.params[0] and not client.account:
        from .accounts import pass_login

        pass_login(state, client, rb, msg.params[0])
        return
    client.pass_ok = expected is not None and hmac.compare_digest(
        msg.params[0].encode(), expected.get_secret_value().encode()
    )


@command("WEBIRC", min_params=4, pre_registration=True)
def webirc(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """``WEBIRC password gateway hostname ip``: a trusted gateway passes the user's real address."""
    if client.registered or client.transport == "web":
        return
    password, gateway, hostname, ip = msg.params[:4]
    if not state.check_webirc(password, client.ip):
        state.disconnect(client, "WEBIRC authentication failed")
        return
    try:
        ip = str(ipaddress.ip_address(ip))
    except ValueError:
        state.disconnect(client, "WEBIRC: invalid IP address")
        return
    if state.ip_is_full(ip):
        state.disconnect(client, "Too many connections from your address")
        return
    log.info("webirc id=%s gateway=%s real_ip=%s", client.id, gateway, ip)
    client.gateway = f"{gateway}@{client.ip}"
    state.set_ip(client, ip)
    client.real_host = hostname if _HOSTNAME.match(hostname) else display_host(ip)
    client.host = state.host_for(ip) if state.settings.cloak_hosts else client.real_host
    client.transport = "web"
    client.update_prefix()


@command("NICK", pre_registration=True)
def nick(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """Set or change the nick; everyone sharing a channel sees the change."""
    if not msg.params or not msg.params[0]:
        rb.numeric(N.ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    new = msg.params[0]
    if not is_valid_nick(new, state.settings.nick_len):
        rb.numeric(N.ERR_ERRONEUSNICKNAME, new, "Erroneous nickname")
        return
    if new == client.nick:
        return
    old_prefix, old_nick = client.prefix, client.nick
    state.bus.claim_nick(client, new, lambda ok: _nick_claimed(state, client, rb, new, old_prefix, old_nick, ok))


def _nick_claimed(state: ServerState, client: Client, rb: ResponseBuffer, new: str, old_prefix: str, old_nick: str, ok: bool) -> None:
    """The claim's answer (at once alone; after Redis's in a cluster): 433, or announce the change."""
    if client.gone:
        return
    if not ok:
        rb.numeric(N.ERR_NICKNAMEINUSE, new, "Nickname is already in use")
        return
    if client.registered:
        variants = build_variants(old_prefix, "NICK", (new,), server_time())
        rb.add(variants[client.tag_level])
        for peer in state.peers_of(client):
            peer.outbox.send(variants[peer.tag_level])
        for channel in client.channels.values():
            channel.invites.discard(casefold(new))
        state.presence.nick_changed(client, old_nick)
        for hook in state.on_nick:
            hook(client)
    else:
        try_finish_registration(state, client, rb)


@command("USER", min_params=4, pre_registration=True)
def user(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """``USER username 0 * :realname``."""
    if client.registered:
        rb.numeric(N.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    if not msg.params[0] or not msg.params[3]:  # an empty user name or realname is no registration
        rb.numeric(N.ERR_NEEDMOREPARAMS, "USER", "Not enough parameters")
        return
    username = "".join(ch for ch in msg.params[0] if ch.isalnum() or ch in "-_.")[:16]
    client.user = "~" + (username or "user")
    client.realname = msg.params[3][: state.settings.realname_len]
    client.update_prefix()
    try_finish_registration(state, client, rb)


@command("PING", min_params=1, pre_registration=True)
def ping(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """Answer with PONG carrying the same token."""
    rb.reply("PONG", state.name, msg.params[0])


@command("PONG", pre_registration=True)
def pong(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """Liveness is tracked by the transport on any input; nothing else to do."""


@command("QUIT", pre_registration=True)
def quit_(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """Leave: peers see ``QUIT :Quit: reason`` once."""
    reason = msg.param(0, "Client Quit")
    state.disconnect(client, f"Quit: {reason}", f"Quit: {reason}")
