"""History target keys: one string per channel or private conversation, compared casefolded.

A channel's key is its casefolded name. A private conversation's key names both nicks, sorted,
so ``alice -> Bob`` and ``bob -> Alice`` land in the same conversation.
"""

from __future__ import annotations

from ..protocol import casefold, is_channel_name
from .base import StoredMessage

PRIVATE_MARK = "="
"""Private keys start with this (never a channel type), then ``nick1 nick2`` (nicks have no spaces)."""


def channel_key(name: str) -> str:
    """The key of channel ``name``."""
    return casefold(name)


def private_key(nick_a: str, nick_b: str) -> str:
    """The key of the conversation between two nicks (order does not matter)."""
    a, b = sorted((casefold(nick_a), casefold(nick_b)))
    return f"{PRIVATE_MARK}{a} {b}"


def record_key(record: StoredMessage) -> str:
    """Where ``record`` is filed."""
    if is_channel_name(record.target):
        return channel_key(record.target)
    return private_key(record.sender, record.target)


def private_peers(key: str) -> tuple[str, str] | None:
    """The two casefolded nicks of a private key, or None for a channel key."""
    if not key.startswith(PRIVATE_MARK):
        return None
    a, _, b = key[1:].partition(" ")
    return a, b


def other_party(key: str, me: str) -> str:
    """For a private key, the casefolded nick that is not ``me``; the channel key otherwise."""
    peers = private_peers(key)
    if peers is None:
        return key
    a, b = peers
    return b if a == casefold(me) else a
