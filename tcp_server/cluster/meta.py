"""A channel's shared state (topic, modes, key, limit, invitations, +b/+e/+I lists) as it is
kept in the channel's Redis meta hash and carried by TOPIC/MODE events."""

from __future__ import annotations

import json
from typing import Any

from ..state import Channel
from ..state.masks import ListEntry


def apply_meta(channel: Channel, meta: dict[str, Any]) -> None:
    """Topic and flags another node set (from an event or the meta hash)."""
    channel.topic, channel.topic_by = meta.get("topic", ""), meta.get("by", "")
    channel.topic_at = int(meta.get("at") or 0)
    if "modes" in meta:
        channel.modes = set(meta["modes"])
        channel.key = meta.get("key") or None
        channel.limit = int(meta.get("limit") or 0) or None
    if "invites" in meta:
        channel.invites = set(json.loads(meta["invites"]))
    if "lists" in meta:
        channel.lists = {
            letter: {folded: ListEntry(*entry) for folded, entry in entries.items()}
            for letter, entries in json.loads(meta["lists"]).items()
        }


def pack_lists(channel: Channel) -> str:
    """+b/+e/+I entries as JSON (a Redis hash value is a string)."""
    return json.dumps({
        letter: {folded: [e.mask, e.setter, e.set_at, e.by_oper] for folded, e in entries.items()}
        for letter, entries in channel.lists.items()
    })
