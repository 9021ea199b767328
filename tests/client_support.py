"""Helpers of the client tests (``tests/client/``, also used by accounts and hardening): waiting for
a ``ClientSession`` event, and ``PlainClient``, the ``tcpchat connect --plain`` child process.

The ``sessions`` fixture (fast backoff ``FAST``, closed at teardown) is in ``tests/conftest.py``."""

from __future__ import annotations

import asyncio
import os
import re
import sys

from tcp_client.events import ChatMessage, ClientEvent, History
from tcp_client.session import ClientSession, SessionStatus

from .support import ROOT

FAST = {"backoff_initial": 0.05, "backoff_max": 0.5, "connect_timeout": 5.0}


async def wait_for(session: ClientSession, pred, timeout: float = 10.0):
    """The first event accepted by ``pred`` (earlier events are discarded)."""
    async with asyncio.timeout(timeout):
        while True:
            ev = await session.next_event()
            if pred(ev):
                return ev


def is_status(state: str):
    return lambda ev: isinstance(ev, SessionStatus) and ev.state == state


def is_msg(command: str, text: str | None = None):
    """An event decoded from an IRC line ``command`` (whose second parameter is ``text``)."""
    return lambda ev: (
        isinstance(ev, ClientEvent) and ev.msg is not None and ev.msg.command == command
        and (text is None or ev.msg.param(1) == text)
    )


def chat_lines(ev: object) -> list[ChatMessage]:
    """The chat lines an event carries: a live one, or those of a history batch (gap fill)."""
    if isinstance(ev, ChatMessage):
        return [ev]
    return list(ev.messages) if isinstance(ev, History) else []


PLAIN_TIMEOUT = 15.0
LINE_RE = re.compile(r"^\d\d:\d\d:\d\d \S+ ")


class PlainClient:
    """The line-mode client in a subprocess: write input lines, wait for output lines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    @classmethod
    async def start(cls, port: int, nick: str, *args: str, env: dict[str, str] | None = None) -> PlainClient:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("TCPCHAT_")}, **(env or {})}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tcpchat", "connect", "--plain", "--port", str(port), "--nick", nick,
            "--backoff-max", "0.5", *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=ROOT, env=env,
        )
        return cls(proc)

    async def send(self, line: str | bytes) -> None:
        assert self.proc.stdin is not None
        data = line.encode() if isinstance(line, str) else line
        self.proc.stdin.write(data + b"\n")
        await self.proc.stdin.drain()

    async def expect(self, pattern: str, timeout: float = PLAIN_TIMEOUT) -> str:
        """The next output line matching ``pattern`` (a regex searched in the line)."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    err = await self.proc.stderr.read() if self.proc.stderr else b""
                    raise AssertionError(f"client exited waiting for {pattern!r}; stderr={err!r}")
                line = raw.decode().rstrip("\n")
                self.lines.append(line)
                assert LINE_RE.match(line), line  # every event is one timestamped line
                if re.search(pattern, line):
                    return line

    async def finish(self, timeout: float = PLAIN_TIMEOUT) -> tuple[int, str]:
        """Close stdin (if open), wait for exit; return (exit code, stderr)."""
        if self.proc.stdin and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        async with asyncio.timeout(timeout):
            out, err = await self.proc.communicate()
        self.lines += out.decode().splitlines()
        return self.proc.returncode or 0, err.decode()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
