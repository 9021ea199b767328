"""Request/reply on the session: send a query and collect the replies up to an end marker.

A mixin so the session module stays about the connection's lifecycle. Every incoming message
is offered to the pending collectors by ``_feed_collectors`` (called from ``_deliver``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from tcp_server.protocol import Message

from .events import SessionClosed
from .lines import as_message
from .link import Link


@dataclass
class _Collector:
    until: Callable[[Message], bool]
    match: Callable[[Message], bool] | None
    future: asyncio.Future[list[Message]]
    lines: list[Message]


class RequestsMixin:
    """``request()``; the session provides ``_link``, ``_closed``, ``_stopping`` and ``_collectors``."""

    _link: Link | None
    _closed: bool
    _stopping: bool
    _collectors: list[_Collector]

    def _feed_collectors(self, msg: Message) -> None:
        """Offer ``msg`` to every pending request; complete those whose end marker it is."""
        for col in list(self._collectors):
            if col.future.done():
                continue
            done = col.until(msg)  # called once per message: predicates may keep state
            if done or col.match is None or col.match(msg):
                col.lines.append(msg)
            if done:
                col.future.set_result(col.lines)

    async def request(
        self,
        msg: Message | str,
        until: Callable[[Message], bool],
        timeout: float = 10.0,
        match: Callable[[Message], bool] | None = None,
    ) -> list[Message]:
        """Send a query and collect the replies up to and including the one ``until`` accepts.

        Every message is still delivered as an event too. ``match`` (optional) keeps only the
        replies it accepts. Raises ``TimeoutError`` when the end marker does not come in time,
        ``ConnectionError`` when not connected (e.g. reconnecting) or the link drops first.
        """
        future: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()
        col = _Collector(until, match, future, [])
        self._collectors.append(col)
        try:
            msg = as_message(msg)
            link = self._link
            if self._closed or self._stopping:
                raise SessionClosed("the session is closed")
            if link is None or link.closed:
                raise ConnectionError("not connected")
            link.write(msg)  # direct: requests bypass the typed-ahead queue
            await link.drain()
            return await asyncio.wait_for(future, timeout)
        finally:
            self._collectors.remove(col)
