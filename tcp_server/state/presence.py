"""Who was here and who watches whom: the WHOWAS memory and MONITOR lists. No I/O.

WHOWAS keeps the last ``whowas_size`` nick uses (a nick change or a quit each adds one), oldest
dropped first, so its memory is bounded whatever the traffic. MONITOR lists are capped per client
at ``monitor_limit`` nicks; both directions are indexed (watchers of a nick, nicks of a watcher),
so a quit costs O(its watchers), never a scan of every client.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..protocol import casefold

if TYPE_CHECKING:
    from .client import Client
    from .registry import ServerState

RPL_MONONLINE = "730"
RPL_MONOFFLINE = "731"


@dataclass(frozen=True, slots=True)
class WhowasEntry:
    """A nick as it was when its holder left it."""

    nick: str
    folded: str
    user: str
    host: str
    real_host: str
    realname: str
    left_at: float


class Presence:
    """The WHOWAS log and the MONITOR index of one server."""

    def __init__(self, state: ServerState) -> None:
        settings = state.settings
        self.state = state
        self.whowas: deque[WhowasEntry] = deque(maxlen=settings.whowas_size)
        self.watchers: dict[str, set[Client]] = {}
        """Folded nick -> clients monitoring it."""
        self.watching: dict[Client, dict[str, str]] = {}
        """Client -> the nicks it monitors (folded -> as typed)."""
        state.on_disconnect.append(self._disconnected)

    # ---- WHOWAS ------------------------------------------------------------------------
    def remember(self, client: Client, nick: str | None = None) -> None:
        """Record that ``client`` stopped using ``nick`` (default: its current nick)."""
        nick = nick or client.nick
        self.whowas.append(
            WhowasEntry(nick, casefold(nick), client.user, client.host, client.real_host,
                        client.realname, time.time())
        )

    def lookup_many(self, nicks: list[str], count: int) -> list[WhowasEntry]:
        """Past uses of any of ``nicks``, newest first, up to ``count`` per nick (<= 0: all):
        RFC 2812 3.6.3 searches the history backward, whatever order the nicks were asked in."""
        left = {casefold(n): count if count > 0 else -1 for n in nicks}  # -1 counts down, never to 0
        found = []
        for entry in reversed(self.whowas):
            remaining = left.get(entry.folded)
            if remaining is None or remaining == 0:
                continue
            left[entry.folded] = remaining - 1
            found.append(entry)
        return found

    # ---- MONITOR -----------------------------------------------------------------------
    def watch(self, client: Client, nicks: Iterable[str], limit: int) -> tuple[list[str], list[str]]:
        """Add ``nicks`` to ``client``'s list; returns (added, refused because the list is full)."""
        mine = self.watching.setdefault(client, {})
        added: list[str] = []
        todo = list(nicks)
        for i, nick in enumerate(todo):
            folded = casefold(nick)
            if folded in mine:
                continue
            if len(mine) >= limit:
                return added, todo[i:]
            mine[folded] = nick
            self.watchers.setdefault(folded, set()).add(client)
            added.append(nick)
        return added, []

    def unwatch(self, client: Client, nicks: Iterable[str] | None = None) -> None:
        """Remove ``nicks`` (all when None) from ``client``'s list."""
        mine = self.watching.get(client)
        if not mine:
            return
        folded_all = list(mine) if nicks is None else [casefold(n) for n in nicks]
        for folded in folded_all:
            if mine.pop(folded, None) is None:
                continue
            watchers = self.watchers.get(folded)
            if watchers is not None:
                watchers.discard(client)
                if not watchers:
                    del self.watchers[folded]
        if not mine:
            del self.watching[client]

    def monitored(self, client: Client) -> list[str]:
        """The nicks ``client`` monitors, as it typed them."""
        return list(self.watching.get(client, {}).values())

    def watchers_of(self, client: Client) -> set[Client]:
        """Clients monitoring ``client``'s current nick."""
        return self.watchers.get(client.folded, set())

    def came_online(self, client: Client) -> None:
        """Tell watchers of ``client``'s nick that it is online (730)."""
        for watcher in self.watchers.get(client.folded, ()):
            if watcher is not client:
                self.state.numeric(watcher, RPL_MONONLINE, client.prefix)

    def went_offline(self, nick: str) -> None:
        """Tell watchers of ``nick`` that it is offline (731)."""
        for watcher in self.watchers.get(casefold(nick), ()):
            self.state.numeric(watcher, RPL_MONOFFLINE, nick)

    def nick_changed(self, client: Client, old_nick: str) -> None:
        """WHOWAS gets the old nick; watchers see the old one leave and the new one arrive.

        A change of case only (``qux`` -> ``QUX``) is the same monitored nick, still online:
        watchers get nothing (irctest ``testNickChange``, as ergo)."""
        self.remember(client, old_nick)
        if casefold(old_nick) == client.folded:
            return
        self.went_offline(old_nick)
        self.came_online(client)

    def _disconnected(self, client: Client, reason: str) -> None:
        self.unwatch(client)
        if client.registered and client.folded:
            self.remember(client)
            if not self.state.shutting_down:
                self.went_offline(client.nick)
