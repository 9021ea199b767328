"""Connection limits below HTTP: sockets per address, and a deadline for a request's headers.

uvicorn keeps a connection that sends nothing, or sends its request headers a byte at a time
(slowloris), open for as long as the client likes: one address could hold every file descriptor
of the gateway. This protocol (uvicorn's httptools one, with two checks added) closes a socket
whose request headers are not complete ``http_header_timeout`` seconds after it opened or after its
request began, and refuses a new socket from an address that already holds ``http_max_per_ip``
(HTTP and WebSocket alike: an upgraded socket is counted until it closes).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

REFUSED = (
    b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain\r\nconnection: close\r\n"
    b"content-length: 40\r\n\r\ntoo many connections from this address\r\n"
)


class AddressCounts:
    """Open sockets per client address (shared by every connection of one server)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def take(self, addr: str) -> bool:
        """Count a new socket from ``addr``; False (not counted) when it is at the limit."""
        count = self._open.get(addr, 0)
        if self.limit and count >= self.limit:
            return False
        self._open[addr] = count + 1
        return True

    def give_back(self, addr: str) -> None:
        count = self._open.get(addr, 0) - 1
        if count > 0:
            self._open[addr] = count
        else:
            self._open.pop(addr, None)

    def __getitem__(self, addr: str) -> int:
        return self._open.get(addr, 0)


def guarded_http(counts: AddressCounts, header_timeout: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the per-address count and the header deadline."""

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _addr: str | None = None
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            addr = self.client[0] if self.client else "unknown"
            if not counts.take(addr):
                transport.write(REFUSED)
                transport.close()
                return
            self._addr = addr
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            """No complete request headers in time: close (nothing was answered yet)."""
            self._deadline = None
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:  # a keep-alive connection's next request: its own deadline
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def handle_websocket_upgrade(self) -> None:
            self._disarm()
            super().handle_websocket_upgrade()
            addr, self._addr = self._addr, None  # the WebSocket protocol gives the count back
            ws = self.transport.get_protocol()
            ws_lost = ws.connection_lost

            def connection_lost(exc: Exception | None) -> None:
                if addr is not None:
                    counts.give_back(addr)
                ws_lost(exc)

            ws.connection_lost = connection_lost  # type: ignore[method-assign]

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._addr is not None:
                counts.give_back(self._addr)
                self._addr = None
            super().connection_lost(exc)

    return GuardedHttpToolsProtocol


def http_protocol(settings: Any) -> type[HttpToolsProtocol]:
    """The protocol class for ``uvicorn.Config(http=...)`` from the gateway settings."""
    return guarded_http(AddressCounts(settings.http_max_per_ip), settings.http_header_timeout)
