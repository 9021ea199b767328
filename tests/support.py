"""Test helpers: a raw IRC test client over a real socket, server launchers, and a TCP relay that can cut links."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tcp_server.protocol import Message, parse_line

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0
FAST = {"flood_rate": 0, "history": False, "port": 0, "use_uvloop": False}
"""Settings overrides of every in-process test server: no flood control, no history, a free port."""


class RawClient:
    """A line-oriented IRC client on a real socket, for asserting exactly what the server sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.nick = "*"
        self.seen: list[Message] = []

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1", source: str | None = None) -> RawClient:
        """Connect to ``host:port``, from the loopback address ``source`` when given (per-address
        limits see each 127.x address as its own client)."""
        local = (source, 0) if source else None
        reader, writer = await asyncio.open_connection(host, port, limit=2**20, local_addr=local)
        return cls(reader, writer)

    async def send(self, *lines: str | bytes) -> None:
        for line in lines:
            data = line if isinstance(line, bytes) else line.encode()
            self.writer.write(data if data.endswith(b"\n") else data + b"\r\n")
        await self.writer.drain()

    async def recv(self, timeout: float = TIMEOUT) -> Message | None:
        """The next message, or None at EOF."""
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        if not line:
            return None
        msg = parse_line(line.rstrip(b"\r\n"))
        self.seen.append(msg)
        return msg

    async def expect(
        self, command: str, pred: Callable[[Message], bool] | None = None, timeout: float = TIMEOUT
    ) -> Message:
        """Read until a message with ``command`` (and ``pred``) arrives; fail on timeout or EOF."""

        async def scan() -> Message:
            while True:
                msg = await self.recv(timeout)
                if msg is None:
                    raise AssertionError(f"connection closed while waiting for {command}")
                if msg.command == command and (pred is None or pred(msg)):
                    return msg

        return await asyncio.wait_for(scan(), timeout)

    async def register(self, nick: str, caps: str = "") -> RawClient:
        """CAP (optional), NICK, USER; waits for the end of the welcome burst."""
        if caps:
            await self.send("CAP LS 302", f"CAP REQ :{caps}")
            await self.expect("CAP", lambda m: m.param(1) == "ACK")
            await self.send(f"NICK {nick}", f"USER {nick} 0 * :{nick} test", "CAP END")
        else:
            await self.send(f"NICK {nick}", f"USER {nick} 0 * :{nick} test")
        await self.expect("376")
        self.nick = nick
        return self

    async def join(self, channel: str) -> None:
        await self.send(f"JOIN {channel}")
        await self.expect("366")

    async def read_until_closed(self, timeout: float = TIMEOUT) -> list[Message]:
        """Everything until EOF."""
        out = []
        while True:
            msg = await self.recv(timeout)
            if msg is None:
                return out
            out.append(msg)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


