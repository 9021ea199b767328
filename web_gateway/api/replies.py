"""Turn the TCP server's reply lines into API models, and API inputs into IRC parameters.

Sans-I/O: lists of ``Message`` in, pydantic models out, so the mapping is tested without sockets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from tcp_server.protocol import VENDOR_TAG_PREFIX, Message, is_valid_channel, nick_of
from tcp_server.protocol import numerics as N

from .models import ChatMessage, Connection, ConnectionList, Member, Room, Totals

VENDOR = VENDOR_TAG_PREFIX
"""Prefix of the server's vendor tags (STATS l and LIST to operators)."""
DEFAULT_CHANNEL_LEN = 64
"""Longest room name accepted when the server has not announced CHANNELLEN."""
_MSGID = re.compile(r"[A-Za-z0-9_\-:.+/=]{1,128}\Z")
PREFIXES = "@+"


class BadInput(ValueError):
    """An API argument that cannot become a valid IRC parameter (answered with 400)."""


def normalize_room(raw: str, max_len: int = DEFAULT_CHANNEL_LEN) -> str:
    """``lobby`` or ``#lobby`` -> ``#lobby``; raises ``BadInput`` for anything IRC would refuse."""
    name = raw if raw[:1] in "#&" else "#" + raw
    if not is_valid_channel(name, max_len) or not name.isprintable():
        raise BadInput(
            f"invalid room name {raw!r}: a room is # followed by up to {max_len - 1} characters "
            "without spaces, commas, colons or control characters"
        )
    return name


def history_ref(value: str) -> str:
    """A ``before``/``after`` value as a CHATHISTORY reference: an ISO 8601 time or a msgid."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        if not _MSGID.match(value):
            raise BadInput(f"{value!r} is neither a message id nor an ISO 8601 time") from None
        return f"msgid={value}"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        when = when.astimezone(UTC)
    except OverflowError:
        raise BadInput(f"{value!r} is out of the range of times") from None
    stamp = f"{when.year:04d}-{when:%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"
    return f"timestamp={stamp}"


def to_int(text: str, default: int = 0) -> int:
    """An ASCII decimal from the server, or ``default`` for anything else (never raises)."""
    return int(text) if text.isascii() and text.lstrip("-").isdigit() else default


def _int(tags: dict[str, str], key: str, default: int = 0) -> int:
    return to_int(tags.get(VENDOR + key, ""), default)


def _param(params: tuple[str, ...], index: int) -> int:
    return to_int(params[index]) if len(params) > index else 0


def parse_connections(lines: Iterable[Message], own_nick: str) -> ConnectionList:
    """``STATS l`` replies (211 with vendor tags) -> connections with totals."""
    conns: list[Connection] = []
    for msg in lines:
        if msg.command != N.RPL_STATSLINKINFO or VENDOR + "id" not in msg.tags:
            continue
        t = msg.tags
        ip = t.get(VENDOR + "ip", "")
        port = _int(t, "port")
        nick = t.get(VENDOR + "nick", "*")
        params = msg.params
        conns.append(
            Connection(
                id=_int(t, "id"),
                nick=nick,
                registered=t.get(VENDOR + "registered") == "1",
                transport=t.get(VENDOR + "transport", "tcp"),
                ip=ip,
                port=port,
                address=f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}",
                gateway=t.get(VENDOR + "gateway") or None,
                channels=[c for c in t.get(VENDOR + "channels", "").split(",") if c],
                signon=_int(t, "signon"),
                connected_seconds=_param(params, 7),
                idle_seconds=_int(t, "idle"),
                messages_in=_param(params, 5),
                messages_out=_param(params, 3),
                bytes_in=_int(t, "bytes-in"),
                bytes_out=_int(t, "bytes-out"),
                sendq=_int(t, "sendq"),
                oper=t.get(VENDOR + "oper") == "1",
                account=t.get(VENDOR + "account") or None,
                admin_link=nick == own_nick,
                node=t.get(VENDOR + "node") or None,
            )
        )
    conns.sort(key=lambda c: (c.node or "", c.id))
    by_transport: dict[str, int] = {}
    by_node: dict[str, int] = {}
    for c in conns:
        by_transport[c.transport] = by_transport.get(c.transport, 0) + 1
        if c.node:
            by_node[c.node] = by_node.get(c.node, 0) + 1
    totals = Totals(
        connections=len(conns),
        registered=sum(c.registered for c in conns),
        by_transport=by_transport,
        by_node=by_node,
        messages_in=sum(c.messages_in for c in conns),
        messages_out=sum(c.messages_out for c in conns),
        bytes_in=sum(c.bytes_in for c in conns),
        bytes_out=sum(c.bytes_out for c in conns),
        sendq=sum(c.sendq for c in conns),
    )
    return ConnectionList(connections=conns, totals=totals)


def parse_rooms(lines: Iterable[Message]) -> list[Room]:
    """``LIST`` replies (322, vendor tags when the link is an operator) -> rooms by name."""
    rooms = []
    for msg in lines:
        if msg.command != N.RPL_LIST or len(msg.params) < 3:
            continue
        t = msg.tags
        rooms.append(
            Room(
                name=msg.params[1],
                member_count=to_int(msg.params[2]),
                topic=msg.param(3),
                modes=t.get(VENDOR + "modes"),
                messages=_int(t, "messages") if VENDOR + "messages" in t else None,
                created=_int(t, "created") if VENDOR + "created" in t else None,
            )
        )
    rooms.sort(key=lambda r: r.name.lower())
    return rooms


def parse_names(lines: Iterable[Message]) -> list[Member]:
    """``NAMES`` replies (353) -> members with their prefix."""
    members = []
    for msg in lines:
        if msg.command != N.RPL_NAMREPLY:
            continue
        for entry in msg.params[-1].split():
            nick = entry.lstrip(PREFIXES)
            members.append(Member(nick=nick, prefix=entry[: len(entry) - len(nick)][:1]))
    members.sort(key=lambda m: m.nick.lower())
    return members


def chat_message(msg: Message) -> ChatMessage:
    """One PRIVMSG/NOTICE line -> a message (CTCP ACTION becomes kind ``action``)."""
    text = msg.param(1)
    kind = "notice" if msg.command == "NOTICE" else "privmsg"
    if text.startswith("\x01ACTION ") and kind == "privmsg":
        text, kind = text[8:].rstrip("\x01"), "action"
    nick = nick_of(msg.source)
    return ChatMessage(id=msg.tags.get("msgid"), time=msg.tags.get("time"), from_=nick, text=text, kind=kind)


def parse_history(lines: Iterable[Message]) -> list[ChatMessage]:
    """The PRIVMSG/NOTICE lines of a ``chathistory`` batch, oldest first."""
    return [chat_message(m) for m in lines if m.command in ("PRIVMSG", "NOTICE") and len(m.params) > 1]


def failure(lines: Iterable[Message]) -> Message | None:
    """The first error reply (an ERR_ numeric, or FAIL) among ``lines``."""
    for msg in lines:
        if msg.command == "FAIL" or (msg.command.isdigit() and msg.command[0] in "45"):
            return msg
    return None
