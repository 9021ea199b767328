"""Rejoin and gap fill after a reconnect (IRCv3 draft/chathistory): the session's restore step.

``CHATHISTORY AFTER <chan> msgid=<last seen> <limit>`` returns the messages we missed in a
``chathistory`` batch; we repeat while a batch comes back full. The protocol core drops duplicates
by msgid and holds live lines of the channel until the fill is done, so order is kept. These
functions only need something that can ``request`` (the session), not the session module itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from tcp_server.protocol import Message, casefold
from tcp_server.protocol import numerics as N

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


class Requester(Protocol):
    """What the restore step needs: ``request`` as ``ClientSession`` offers it."""

    def request(
        self, msg: Message | str, until: Callable[[Message], bool], timeout: float = ...,
        match: Callable[[Message], bool] | None = ...,
    ) -> Awaitable[list[Message]]: ...


async def join_and_wait(session: Requester, channel: str, key: str, timeout: float) -> bool:
    """JOIN and wait for the end of NAMES; False when the server refused the join."""
    folded = casefold(channel)

    def done(m: Message) -> bool:
        if m.command == N.RPL_ENDOFNAMES or m.command in JOIN_ERRORS:
            return casefold(m.param(1)) == folded
        return False

    replies = await session.request(
        Message("JOIN", (channel, key) if key else (channel,)), until=done, timeout=timeout,
        match=lambda m: False,
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


def fill_limit(isupport: dict[str, str]) -> int:
    """Messages per request: ours, capped by the server's ``CHATHISTORY`` token."""
    try:
        server_max = int(isupport.get("CHATHISTORY", "0") or 0)
    except ValueError:
        server_max = 0
    return min(GAP_FILL_LIMIT, server_max) if server_max > 0 else GAP_FILL_LIMIT


async def fill_gap(session: Requester, channel: str, after: str, limit: int, timeout: float) -> int:
    """Fetch what ``channel`` said after ``after`` (``msgid=...`` or ``timestamp=...``).

    Returns how many messages came back (duplicates included; the core drops those).
    """
    total = 0
    for _ in range(GAP_FILL_ROUNDS):
        watch = BatchWatch(channel)
        replies = await session.request(
            Message("CHATHISTORY", ("AFTER", channel, after, str(limit))),
            until=watch, timeout=timeout, match=watch.inside,
        )
        lines = [m for m in replies if watch.inside(m) and m.command in ("PRIVMSG", "NOTICE")]
        total += len(lines)
        log.info("gap fill %s after %s: %d messages", channel, after, len(lines))
        newest = lines[-1].tags.get("msgid") if lines else None
        if len(lines) < limit or not newest:
            break
        after = f"msgid={newest}"
    return total
