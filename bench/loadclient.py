"""One simulated IRC user of the load generator: registration, CAP, PING/PONG, counting receipt.

Messages carry a stamp ``<sender> <seq> <send-ns>`` in their text. A *full* receiver checks every
line (order, latency, tags: one regular-expression pass per read when the read holds only
PRIVMSG lines); a *light* receiver only counts PRIVMSG lines with ``bytes.count`` so that 500
receivers do not make the generator the bottleneck. Senders (``WindowSender``) send from the
callback that sees their messages arrive: no task wakes per window.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

PRIVMSG = b" PRIVMSG "
STAMPED = re.compile(rb"^(@[^ ]* )?:[^ ]+ PRIVMSG [^ ]+ :(\d+) (\d+) (\d+)", re.M)
"""A stamped PRIVMSG line: its tag section (or None), sender, sequence and send time."""
REQ_CAPS = "message-tags server-time"
"""Capabilities a *tagged* client asks for (so the server must add msgid/time tags for it)."""


@dataclass
class Shared:
    """State the clients of one measurement share (the generator is a single process)."""

    senders: int = 0
    acked: list[int] = field(default_factory=list)
    """Highest sequence of each sender seen by any full receiver (drives the send window)."""
    windows: list[WindowSender | None] = field(default_factory=list)
    """The sender of each index, told when ``acked`` moves."""
    latencies_ns: list[int] = field(default_factory=list)
    out_of_order: int = 0
    bad_tags: int = 0
    last_rx_ns: int = 0
    errors: list[str] = field(default_factory=list)
    batch_reads: bool = False
    """Light receivers pause after each read until the next ``read_ticker`` tick, so each read
    takes a few milliseconds of data in one syscall (the server's work does not change)."""
    paused: list[LoadClient] = field(default_factory=list)
    pending: set[int] = field(default_factory=set)
    """Senders whose window moved in this loop turn (``advanced``)."""

    def set_senders(self, n: int) -> None:
        self.senders = n
        self.acked = [0] * n
        self.windows = [None] * n

    def advanced(self, senders: set[int]) -> None:
        """``acked`` moved for ``senders``: each sends what its window allows at the end of this
        loop turn (after every read of the turn, so one write carries all it may send)."""
        if not self.pending:
            asyncio.get_running_loop().call_soon(self._pump)
        self.pending |= senders

    def _pump(self) -> None:
        pending, self.pending = self.pending, set()
        windows = self.windows
        for sender in pending:
            window = windows[sender]
            if window is not None:
                window.pump()


class LoadClient(asyncio.Protocol):
    """An IRC connection driven by the benchmark; futures mark registration and joins."""

    def __init__(self, nick: str, shared: Shared, *, full: bool, tagged: bool) -> None:
        loop = asyncio.get_running_loop()
        self.nick = nick
        self.shared = shared
        self.full = full
        self.tagged = tagged
        self.transport: asyncio.Transport | None = None
        self.rest = b""
        self.count = 0
        self.setup = True
        self.registered: asyncio.Future[None] = loop.create_future()
        self.joined: asyncio.Future[None] = loop.create_future()
        self.last_seq: dict[int, int] = {}
        self.closed = False
        self.tags_on = False
        """True once the server ACKed message-tags (ngircd, for one, does not)."""

    # ---- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        nick = self.nick
        hello = f"NICK {nick}\r\nUSER {nick} 0 * :bench {nick}\r\n"
        if self.tagged:
            hello = f"CAP LS 302\r\nCAP REQ :{REQ_CAPS}\r\n" + hello
        transport.write(hello.encode())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        end = data.rfind(b"\n")
        if end < 0:
            self.rest += data
            return
        if self.rest:
            data = self.rest + data
            end += len(self.rest)
        self.rest = data[end + 1 :]
        if self.setup:
            self._lines(data[: end + 1].split(b"\r\n"))
            return
        if self.full:
            if data.count(PRIVMSG, 0, end + 1) == data.count(b"\n", 0, end + 1):
                self._stamped(data[: end + 1])  # only PRIVMSG lines: one regex pass
            else:
                self._lines(data[: end + 1].split(b"\r\n"))
            return
        # One pass and nothing else: light receivers send keepalive PINGs (see ``keepalive``) so
        # the server never PINGs them, and an ERROR shows up as a closed connection.
        n = data.count(PRIVMSG, 0, end + 1)
        shared = self.shared
        if n:
            self.count += n
            shared.last_rx_ns = time.monotonic_ns()
        if shared.batch_reads and self.transport is not None:
            self.transport.pause_reading()
            shared.paused.append(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        error = ConnectionError(f"{self.nick}: connection closed ({exc})")
        for fut in (self.registered, self.joined):
            if not fut.done():
                fut.set_exception(error)
                fut.exception()  # mark retrieved; the caller may have given up already

    # ---- lines -------------------------------------------------------------------------
    def _lines(self, lines: object) -> None:
        now = 0
        shared = self.shared
        advanced: set[int] = set()
        for line in lines:  # type: ignore[attr-defined]
            if not line:
                continue
            if PRIVMSG in line:
                if not now:
                    now = time.monotonic_ns()
                    shared.last_rx_ns = now
                self.count += 1
                if self.full:
                    self._check(STAMPED.match(line), now, advanced)
            else:
                self._control(line)
        if advanced:
            shared.advanced(advanced)

    def _stamped(self, data: bytes) -> None:
        """A read of PRIVMSG lines only (a full receiver's usual read): counted and checked."""
        now = time.monotonic_ns()
        shared = self.shared
        shared.last_rx_ns = now
        self.count += data.count(PRIVMSG)
        advanced: set[int] = set()
        check = self._check
        for match in STAMPED.finditer(data):
            check(match, now, advanced)
        if advanced:
            shared.advanced(advanced)

    def _check(self, match: re.Match[bytes] | None, now: int, advanced: set[int]) -> None:
        """Order, tags and latency of one stamped line; ``advanced`` collects acked senders."""
        if match is None:
            return  # not one of ours
        shared = self.shared
        tags, sender_b, seq_b, sent_b = match.groups()
        sender, seq = int(sender_b), int(seq_b)
        if self.tags_on:
            if tags is None or b"msgid=" not in tags or b"time=" not in tags:
                shared.bad_tags += 1
        elif tags is not None:
            shared.bad_tags += 1
        last = self.last_seq.get(sender, 0)
        if seq != last + 1:
            shared.out_of_order += 1
        if seq > last:
            self.last_seq[sender] = seq
        shared.latencies_ns.append(now - int(sent_b))
        if sender < shared.senders and seq > shared.acked[sender]:
            shared.acked[sender] = seq
            advanced.add(sender)

    def _control(self, line: bytes) -> None:
        if line.startswith(b"@"):
            line = line.split(b" ", 1)[-1]
        if line.startswith(b"PING"):
            self.send(b"PONG" + line[4:] + b"\r\n")
            return
        if line.startswith(b"ERROR"):
            self.shared.errors.append(f"{self.nick}: {line.decode(errors='replace')}")
            return
        parts = line.split(b" ", 3)
        if len(parts) < 2:
            return
        code = parts[1]
        if code == b"CAP" and len(parts) > 3 and parts[3][:4] in (b"ACK ", b"NAK "):
            self.tags_on = parts[3].startswith(b"ACK") and b"message-tags" in parts[3]
            self.send(b"CAP END\r\n")
        elif code in (b"376", b"422"):
            if not self.registered.done():
                self.registered.set_result(None)
        elif code == b"366":
            if not self.joined.done():
                self.joined.set_result(None)
        elif code in (b"433", b"432", b"465", b"471", b"473", b"474", b"475", b"405"):
            self.shared.errors.append(f"{self.nick}: {line.decode(errors='replace')}")

    # ---- actions -----------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    async def join(self, room: str) -> None:
        """JOIN ``room`` and wait for the end of its NAMES reply."""
        loop = asyncio.get_running_loop()
        self.joined = loop.create_future()
        self.send(f"JOIN {room}\r\n".encode())
        await self.joined

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def read_ticker(shared: Shared, tick: float) -> None:
    """Resume the paused light receivers every ``tick`` seconds (see ``Shared.batch_reads``)."""
    while True:
        await asyncio.sleep(tick)
        paused, shared.paused = shared.paused, []
        for client in paused:
            if not client.closed and client.transport is not None:
                client.transport.resume_reading()


KEEPALIVE = 20.0
"""Seconds between the PINGs each client sends, well inside every server's ping interval."""


async def keepalive(clients: list[LoadClient]) -> None:
    """Keep the server from PINGing light receivers (they do not look for PINGs)."""
    while True:
        await asyncio.sleep(KEEPALIVE)
        for client in clients:
            client.send(b"PING :bench\r\n")


class WindowSender:
    """Sends ``count`` stamped messages to ``room``, at most ``window`` unacknowledged.

    ``pump`` runs once per loop turn in which the receivers saw this sender's messages
    (``Shared.advanced``): it sends what the window allows in one write, and no task wakes.
    ``finished`` is done when all are sent.
    """

    def __init__(
        self, client: LoadClient, idx: int, room: str, count: int, window: int, pad: str, shared: Shared
    ) -> None:
        self.client = client
        self.idx = idx
        self.head = f"PRIVMSG {room} :{idx} "
        self.tail = f" {pad}\r\n"
        self.count = count
        self.window = window
        self.shared = shared
        self.seq = 0
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        shared.windows[idx] = self

    def pump(self) -> None:
        seq, count = self.seq, self.count
        n = min(self.window - (seq - self.shared.acked[self.idx]), count - seq)
        if n <= 0 or self.client.closed:
            return
        now = time.monotonic_ns()
        head, tail = self.head, self.tail
        self.client.send("".join(f"{head}{s} {now}{tail}" for s in range(seq + 1, seq + n + 1)).encode())
        self.seq = seq = seq + n
        if seq >= count and not self.finished.done():
            self.finished.set_result(None)


def stamp(sender: int, seq: int, sent_ns: int, pad: str) -> str:
    """The text of a benchmark message: who sent it, its sequence number and when."""
    return f"{sender} {seq} {sent_ns} {pad}"
