"""LIST with the ELIST filters (``ELIST=CMNTU`` in 005).

``LIST`` takes comma-separated terms: channel masks (``#chat*``), negated masks (``!#test*``),
user counts (``>n``: more than n members, ``<n``: fewer), creation time (``C<n``: created less
than n minutes ago, ``C>n``: more) and topic time (``T<n``, ``T>n``: the topic was set less or
more than n minutes ago; a channel without a topic matches no ``T`` term). A channel is listed
when it matches every count and time term, at least one mask (when masks are given) and no
negated mask.

Vendor extension: LIST replies to an operator with ``message-tags`` carry
``tcpchat.example/messages`` (messages sent to the room), ``tcpchat.example/modes`` and
``tcpchat.example/created`` for the admin page's rooms view.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from ..protocol import Message, format_line
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


def _age_test(field: str, op: str, minutes: int, now: float) -> Callable[[Channel], bool]:
    """An ELIST time term: ``C<n``/``C>n`` on the creation time, ``T<n``/``T>n`` on the
    topic's (seconds since the epoch; a topic time of 0 means no topic: never matches)."""
    limit = minutes * 60

    def test(channel: Channel) -> bool:
        when = channel.created if field == "C" else channel.topic_at
        if field == "T" and not channel.topic_at:
            return False
        age = now - when
        return age < limit if op == "<" else age > limit

    return test


def parse_filter(terms: str) -> Callable[[Channel], bool] | None:
    """The ELIST filter for ``terms``; None when a term is malformed (e.g. ``>x``)."""
    masks: list[re.Pattern[str]] = []
    negated: list[re.Pattern[str]] = []
    counts: list[Callable[[int], bool]] = []
    ages: list[Callable[[Channel], bool]] = []
    now = time.time()
    for term in (t for t in terms.split(",") if t):
        if term[0] in "<>" or term[:2] in ("U<", "U>"):
            op, number = (term[1], term[2:]) if term[0] == "U" else (term[0], term[1:])
            if not number.isdigit():
                return None
            counts.append(_size_test(op, int(number)))
        elif term[:2] in ("C<", "C>", "T<", "T>"):
            if not term[2:].isdigit():
                return None
            ages.append(_age_test(term[0], term[1], int(term[2:]), now))
        elif term[0] == "!":
            negated.append(glob_pattern(term[1:]))
        else:
            masks.append(glob_pattern(term))

    def keep(channel: Channel) -> bool:
        size = len(channel.members)
        if not all(test(size) for test in counts) or not all(test(channel) for test in ages):
            return False
        if masks and not any(p.match(channel.folded) for p in masks):
            return False
        return not any(p.match(channel.folded) for p in negated)

    return keep


@command("LIST")
def list_(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """LIST [#a,#b | ELIST filters like >5,<50,C<60,T>10,#chat*,!#test*]: channels, members, topic."""
    terms = msg.param(0)
    if terms and not any(ch in terms for ch in "*?<>!"):  # plain names: look them up directly
        state.bus.list_channels(rb, terms.split(","), lambda rb, found: _reply(state, client, rb, found))
        return
    keep = parse_filter(terms) if terms else None
    state.bus.list_channels(
        rb, None, lambda rb, every: _reply(state, client, rb, [c for c in every if keep is None or keep(c)])
    )


def _reply(state: ServerState, client: Client, rb: ResponseBuffer, channels: list[Channel]) -> None:
    """321, one 322 per channel ``client`` may see, 323 (a cluster's come from every node)."""
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
