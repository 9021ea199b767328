"""Redis key names and the event payloads nodes exchange (JSON), in one place.

Every per-channel key carries the casefolded channel name as a ``{hash tag}``, so the sequence
counter, the member hash and the sharded pub/sub channel of one IRC channel land on one Redis
Cluster slot (the Lua publish script touches two of them at once).
"""

from __future__ import annotations

import json
from typing import Any

PREFIX = "tcpchat:"
USERS = PREFIX + "users"
"""Hash: casefolded nick -> JSON user info (node, nick, user, host, realname, account)."""
USERS_CHANNEL = PREFIX + "users-events"
"""Pub/sub channel of user events: nick set or changed, quit."""
WHOWAS = PREFIX + "whowas"
"""List (newest first, ``whowas_size`` long) of nicks left by users of any node: JSON entries."""
NODES = PREFIX + "nodes"
"""Set of node ids that have joined the cluster (the reaper checks each one's heartbeat)."""

PUBLISH_SCRIPT = (
    "local last = redis.call('INCRBY', KEYS[1], #ARGV - 1) "
    "local first = last - #ARGV + 2 "
    "for i = 2, #ARGV do redis.call(ARGV[1], KEYS[2], (first + i - 2) .. '|' .. ARGV[i]) end "
    "return last"
)
"""Number a run of one channel's events and publish them in one atomic step: the sequence order
is the delivery order. ARGV[1] is SPUBLISH (Redis >= 7) or PUBLISH, ARGV[2..] the events."""


def channel_seq(folded: str) -> str:
    """INCR counter of a channel's events (gap detection)."""
    return f"{PREFIX}seq:{{{folded}}}"


def channel_topic(folded: str) -> str:
    """Pub/sub channel (sharded where supported) carrying one IRC channel's events, in order."""
    return f"{PREFIX}chan:{{{folded}}}"


def channel_members(folded: str) -> str:
    """Hash: casefolded nick -> ``node modes`` for every member, on any node."""
    return f"{PREFIX}members:{{{folded}}}"


def channel_meta(folded: str) -> str:
    """Hash: name, topic, topic_by, topic_at (what a node joining later must know)."""
    return f"{PREFIX}meta:{{{folded}}}"


def nick_key(folded: str) -> str:
    """The nick claim: ``node epoch``, set with NX so two nodes cannot both get a nick."""
    return f"{PREFIX}nick:{{{folded}}}"


def node_channel(node: str) -> str:
    """Pub/sub channel where a node receives private messages for its users."""
    return f"{PREFIX}node:{node}"


def node_alive(node: str) -> str:
    """Heartbeat key with a TTL: gone means the node is dead."""
    return f"{PREFIX}alive:{node}"


def node_channels(node: str) -> str:
    """Set of channels where a node has members (what the reaper must clean)."""
    return f"{PREFIX}node-channels:{node}"


def reap_lock(node: str) -> str:
    """Short lock: one surviving node announces a dead node's users."""
    return f"{PREFIX}reap:{node}"


def encode(event: dict[str, Any]) -> str:
    """One event as compact JSON."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def decode_channel_event(data: str) -> tuple[int, dict[str, Any]]:
    """``seq|json`` as published by ``PUBLISH_SCRIPT``."""
    seq, _, body = data.partition("|")
    return int(seq), json.loads(body)


def pack_variants(variants: tuple[bytes, bytes, bytes, bytes, bytes]) -> list[str]:
    """The pre-encoded variants of a line (they are UTF-8: built with ``replace``): three when
    the account-tag ones are the first two again (no ``account`` tag), else all five."""
    body, timed, full, account, timed_account = variants
    if account is body and timed_account is timed:
        return [body.decode(), timed.decode(), full.decode()]
    return [v.decode() for v in variants]


def unpack_variants(packed: list[str]) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """Back to bytes, encoded once per event and shared by every local recipient."""
    body, timed, full = packed[0].encode(), packed[1].encode(), packed[2].encode()
    if len(packed) == 3:
        return body, timed, full, body, timed
    return body, timed, full, packed[3].encode(), packed[4].encode()


def msgid_of(full: bytes) -> str:
    """The ``msgid`` tag of a relayed line (its all-tags variant), or ''."""
    head = full[: full.find(b" ")]
    start = head.find(b"msgid=")
    if start < 0:
        return ""
    end = head.find(b";", start)
    return head[start + 6 : end if end > 0 else None].decode()
