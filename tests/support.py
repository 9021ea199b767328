"""Test helpers: a raw IRC test client over a real socket, and server launchers."""

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


class RawClient:
    """A line-oriented IRC client on a real socket, for asserting exactly what the server sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.nick = "*"
        self.seen: list[Message] = []

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> RawClient:
        reader, writer = await asyncio.open_connection(host, port, limit=2**20)
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
