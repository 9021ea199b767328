"""RFC 1459 casemapping and name validation: one choice, used for every nick and channel."""

from __future__ import annotations

import re

CASEMAPPING = "rfc1459"
_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\~", "abcdefghijklmnopqrstuvwxyz{}|^")

CHANTYPES = "#&"
_NICK_RE = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]*\Z")
_CHANNEL_BAD = re.compile(r"[\x00\x07\r\n ,:]")


def casefold(name: str) -> str:
    """Fold a nick or channel name so that equal names compare equal (rfc1459 mapping)."""
    if name.isascii():  # str.lower maps exactly A-Z on ASCII text, and is cheaper than translate
        lowered = name.lower()
        if "[" not in lowered and "]" not in lowered and "\\" not in lowered and "~" not in lowered:
            # the same object when nothing changed: a stored nick and its folded key share it
            return name if lowered == name else lowered
    return name.translate(_FOLD)


def is_valid_nick(nick: str, max_len: int) -> bool:
    """True when ``nick`` follows RFC 2812 nick syntax and fits ``max_len``."""
    return 0 < len(nick) <= max_len and _NICK_RE.match(nick) is not None


def is_channel_name(name: str) -> bool:
    """True when ``name`` looks like a channel (starts with a channel type)."""
    return bool(name) and name[0] in CHANTYPES


def is_valid_channel(name: str, max_len: int) -> bool:
    """True when ``name`` is a legal channel name of at most ``max_len`` characters."""
    return (
        1 < len(name) <= max_len
        and name[0] in CHANTYPES
        and _CHANNEL_BAD.search(name) is None
    )