class ServerProcess:
    """``tcpchat server`` as a real child process on a free port."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self, port: int = 0) -> ServerProcess:
        port = port or self.port
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tcpchat", "server", "--port", str(port), *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"listening on [^ ]+:(\d+)", line)
        if not match:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"server did not start: {line!r} {err}")
        self.port = int(match.group(1))
        return self

    def stop(self, sig: int = 15, timeout: float = 10) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class MemoryOutbox:
    """An in-memory ``Outbox`` for handler tests: a list of bytes; ``close`` records the error."""

    def __init__(self) -> None:
        from tcp_server.state.ordering import OrderedOutput

        self.sent: list[bytes] = []
        self.closed: bytes | None = None
        self.order = OrderedOutput(lambda data: self.sent.append(data))

    def send(self, data: bytes) -> None:
        if self.closed is None:
            if self.order.active:
                self.order.take(data)
            else:
                self.sent.append(data)

    def hold(self):  # type: ignore[no-untyped-def]
        return self.order.hold()

    def release(self, hold, write=None) -> None:  # type: ignore[no-untyped-def]
        if self.closed is None:
            self.order.release(hold, write)

    def release_paced(self, hold, lines, done=None) -> None:  # type: ignore[no-untyped-def]
        lines = list(lines)
        self.release(hold, lambda: [self.send(line) for line in lines])
        if done is not None:
            done()

    def close(self, error_line: bytes) -> None:
        if self.closed is None:
            self.closed = error_line

    @property
    def sendq_bytes(self) -> int:
        return sum(len(b) for b in self.sent)

    def take(self) -> list[Message]:
        """Everything sent since the last call, parsed (one Message per line)."""
        data, self.sent = b"".join(self.sent), []
        return [parse_line(line) for line in data.split(b"\r\n") if line]


class MemoryClient:
    """One in-memory connection to a ``MemoryServer``: lines in via ``dispatch``, messages out."""

    def __init__(self, server: MemoryServer, ip: str, transport: str) -> None:
        self.server = server
        self.outbox = MemoryOutbox()
        self.client = server.state.add_client(self.outbox, ip, 40000 + len(server.state.clients), transport)

    def send(self, *lines: str) -> list[Message]:
        """Dispatch each line, then return (and clear) everything this client was sent."""
        from tcp_server.commands import dispatch

        for line in lines:
            dispatch(self.server.state, self.client, parse_line(line))
        return self.outbox.take()

    def take(self) -> list[Message]:
        return self.outbox.take()

    @property
    def closed(self) -> bytes | None:
        return self.outbox.closed


class MemoryServer:
    """A ``ServerState`` driven without sockets, like wsproto's in-memory connection pairs."""

    def __init__(self, **overrides: object) -> None:
        from tcp_server.settings import ServerSettings
        from tcp_server.state import ServerState

        base = {"history": False, "flood_rate": 0, "cloak_hosts": False}  # tests read real hosts
        settings = ServerSettings(**{**base, **overrides})
        self.state = ServerState(settings)

    def connect(
        self, nick: str | None = None, caps: str = "", ip: str = "127.0.0.1", transport: str = "tcp"
    ) -> MemoryClient:
        """A new connection; with ``nick`` it registers (CAP REQ ``caps`` first) and drains output."""
        conn = MemoryClient(self, ip, transport)
        if nick:
            if caps:
                conn.send("CAP LS 302", f"CAP REQ :{caps}")
            out = conn.send(f"NICK {nick}", f"USER {nick} 0 * :{nick} real", *(["CAP END"] if caps else []))
            assert any(m.command == "001" for m in out), out
        return conn


async def sync(client: RawClient, token: str = "sync") -> list[Message]:
    """Round-trip a PING; returns everything the client received before the PONG.

    The server handles one connection's lines in order, so anything caused earlier has arrived.
    """
    await client.send(f"PING :{token}")
    got: list[Message] = []
    while True:
        msg = await client.recv()
        if msg is None:
            raise AssertionError("connection closed during sync")
        if msg.command == "PONG" and msg.param(1) == token:
            return got
        got.append(msg)


class Proxy:
    """A real TCP relay in front of the server that can cut every link and refuse new ones."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.open = True
        self.writers: list[asyncio.StreamWriter] = []
        self.upstream: list[asyncio.StreamWriter] = []
        self.ghosts: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:  # the server is gone (test teardown): refuse like it would
            writer.close()
            return
        self.writers += [writer, up_writer]
        self.upstream.append(up_writer)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, ConnectionError):
                pass
            finally:
                if dst not in self.ghosts:
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self, ghost: bool = False) -> None:
        """Drop every relayed connection and refuse new ones until ``open`` is set again.

        With ``ghost``, only the client side is dropped: the server keeps a stale connection
        (as after a network failure) until ``bury()``.
        """
        self.open = False
        for w in self.writers:
            if ghost and w in self.upstream:
                self.ghosts.append(w)
                continue
            w.transport.abort()
        self.writers.clear()

    def bury(self) -> None:
        """Close the stale server-side connections left by ``cut(ghost=True)``."""
        for w in self.ghosts:
            w.transport.abort()
        self.ghosts.clear()

    async def close(self) -> None:
        self.cut()
        self.bury()
        if self.server is not None:
            self.server.close()


class RecordingTransport:
    """Keeps every write: enough of the asyncio transport API for a real ``Connection`` driven
    in memory (``connection_made``, then ``data_received``), without a socket."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writes: list[bytes] = []
        self.reading = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", self.port) if name == "peername" else default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True
