"""Names every side agrees on: the nick inside a message source, and our vendor tag namespace."""

from __future__ import annotations

VENDOR_TAG_PREFIX = "tcpchat.example/"
"""Namespace of the server's vendor message tags (``tcpchat.example/id``...), documented in the README."""


def nick_of(source: str | None) -> str:
    """The nick of a ``nick!user@host`` source; a server name (no ``!``) is returned whole."""
    if not source:
        return ""
    return source.split("!", 1)[0]
