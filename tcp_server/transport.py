"""The asyncio side of one client socket: bytes in -> lines -> dispatch; coalesced, bounded output.

Output is never written line by line: ``send`` appends to the connection's buffer, and one
``OutputFlusher`` callback per event-loop turn writes each dirty connection's buffer in one call.
The send queue (what the kernel would not take, left in the transport's buffer) is bounded by
``settings.sendq``; a client over it is dropped with "SendQ exceeded" and nobody else waits for it.
Labeled-response and batches are the command's ``ResponseBuffer``'s (``state/responses.py``): the
transport only moves bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from .commands import dispatch
from .commands.chatrun import ChatLine
from .commands.messaging import relay_chat_line
from .flood import FloodControl
from .output import OutputFlusher, PacedReplies
from .protocol import (
    LINE_TOO_LONG,
    LineBuffer,
    LineTooLong,
    Message,
    ProtocolError,
    TokenBucket,
    parse_line,
    split_chat_line,
)
from .protocol import numerics as N
from .state.ordering import Hold, OrderedOutput

if TYPE_CHECKING:
    from .state import Client, ServerState


class ConnectionHost(Protocol):
    """What a connection needs from the server that accepted it (``ChatServer`` is one): the
    transport does not import the server, which imports the transport."""

    state: ServerState
    flusher: OutputFlusher | None
    connections: set[Connection]

log = logging.getLogger("tcpchat.server")


_Number = TypeVar("_Number", int, float)
_NUMBERS: dict[tuple[type, float], float] = {}


def _shared_number(value: _Number) -> _Number:
    """The same object for equal numbers: per-connection copies of a derived limit cost 24-32
    bytes each (idle connections are counted in kilobytes)."""
    return _NUMBERS.setdefault((type(value), value), value)  # type: ignore[return-value]


class Connection(FloodControl, PacedReplies, asyncio.Protocol):
    """One client socket. Implements the state layer's ``Outbox``."""

    __slots__ = (
        "server", "state", "flusher", "kind", "transport", "client", "lines", "out", "out_bytes",
        "dirty", "closing", "overflowed", "sendq", "flush_at", "flood_rate", "flood_burst", "flood", "loop",
        "held", "throttled", "paused", "order", "paced", "chunk", "held_max", "gated",
        "waits",
    )

    def __init__(self, server: ConnectionHost, kind: str = "tcp") -> None:
        self.server = server
        self.state = state = server.state
        settings = state.settings
        self.flusher = server.flusher
        self.kind = kind
        self.transport: asyncio.Transport | None = None
        self.client: Client | None = None
        self.lines = LineBuffer()
        self.out: list[bytes] = []
        self.out_bytes = 0
        self.dirty = False
        self.closing = False
        self.overflowed = False
        self.gated = False
        """True while ``send`` cannot append straight to ``out``: closing, over the sendq, or
        output waiting behind a late reply (one test on the hot path instead of three)."""
        self.sendq = settings.sendq
        # A burst bigger than half the sendq is handed to the kernel at once instead of waiting
        # for the end of the turn: the sendq then measures what the client does not read, and a
        # healthy reader is never dropped because one big input burst fanned out in one turn.
        self.flush_at = _shared_number(max(1, settings.sendq // 2))
        self.flood_rate = settings.flood_rate
        self.flood_burst = _shared_number(float(settings.flood_burst))
        self.loop = asyncio.get_running_loop()
        self.flood = TokenBucket(settings.flood_rate, settings.flood_burst, self.loop.time())
        # Lines waiting for flood allowance; created only while some wait (an empty deque is
        # 760 bytes, a fifth of an idle connection's memory).
        self.held: deque[bytes | LineTooLong] | None = None
        self.throttled = False
        self.paused = False
        self.waits = 0
        """Clustered JOINs of this client in flight: its next lines wait in ``held`` (flood.py)."""
        self.order = OrderedOutput(self._enqueue, lists=True)
        """Output waiting behind late replies (echo after commit, OPER after the hash)."""
        self.paced: deque[tuple[Hold, deque[bytes], Callable[[], None] | None]] | None = None
        """Long replies (history) sent as the socket drains, oldest first."""
        self.chunk = min(settings.chathistory_chunk_bytes, settings.sendq // 2)
        # What waits behind a pending echo is not the client's fault (it waits for our commit), so
        # it has its own, larger bound than the sendq: reached only when the store stalls.
        self.held_max = settings.held_output_max

    # ---- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's is no asyncio.Transport)
        # resume_writing (below low water) is when a paced reply continues
        transport.set_write_buffer_limits(high=self.chunk, low=self.chunk // 4)  # type: ignore[attr-defined]
        # TCP_NODELAY and SO_KEEPALIVE are set on the listening socket (``ChatServer._listen``)
        # and inherited by every accepted one: asking the transport for its socket here would
        # keep a socket object alive per connection (80 bytes of an idle client's ~2.8 KiB).
        peer = transport.get_extra_info("peername") or ("?", 0)
        ip, port = str(peer[0]), int(peer[1])
        if self.kind == "unix":  # a Unix-socket peer is a local process: it counts as loopback
            ip, port = "127.0.0.1", 0
        state = self.state
        settings = state.settings
        refuse = None
        if settings.max_clients and len(state.clients) >= settings.max_clients:
            refuse = "Server is full"
        else:
            refuse = state.may_connect(ip)
        if refuse:
            log.info("refused addr=%s:%s reason=%r", ip, port, refuse)
            transport.write(f"ERROR :Closing Link: {ip} ({refuse})\r\n".encode())  # type: ignore[attr-defined]
            self.closing = self.gated = True
            # It has sent nothing yet, so a plain close does not reset the ERROR line away, and a
            # refused reconnect storm costs no half-close timer per socket.
            transport.close()
            return
        self.server.connections.add(self)
        client = self.client = state.add_client(self, ip, port, self.kind)
        client.last_recv = self.loop.time()
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if der:
            client.certfp = hashlib.sha256(der).hexdigest()
        log.info("connect id=%s addr=%s:%s transport=%s", client.id, ip, port, self.kind)

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None or self.closing:
            return
        now = self.loop.time()
        client.bytes_in += len(data)
        client.last_recv = now
        client.ping_sent_at = 0.0
        lines = self.lines.feed(data)
        if self.waits or (self.held is not None and not self.flood_rate):
            self._wait_with(lines)  # behind lines that waited for a JOIN (handled next turn)
            return
        if self.flood_rate:
            if self.held is None and not self.throttled:  # lines within the allowance: at once
                self._handle_lines(client, lines, now)
            elif self.held is None:
                self.held = deque(lines)
                self._check_held(client)
            else:
                self.held.extend(lines)
                if self.throttled:
                    self._check_held(client)
                else:
                    self._release_held()
            return
        if len(lines) > 1:
            self._handle_lines(client, lines)
            return
        if lines and not self.closing and not client.gone:
            self._handle(client, lines[0])
            if self.waits:  # a clustered JOIN in flight: reading pauses until it is back
                self._wait_with([])

    def _handle(self, client: Client, line: bytes | LineTooLong, chat: ChatLine | None | Literal[False] = False) -> None:
        """Parse and dispatch one line (a plain channel PRIVMSG/NOTICE takes ``relay_chat_line``;
        ``chat``: the line as ``split_chat_line`` gave it, when the caller split it already)."""
        state = self.state
        client.msgs_in += 1
        if line is LINE_TOO_LONG:
            state.numeric(client, N.ERR_INPUTTOOLONG, "Input line was too long")
            return
        if chat is False:
            chat = split_chat_line(line) if client.registered else None  # type: ignore[arg-type]
        elif not client.registered:
            chat = None
        if chat is not None:  # PRIVMSG/NOTICE #channel :text, the usual line: no Message
            try:
                if relay_chat_line(state, client, *chat):
                    return
            except Exception:
                self._handler_failed(client, Message(chat[0], chat[1:]))
                return
        try:
            msg = parse_line(line)  # type: ignore[arg-type]
        except ProtocolError as exc:
            state.numeric(client, exc.numeric, str(exc))
            return
        try:  # labels, batches and late replies: the command's ResponseBuffer (``dispatch``)
            dispatch(state, client, msg)
        except Exception:
            self._handler_failed(client, msg)

    def _handler_failed(self, client: Client, msg: Message) -> None:
        """A bug in one handler must not take the connection down: log it, tell the client."""
        log.exception("handler failed id=%s command=%s", client.id, msg.command)
        self.state.send_from_server(client, "FAIL", msg.command, "INTERNAL_ERROR", "Internal server error")

    def eof_received(self) -> bool:
        """The client half-closed: it is gone, but can still read why (``ERROR``) before we close."""
        if self.client is not None:
            self.state.disconnect(self.client, "Remote host closed the connection")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = self.gated = True
        self.out.clear()
        if self.client is not None:
            reason = "Remote host closed the connection" if exc is None else f"Read error: {exc}"
            self.state.disconnect(self.client, reason)
        self.transport = None
        self.server.connections.discard(self)

    # ---- Outbox ------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue ``data``; written in the next loop turn, together with the rest (``OutputFlusher``)."""
        if self.gated:
            if self.closing or self.overflowed:
                return
            order = self.order
            if order.active:  # a late reply is pending: keep the client's order
                order.take(data)
                if order.held_bytes > self.held_max:  # the store stalls: do not hold forever
                    self._overflow()
                return
        # ``_enqueue`` inlined: this runs once per delivery (a relay's inner loop)
        self.out.append(data)
        size = self.out_bytes + len(data)
        self.out_bytes = size
        if not self.dirty:
            self.dirty = True
            self.flusher.mark(self)
        if size > self.flush_at:
            self.flush()

    def deliver(self, data: bytes) -> None:
        """A line of a channel's cluster order: ahead of an echo still waiting for its turn.

        ``send`` but for ``place``, inlined like it: it runs once per delivery on a cluster node."""
        if self.gated:
            if self.closing or self.overflowed:
                return
            order = self.order
            if order.active:
                order.place(data)
                if order.held_bytes > self.held_max:
                    self._overflow()
                return
        self.out.append(data)
        size = self.out_bytes + len(data)
        self.out_bytes = size
        if not self.dirty:
            self.dirty = True
            self.flusher.mark(self)
        if size > self.flush_at:
            self.flush()

    def hold(self) -> Hold:
        """Reserve a place in the output for a late reply (``state.ordering``)."""
        self.gated = True
        return self.order.hold()

    def release(self, hold: Hold, write: Callable[[], None] | None = None) -> None:
        """Fill the held place with what ``write`` sends; what waited behind it goes out."""
        if not (self.closing or self.overflowed):
            self.order.release(hold, write)
            if self.paced:  # a paced reply may now be first in line
                self._pump()
            self.regate()

    def regate(self) -> None:
        """Recompute ``gated`` after the late-reply bookkeeping changed (``order``)."""
        self.gated = self.closing or self.overflowed or self.order.active

    def _enqueue(self, data: bytes | list[bytes]) -> None:
        """Queue what ``order`` releases: one line, or the lines that waited behind a hold."""
        if self.closing or self.overflowed:
            return
        if data.__class__ is list:
            self.out.extend(data)
            self.out_bytes += sum(map(len, data))
        else:
            self.out.append(data)  # type: ignore[arg-type]
            self.out_bytes += len(data)
        if not self.dirty:
            self.dirty = True
            self.flusher.mark(self)
        if self.out_bytes > self.flush_at:
            self.flush()

    def flush(self) -> None:
        """Write everything queued in one call (the flusher calls this once per turn)."""
        self.dirty = False
        transport = self.transport
        if self.closing or transport is None or not self.out:
            return
        out = self.out
        data = b"".join(out) if len(out) > 1 else out[0]
        client = self.client
        if client is not None:
            client.msgs_out += len(out)  # a run's lines are one item: ``relay_chat_run`` adds the rest
            client.bytes_out += len(data)
        out.clear()
        self.out_bytes = 0
        transport.write(data)
        if transport.get_write_buffer_size() > self.sendq:
            self._overflow()

    @property
    def sendq_bytes(self) -> int:
        """Bytes waiting behind late replies, in our buffer and in the transport's (for STATS)."""
        transport = self.transport
        waiting = self.out_bytes + self.order.held_bytes
        return waiting + (transport.get_write_buffer_size() if transport else 0)

    def close(self, error_line: bytes) -> None:
        """Write what is queued plus ``error_line``, then close (abort when over the sendq)."""
        transport = self.transport
        if self.closing or transport is None:
            return
        self.closing = self.gated = True
        if self.overflowed:
            transport.write(error_line)
            transport.abort()
            return
        if self.order.pending:  # what waited behind a late reply still goes out, before ERROR
            self.out.extend(self.order.flush_all())
        self.out.append(error_line)
        transport.write(b"".join(self.out))
        self.out.clear()
        self.out_bytes = 0
        if self.paused:  # drain (and discard) the rest of its input while closing
            self.paused = False
            transport.resume_reading()
        self._hang_up(transport)

    def _hang_up(self, transport: asyncio.BaseTransport) -> None:
        """Half-close after the last bytes and keep reading (discarding) until the peer closes.

        Closing a socket with unread input makes the kernel send a reset, which can destroy the
        ``ERROR`` line before the client reads it (a flooder always has unread input).
        """
        try:
            if transport.can_write_eof():  # type: ignore[attr-defined]  (TLS cannot)
                transport.write_eof()  # type: ignore[attr-defined]
            else:
                transport.close()
        except OSError:  # the peer is already gone
            transport.abort()  # type: ignore[attr-defined]
            return
        self.loop.call_later(self.state.settings.close_timeout, transport.abort)  # type: ignore[attr-defined]

    def _overflow(self) -> None:
        """Over the sendq: stop queueing now, drop the client once the current work is done."""
        if self.overflowed:
            return
        self.overflowed = self.gated = True
        self.out.clear()
        self.out_bytes = 0
        self.order.flush_all()
        client = self.client
        if client is not None:
            self.state.counters.sendq_drops += 1
            self.loop.call_soon(self.state.disconnect, client, "SendQ exceeded")
