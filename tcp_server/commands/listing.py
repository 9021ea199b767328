"""LIST with the ELIST filters (``ELIST=MNU`` in 005).

``LIST`` takes comma-separated terms: channel masks (``#chat*``), negated masks (``!#test*``),
and user counts (``>n``: more than n members, ``<n``: fewer). A channel is listed when it
matches every count term, at least one mask (when masks are given) and no negated mask.

Vendor extension: LIST replies to an operator with ``message-tags`` carry
``tcpchat.example/messages`` (messages sent to the room), ``tcpchat.example/modes`` and
``tcpchat.example/created`` for the admin page's rooms view.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..protocol import Message, casefold, format_line
from ..protocol import numerics as N
from ..state import TAGS_ALL, Channel, Client, ServerState
from ..state.masks import glob_pattern
from ..state.responses import ResponseBuffer
from .table import command

VENDOR = "tcpchat.example/"


def _list_line_for_oper(state: ServerState, client: Client, rb: ResponseBuffer, channel: Channel) -> None:
    """RPL_LIST with vendor tags for the admin page: message counter, modes, creation time."""
    tags = {
        VENDOR + "messages": str(channel.messages),
        VENDOR + "modes": channel.mode_string(show_key=False)[0],
        VENDOR + "created": str(channel.created),
    }
    params = (client.nick, channel.name, str(len(channel.members)), channel.topic)
    rb.add(format_line(Message(N.RPL_LIST, params, state.name, tags)))


def _size_test(op: str, n: int) -> Callable[[int], bool]:
    """An ELIST member-count term: ``>n`` or ``<n``."""
    if op == ">":
        return lambda size: size > n
    return lambda size: size < n


def parse_filter(terms: str) -> Callable[[Channel], bool] | None:
    """The ELIST filter for ``terms``; None when a term is malformed (e.g. ``>x``)."""
    masks: list[re.Pattern[str]] = []
    negated: list[re.Pattern[str]] = []
    counts: list[Callable[[int], bool]] = []
    for term in (t for t in terms.split(",") if t):
        if term[0] in "<>" or term[:2] in ("U<", "U>"):
            op, number = (term[1], term[2:]) if term[0] == "U" else (term[0], term[1:])
            if not number.isdigit():
                return None
            counts.append(_size_test(op, int(number)))
        elif term[0] == "!":
            negated.append(glob_pattern(term[1:]))
        else:
            masks.append(glob_pattern(term))

    def keep(channel: Channel) -> bool:
        size = len(channel.members)
        if not all(test(size) for test in counts):
            return False
        if masks and not any(p.match(channel.folded) for p in masks):
            return False
        return not any(p.match(channel.folded) for p in negated)

    return keep


@command("LIST")
def list_(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """LIST [#a,#b | ELIST filters like >5,<50,#chat*,!#test*]: channels with members and topic."""
    terms = msg.param(0)
    if terms and not any(ch in terms for ch in "*?<>!"):  # plain names: look them up directly
        found = (state.channels.get(casefold(n)) for n in terms.split(","))
        channels = [c for c in found if c is not None]
    else:
        keep = parse_filter(terms) if terms else None
        channels = [c for c in state.channels.values() if keep is None or keep(c)]
    rb.numeric(N.RPL_LISTSTART, "Channel", "Users  Name")
    for channel in channels:
        hidden = "s" in channel.modes or "p" in channel.modes
        if hidden and client not in channel.members and not client.is_oper:
            continue
        if client.is_oper and client.tag_level == TAGS_ALL:
            _list_line_for_oper(state, client, rb, channel)
            continue
        rb.numeric(N.RPL_LIST, channel.name, str(len(channel.members)), channel.topic)
    rb.numeric(N.RPL_LISTEND, "End of /LIST")
