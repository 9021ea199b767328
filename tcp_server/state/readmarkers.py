"""Read markers (IRCv3 draft/read-marker): the last-read time per (nick, target), in memory.

Keyed per nick, or per account (``$a:name``) for logged-in connections, whose markers are also
stored in the account database (``commands/markread.py``); bounded here: at most
``read_markers_max`` entries, the least recently updated dropped first.
"""

from __future__ import annotations

from collections import OrderedDict

from ..protocol import casefold


class ReadMarkers:
    """(folded nick or ``$a:account``, folded target) -> ``server-time`` timestamp last read."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._marks: OrderedDict[tuple[str, str], str] = OrderedDict()

    def get(self, nick: str, target: str) -> str | None:
        """The stored timestamp, or None when none is known."""
        return self._marks.get((casefold(nick), casefold(target)))

    def advance(self, nick: str, target: str, timestamp: str) -> str:
        """Store ``timestamp`` unless an equal or later one is stored; returns the stored value.

        Timestamps are ``YYYY-MM-DDThh:mm:ss.sssZ``, so text order is time order.
        """
        key = (casefold(nick), casefold(target))
        current = self._marks.get(key)
        if current is not None and current >= timestamp:
            return current
        self._marks[key] = timestamp
        self._marks.move_to_end(key)
        while len(self._marks) > self.limit:
            self._marks.popitem(last=False)
        return timestamp
