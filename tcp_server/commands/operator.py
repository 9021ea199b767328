"""Operator commands: OPER, KILL, STATS (``STATS l`` feeds the admin page).

Vendor extension: a ``STATS l`` reply to an operator with ``message-tags`` carries the fields the
admin page needs as tags under ``tcpchat.example/`` (id, transport, ip, port, gateway, channels,
idle, signon, sendq, bytes-in, bytes-out, oper, account: empty when not logged in). ``KILL id=<n>``
kills by connection id, so unregistered connections can be disconnected too.
"""

from __future__ import annotations

import logging
import time

from ..protocol import VENDOR_TAG_PREFIX, Message, fit_text, format_line
from ..protocol import numerics as N
from ..state import TAGS_ALL, Client, ServerState
from ..state.responses import ResponseBuffer
from .table import command

log = logging.getLogger("tcpchat.server")
VENDOR = VENDOR_TAG_PREFIX


@command("OPER", min_params=2)
def oper(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """OPER name password: become an IRC operator (credentials from settings, hashed).

    The hash runs off the event loop under the guessing limits (``state.guarded_check``): an
    address over them gets 464 without a check, and a connection failing repeatedly is dropped.
    """
    name, password = msg.params[0], msg.params[1]

    def answered(ok: bool) -> None:  # after the hash, in the command's place, with its label
        if not ok:
            log.warning("oper failed id=%s nick=%s addr=%s", client.id, client.nick, client.ip)
            rb.numeric(N.ERR_PASSWDMISMATCH, "Password incorrect")
            return
        state.set_oper(client, True)
        log.info("oper id=%s nick=%s addr=%s", client.id, client.nick, client.ip)
        rb.numeric(N.RPL_YOUREOPER, "You are now an IRC operator")
        rb.add(f":{client.prefix} MODE {client.nick} +o\r\n".encode())

    if not state.guarded_check(client, "oper", lambda: state.check_oper(name, password), answered, rb):
        rb.numeric(N.ERR_PASSWDMISMATCH, "Too many password attempts; try again later")


def find_connection(state: ServerState, target: str) -> Client | None:
    """A client by nick, or by connection id written ``id=<n>``."""
    if target.startswith("id="):
        ident = target[3:]
        return state.clients.get(int(ident)) if ident.isdigit() else None
    return state.find_nick(target)


@command("KILL", min_params=1, needs_oper=True)
def kill(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """KILL nick|id=<n> [:reason]: disconnect a connection."""
    target = find_connection(state, msg.params[0])
    if target is None:
        rb.numeric(N.ERR_NOSUCHNICK, msg.params[0], "No such nick/channel")
        return
    reason = msg.param(1, "No reason given")
    state.counters.kills += 1
    log.info(
        "kill id=%s nick=%s addr=%s:%s by=%s reason=%r",
        target.id, target.nick, target.ip, target.port, client.nick, reason,
    )
    text = f"Killed ({client.nick} ({reason}))"
    line = b""
    if target is not client:  # the target hears who killed it, on whichever node it is
        shown = fit_text(client.prefix, "KILL", target.nick, reason)
        line = f":{client.prefix} KILL {target.nick} :{shown}\r\n".encode("utf-8", "replace")
    state.bus.disconnect(target, text, line)


def _link_line(state: ServerState, asker: Client, c: Client, now: float, node: str) -> None:
    linkname = f"{c.nick}[{c.user or '*'}@{c.real_host}]"  # operators see the real host
    sendq = c.outbox.sendq_bytes
    params = (
        asker.nick, linkname, str(sendq), str(c.msgs_out), str(c.bytes_out // 1024),
        str(c.msgs_in), str(c.bytes_in // 1024), str(int(now - c.signon)),
    )
    tags: dict[str, str] = {}
    if asker.tag_level == TAGS_ALL:
        tags = {
            VENDOR + "id": str(c.id),
            VENDOR + "nick": c.nick,
            VENDOR + "transport": c.transport,
            VENDOR + "ip": c.ip,
            VENDOR + "port": str(c.port),
            VENDOR + "gateway": c.gateway or "",
            VENDOR + "registered": "1" if c.registered else "0",
            VENDOR + "channels": ",".join(ch.name for ch in c.channels.values()),
            VENDOR + "idle": str(int(now - c.last_active)),
            VENDOR + "signon": str(int(c.signon)),
            VENDOR + "sendq": str(sendq),
            VENDOR + "bytes-in": str(c.bytes_in),
            VENDOR + "bytes-out": str(c.bytes_out),
            VENDOR + "oper": "1" if c.is_oper else "0",
            VENDOR + "account": c.account or "",
        }
        if node:  # cluster mode: the node the connection is on (remote ones have no counters here)
            tags[VENDOR + "node"] = node
    asker.outbox.send(format_line(Message(N.RPL_STATSLINKINFO, params, state.name, tags)))


@command("STATS", min_params=1)
def stats(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """STATS l (every connection, in a cluster every node's, with a node tag; operators only)
    and STATS u (uptime)."""
    letter = msg.params[0][:1]
    if letter == "l":
        if not client.is_oper:
            rb.numeric(N.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator")
            return
        now = time.time()
        node = state.bus.node
        for c in list(state.clients.values()):
            _link_line(state, client, c, now, node)
        for c, remote in state.bus.remote_users():
            _link_line(state, client, c, now, remote)
    elif letter == "u":
        up = int(time.time() - state.created)
        state.numeric(
            client, "242", f"Server Up {up // 86400} days {up % 86400 // 3600}:{up % 3600 // 60:02d}:{up % 60:02d}"
        )
    rb.numeric(N.RPL_ENDOFSTATS, letter or "*", "End of /STATS report")
