"""Flood control of one connection: a token bucket that slows an eager client before it drops it.

Lines a client sends beyond its allowance wait (reading from its socket pauses) and are handled
at ``flood_rate``; only more than ``flood_burst`` waiting lines is "Excess Flood". ``Connection``
mixes this in; the attributes below are its own.

The same held lines also wait for a clustered JOIN (``wait_input``): it completes only when it
is back from Redis, and the client's next lines (``PRIVMSG #x`` right after ``JOIN #x``) must
see it done, as on a single server. Reading pauses meanwhile, so at most one read waits.

``_handle_lines`` takes the lines of one read through both: it is where consecutive chat lines to
one channel are handed to ``relay_chat_run`` together (``commands/chatrun.py``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Literal

from .commands.chatrun import ChatLine, relay_chat_run
from .protocol import Message, chat_run_texts, split_chat_line

if TYPE_CHECKING:
    from .protocol import LineTooLong
    from .protocol.ratelimit import TokenBucket
    from .state import Client, ServerState


class FloodControl:
    """Held lines released at the client's allowance (``Connection`` mixes this in)."""

    __slots__ = ()
    throttled: bool
    paused: bool
    closing: bool
    client: Client | None
    held: deque[bytes | LineTooLong] | None
    waits: int
    flood: TokenBucket
    flood_burst: float
    flood_rate: float
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport | None
    state: ServerState

    def _handle(self, client: Client, line: bytes | LineTooLong, chat: ChatLine | None | Literal[False] = False) -> None:
        raise NotImplementedError  # the Connection's

    def _handler_failed(self, client: Client, msg: Message) -> None:  # the Connection's
        raise NotImplementedError

    def _release_held(self) -> None:
        """Handle held lines while the client has allowance (token bucket); throttle when out.

        A client over its allowance is slowed, not dropped: reading pauses and its lines wait,
        handled at ``flood_rate``. Only more than ``flood_burst`` waiting lines is "Excess Flood",
        so a client joining many channels at once is delayed rather than disconnected.
        """
        self.throttled = False
        client = self.client
        held = self.held
        if client is None or held is None:
            return
        flood, now = self.flood, self.loop.time()
        while held:
            if self.closing or client.gone:
                held.clear()
                return
            if self.waits:  # a JOIN in flight: ``resume_input`` continues
                self._pause()
                return
            wait = flood.take(now, exempt=client.is_oper)
            if wait:
                self.throttled = True
                if self._check_held(client):
                    self._pause()
                    self.loop.call_later(wait, self._release_held)
                return
            self._handle(client, held.popleft())
        if self.held is held:
            self.held = None
        if self.paused and not self.closing and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()

    def _handle_lines(self, client: Client, lines: list[bytes | LineTooLong], now: float | None = None) -> None:
        """Handle the lines of one read in order: consecutive plain chat lines to one channel go
        to ``relay_chat_run`` together, every other line to ``_handle``.

        With ``now`` (flood control on) each line takes a token just before it is handled; from
        the first one over the allowance on, the lines wait in ``held`` (``_release_held``). A
        client within its allowance, nearly every one, costs no deque per read.
        """
        flood, i, n = self.flood, 0, len(lines)
        wait = 0.0
        while i < n:
            if self.closing or client.gone:
                return
            line = lines[i]
            chat = split_chat_line(line) if line.__class__ is bytes and client.registered else None  # type: ignore[arg-type]
            texts = chat_run_texts(lines, i, chat[2]) if chat is not None and i + 1 < n else None
            run = len(texts) if texts is not None else 1
            if now is not None:
                taken = 0
                while taken < run:
                    wait = flood.take(now, exempt=client.is_oper)
                    if wait:
                        break
                    taken += 1
                if not taken:
                    self._hold_from(client, lines[i:], wait)
                    return
                run = taken
            if run > 1:
                self._relay_run(client, lines[i:i + run], chat, texts[:run])  # type: ignore[arg-type, index]
            else:
                self._handle(client, line, chat)
            i += run
            if wait:
                self._hold_from(client, lines[i:], wait)
                return
            if self.waits:
                self._wait_with(lines[i:])
                return

    def _relay_run(self, client: Client, lines: list[bytes], chat: ChatLine, texts: list[str]) -> None:
        """Relay chat lines of one command and target together, or one by one when the run's
        relay declines them (an error to answer, a cluster)."""
        command_, target, _ = chat
        client.msgs_in += len(lines)
        try:
            if relay_chat_run(self.state, client, command_, target, texts):
                return
        except Exception:
            self._handler_failed(client, Message(command_, chat[1:]))
            return
        client.msgs_in -= len(lines)
        for line in lines:
            if self.closing or client.gone:
                return
            self._handle(client, line)

    def _hold_from(self, client: Client, lines: list[bytes | LineTooLong], wait: float) -> None:
        """The client is out of allowance: ``lines`` wait, handled at its rate from ``wait`` on."""
        self.held = deque(lines)
        self.throttled = True
        if self._check_held(client):
            self._pause()
            self.loop.call_later(wait, self._release_held)

    def _check_held(self, client: Client) -> bool:
        """Drop the client when too many lines wait for allowance; True while it may stay."""
        if self.held is None or len(self.held) <= self.flood_burst:
            return True
        self.held = None
        self.state.counters.floods += 1
        self.state.disconnect(client, "Excess Flood")
        return False

    # ---- lines waiting for a clustered JOIN ----------------------------------------------
    def wait_input(self) -> None:
        """A JOIN of this client is in flight: its next lines wait until ``resume_input``."""
        self.waits += 1

    def resume_input(self) -> None:
        """A JOIN came back (done or refused): handle the waiting lines once none is in flight."""
        self.waits -= 1
        if not self.waits and self.held is not None:
            self.loop.call_soon(self._handle_waited)

    def _wait_with(self, lines: list[bytes | LineTooLong]) -> None:
        """Keep ``lines`` (after those already held) until the JOINs in flight are back."""
        if self.held is None:
            self.held = deque(lines)
        else:
            self.held.extend(lines)
        self._pause()

    def _handle_waited(self) -> None:
        if self.waits or self.held is None:
            return
        if self.flood_rate:
            self._release_held()  # at the client's allowance, as if they had just arrived
            return
        client, held = self.client, self.held
        while held:
            if self.closing or client is None or client.gone:
                held.clear()
                return
            if self.waits:
                return
            self._handle(client, held.popleft())
        self.held = None
        if self.paused and not self.closing and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()

    def _pause(self) -> None:
        if not self.paused and not self.closing and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
