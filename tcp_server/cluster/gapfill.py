"""Filling a channel's gap from the shared history after Redis was away (or an event was missed).

While Redis is unreachable each node delivers to its own users only, and the origin node stores
every message in the shared PostgreSQL history. Once Redis is back, or when a sequence number
skips, the node reads the channel's messages since shortly before the last event it received
and hands its local members those it never delivered: messages of other nodes (its own were
delivered here) whose msgid it has not seen on the bus. A message is never shown twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

from ..history.base import Cond
from ..history.keys import channel_key
from ..history.sql import time_us
from ..state import build_variants, server_time

if TYPE_CHECKING:
    from .link import Link

log = logging.getLogger("tcpchat.cluster")

FILLED_COMMANDS = ("PRIVMSG", "NOTICE")


class SeenIds:
    """Msgids delivered per channel, the newest ``limit`` of each (what a fill must skip)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.ids: dict[str, OrderedDict[str, None]] = {}

    def add(self, folded: str, msgid: str) -> None:
        """Remember ``msgid`` as delivered on channel ``folded``."""
        ids = self.ids.get(folded)
        if ids is None:
            ids = self.ids[folded] = OrderedDict()
        ids[msgid] = None
        if len(ids) > self.limit:
            ids.popitem(last=False)

    def __contains__(self, key: tuple[str, str]) -> bool:
        folded, msgid = key
        return msgid in self.ids.get(folded, ())

    def forget(self, folded: str) -> None:
        """The channel is no longer followed here."""
        self.ids.pop(folded, None)


async def fill(link: Link, folded: str, since: float) -> int:
    """Deliver the stored messages of ``folded`` after ``since`` that this node missed."""
    state = link.state
    history = state.history
    if history is None:
        return 0
    await asyncio.sleep(link.settings.cluster_gap_fill_delay)  # let the origins' commits land
    records = await history.select(
        channel_key(folded), (Cond("time_us", ">", time_us(since)),), state.settings.chathistory_max, False
    )
    channel = state.channels.get(folded)
    if channel is None:
        return 0
    mine = link.bus.node + "-"
    count = 0
    for record in records:
        if record.command not in FILLED_COMMANDS or record.msgid.startswith(mine):
            continue
        if (folded, record.msgid) in link.seen:
            continue
        link.seen.add(folded, record.msgid)
        variants = build_variants(
            record.source, record.command, (channel.name, record.text), server_time(record.time), record.tags
        )
        state.relay([m for m in channel.members if m.id > 0], variants)
        count += 1
    if count:
        log.warning("cluster: %d missed message(s) of %s delivered from history", count, folded)
    link.bus.filled += count
    return count
