"""A channel: members with their prefix modes, topic, channel modes. No I/O."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .masks import ListEntry, any_match

if TYPE_CHECKING:
    from .client import Client

PREFIXES = (("o", "@"), ("v", "+"))
"""Member modes from highest to lowest, with their NAMES prefix."""
FLAG_MODES = "imnstp"
"""Channel modes without a parameter (we implement i, m, n, t, s, p)."""


class Channel:
    """Room state: who is in it with which modes, its topic and its modes."""

    __slots__ = (
        "name", "folded", "members", "topic", "topic_by", "topic_at",
        "modes", "key", "limit", "invites", "created", "messages", "lists",
    )

    def __init__(self, name: str, folded: str) -> None:
        self.name = name
        self.folded = folded
        self.members: dict[Client, str] = {}
        self.topic = ""
        self.topic_by = ""
        self.topic_at = 0
        self.modes: set[str] = {"n", "t"}
        self.key: str | None = None
        self.limit: int | None = None
        self.invites: set[str] = set()
        self.created = int(time.time())
        self.messages = 0
        self.lists: dict[str, dict[str, ListEntry]] = {}
        """+b/+e/+I entries by mode letter, each keyed by the case-folded mask (created when set)."""

    def member_prefix(self, client: Client, multi: bool) -> str:
        """The NAMES/WHO prefix of ``client``: the highest mode, or all with multi-prefix."""
        modes = self.members.get(client, "")
        if not modes:
            return ""
        out = [sym for mode, sym in PREFIXES if mode in modes]
        return "".join(out) if multi else out[0] if out else ""

    def is_op(self, client: Client) -> bool:
        """True when ``client`` is a channel operator."""
        return "o" in self.members.get(client, "")

    def is_banned(self, client: Client) -> bool:
        """A +b mask covers ``client`` and no +e exception does."""
        lists = self.lists
        return any_match(lists.get("b"), client) and not any_match(lists.get("e"), client)

    def invite_exempt(self, client: Client) -> bool:
        """A +I mask lets ``client`` past +i."""
        return any_match(self.lists.get("I"), client)

    def can_speak(self, client: Client) -> bool:
        """Whether ``client`` may send here given +n, +m and bans (voice and op speak anyway)."""
        modes = self.members.get(client)
        if modes is None:
            return "n" not in self.modes and not (self.lists and self.is_banned(client))
        if modes:
            return True
        return "m" not in self.modes and not (self.lists and self.is_banned(client))

    def mode_string(self, show_key: bool) -> tuple[str, ...]:
        """The channel modes as MODE parameters, e.g. ``('+ntlk', '10', 'secret')``."""
        flags = "".join(sorted(self.modes))
        params: list[str] = []
        if self.limit is not None:
            flags += "l"
            params.append(str(self.limit))
        if self.key is not None:
            flags += "k"
            params.append(self.key if show_key else "*")
        return ("+" + flags, *params)
