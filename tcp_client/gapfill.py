"""Rejoin and gap fill after a reconnect (IRCv3 draft/chathistory): the session's restore step.

``CHATHISTORY AFTER <chan> msgid=<last seen> <limit>`` returns the messages we missed in a
``chathistory`` batch; we repeat while a batch comes back full. The session drops duplicates by
msgid and holds live lines of the channel until the fill is done, so order is kept.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING

from tcp_server.protocol import Message, casefold
from tcp_server.protocol import numerics as N

from .events import Event, SessionStatus
from .link import Link

if TYPE_CHECKING:
    from .session import ClientSession

log = logging.getLogger("tcpchat.client")

GAP_FILL_LIMIT = 500
"""Messages asked for per CHATHISTORY request (capped by the server's ``CHATHISTORY`` token)."""
GAP_FILL_ROUNDS = 20
"""Most requests per channel per reconnect: bounds the work after a very long outage."""
JOIN_ERRORS = frozenset({
    N.ERR_NOSUCHCHANNEL, N.ERR_TOOMANYCHANNELS, N.ERR_CHANNELISFULL, N.ERR_INVITEONLYCHAN,
    "474", N.ERR_BADCHANNELKEY,
})
"""Replies that mean a JOIN failed (474 is ERR_BANNEDFROMCHAN)."""


async def join_and_wait(session: ClientSession, channel: str, key: str = "") -> bool:
    """JOIN and wait for the end of NAMES; False when the server refused the join."""
    folded = casefold(channel)

    def done(m: Message) -> bool:
        if m.command == N.RPL_ENDOFNAMES or m.command in JOIN_ERRORS:
            return casefold(m.param(1)) == folded
        return False

    replies = await session.request(
        Message("JOIN", (channel, key) if key else (channel,)), until=done,
        timeout=session.connect_timeout, match=lambda m: False,
    )
    return replies[-1].command == N.RPL_ENDOFNAMES


class BatchWatch:
    """An ``until`` predicate for one CHATHISTORY reply: true at its batch end or at a FAIL."""

    def __init__(self, target: str) -> None:
        self.folded = casefold(target)
        self.ref: str | None = None

    def __call__(self, m: Message) -> bool:
        if m.command == "BATCH":
            ref = m.param(0)
            if self.ref is None and ref.startswith("+") and m.param(1).endswith("chathistory") \
                    and casefold(m.param(2)) == self.folded:
                self.ref = ref[1:]
                return False
            return self.ref is not None and ref == "-" + self.ref
        if m.command == "FAIL" and m.param(0) == "CHATHISTORY":
            return True
        return m.command == N.ERR_UNKNOWNCOMMAND and m.param(1) == "CHATHISTORY"

    def inside(self, m: Message) -> bool:
        """True for a message that belongs to the batch."""
        return self.ref is not None and m.tags.get("batch") == self.ref


def _limit(session: ClientSession) -> int:
    try:
        server_max = int(session.isupport.get("CHATHISTORY", "0") or 0)
    except ValueError:
        server_max = 0
    return min(GAP_FILL_LIMIT, server_max) if server_max > 0 else GAP_FILL_LIMIT


async def fill_gap(session: ClientSession, channel: str, after: str) -> int:
    """Fetch what ``channel`` said after ``after`` (``msgid=...`` or ``timestamp=...``).

    Returns how many messages came back (duplicates included; the session drops those).
    """
    limit = _limit(session)
    total = 0
    for _ in range(GAP_FILL_ROUNDS):
        watch = BatchWatch(channel)
        replies = await session.request(
            Message("CHATHISTORY", ("AFTER", channel, after, str(limit))),
            until=watch, timeout=session.connect_timeout, match=watch.inside,
        )
        lines = [m for m in replies if watch.inside(m) and m.command in ("PRIVMSG", "NOTICE")]
        total += len(lines)
        log.info("gap fill %s after %s: %d messages", channel, after, len(lines))
        newest = lines[-1].tags.get("msgid") if lines else None
        if len(lines) < limit or not newest:
            break
        after = f"msgid={newest}"
    return total


class RestoreMixin:
    """The reconnect restore step of ``ClientSession`` (kept here, next to the gap fill)."""

    nick: str
    last_msgid: dict[str, str]
    _channels: dict[str, str]
    _keys: dict[str, str]
    _filling: dict[str, list[Message]]
    _outbox: deque[Message]
    _restoring: bool
    _last_time: str | None

    def has_history(self) -> bool:  # pragma: no cover - provided by the session
        raise NotImplementedError

    def _emit(self, event: Event) -> None:  # pragma: no cover - provided by the session
        raise NotImplementedError

    def _emit_line(self, msg: Message) -> None:  # pragma: no cover - provided by the session
        raise NotImplementedError

    async def _restore(self, link: Link) -> None:
        """Rejoin channels, fill each one's gap, flush typed-ahead lines, then say ``connected``."""
        self._restoring = True
        try:
            for name in list(self._channels.values()):
                folded = casefold(name)
                gap_from = self._gap_start(folded)
                if gap_from:
                    self._filling[folded] = []
                try:
                    key = self._keys.get(folded, "")
                    if not await join_and_wait(self, name, key):  # type: ignore[arg-type]
                        self._channels.pop(folded, None)
                    elif gap_from:
                        await fill_gap(self, name, gap_from)  # type: ignore[arg-type]
                except TimeoutError:
                    log.warning("rejoining %s: no answer in time", name)
                finally:
                    self._release(folded)
            while self._outbox and not link.closed:
                link.write(self._outbox.popleft())
            await link.drain()
        except (OSError, ConnectionError) as exc:
            log.info("restoring the session failed: %s", exc)
            return
        finally:
            self._restoring = False
        if not link.closed:
            self._emit(SessionStatus("connected", self.nick))

    def _gap_start(self, folded: str) -> str | None:
        """Where a channel's gap begins: its last msgid, else the newest server time we saw."""
        if not self.has_history():
            return None
        if msgid := self.last_msgid.get(folded):
            return f"msgid={msgid}"
        return f"timestamp={self._last_time}" if self._last_time else None

    def _release(self, folded: str) -> None:
        """End a channel's gap fill: deliver the live lines held meanwhile, in arrival order."""
        for msg in self._filling.pop(folded, []):
            self.last_msgid[folded] = msg.tags.get("msgid", self.last_msgid.get(folded, ""))
            self._emit_line(msg)

