"""Helpers of the hardening, fault and TLS tests (issue 10): ``tcpchat server`` / ``tcpchat gateway``
as real child processes whose log goes to a file (a chatty log on a pipe nobody reads would block
them), a WebSocket user that reconnects by itself, and counts read from /proc (descriptors,
children, resident memory) to prove nothing leaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from ..support import ROOT

WEBIRC_PASSWORD = "hardening-webirc-secret"
TIMEOUT = 15.0
LISTENING = re.compile(r"listening on [^ ]+:(\d+)( \((\w+)\))?")


class Child:
    """``tcpchat KIND --port P ARGS`` as a child process; ``ports`` maps listener kind -> port."""

    def __init__(self, kind: str, *args: str, log: Path, env: dict[str, str] | None = None,
                 listeners: int = 1) -> None:
        self.kind = kind
        self.args = args
        self.log = log
        base = {k: v for k, v in os.environ.items() if not k.startswith("TCPCHAT_")}
        self.env = {**base, "TCPCHAT_USE_UVLOOP": "false", **(env or {})}
        self.listeners = listeners
        self.proc: subprocess.Popen[str] | None = None
        self.ports: dict[str, int] = {}

    @property
    def port(self) -> int:
        return self.ports.get("tcp", 0)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Child:
        """Start (again, on the same ports after the first start) and wait for the listening lines."""
        port = self.ports.get("tcp", 0)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tcpchat", self.kind, "--port", str(port), *self.args],
                stdout=subprocess.PIPE, stderr=log, text=True, env=self.env, cwd=ROOT,
            )
        assert self.proc.stdout is not None
        seen = 0
        while seen < self.listeners:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.kind} did not start: {self.log_text()[-2000:]}")
            if match := LISTENING.search(line):
                self.ports[match.group(3) or "tcp"] = int(match.group(1))
                seen += 1
        return self

    async def astart(self) -> Child:
        """``start`` without blocking the test's event loop (its clients keep running meanwhile)."""
        return await asyncio.to_thread(self.start)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL and reap."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(TIMEOUT)

    def stop(self) -> int:
        """SIGTERM (SIGKILL after ``TIMEOUT``); the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test left it stopped
            self.proc.terminate()
        try:
            return self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def server_child(tmp: Path, *args: str, listeners: int = 1, env: dict[str, str] | None = None) -> Child:
    """A chat server trusting the test gateways' WEBIRC password, logging to ``tmp/server.log``."""
    return Child(
        "server", "--webirc-password", WEBIRC_PASSWORD, "--data-dir", str(tmp / "data"), *args,
        log=tmp / "server.log", env=env, listeners=listeners,
    )


def gateway_child(tmp: Path, irc_port: int, *args: str, env: dict[str, str] | None = None) -> Child:
    """A gateway in front of the server on ``irc_port``, logging to ``tmp/gateway.log``."""
    return Child(
        "gateway", "--irc-port", str(irc_port), "--webirc-password", WEBIRC_PASSWORD,
        "--reconnect-initial", "0.2", "--reconnect-max", "1", *args,
        log=tmp / "gateway.log", env=env,
    )


TRACEBACK_MARKERS = ("Traceback", " ERROR ", "Exception in ASGI", "bridge for ", "send to ")
"""Lines a healthy gateway never logs: tracebacks, errors, a bridge ended by an exception."""


def log_problems(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(m in line for m in TRACEBACK_MARKERS)]


# -- /proc counts ------------------------------------------------------------------------------

def fd_count(pid: int) -> int:
    """Open file descriptors of ``pid``."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def children(pid: int) -> set[int]:
    """Pids of the live children of ``pid`` (zombies excluded)."""
    out: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.add(int(entry))
    return out


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


async def settle(probe: Callable[[], bool], rounds: int = 200, pause: float = 0.05) -> bool:
    """Poll ``probe`` (bounded); True once it holds."""
    for _ in range(rounds):
        if probe():
            return True
        await asyncio.sleep(pause)
    return probe()


# -- a WebSocket user that comes back ----------------------------------------------------------

class WebUser:
    """A browser stand-in on ``/ws``: hello, join ``room``, and reconnect (like the page does) when
    the gateway goes away. ``events`` holds every event received, across reconnects."""

    def __init__(self, url: str, nick: str, room: str) -> None:
        self.url, self.nick, self.room = url, nick, room
        self.ws: Any = None
        self.events: list[dict[str, Any]] = []
        self.connects = 0
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> WebUser:
        self.task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.ready.wait(), TIMEOUT)
        return self

    async def _run(self) -> None:
        while True:
            try:
                async with websockets.connect(self.url, open_timeout=5) as ws:
                    await ws.send(json.dumps({"type": "hello", "nick": self.nick}))
                    async for frame in ws:
                        event = json.loads(frame)
                        self.events.append(event)
                        if event["type"] == "error" and event["code"] == "433" and self.ws is None:
                            # The old connection still holds the nick (the server has not seen it
                            # go yet): try again shortly, as the page does.
                            await asyncio.sleep(0.3)
                            await ws.send(json.dumps({"type": "hello", "nick": self.nick}))
                        elif event["type"] == "status" and event["state"] == "connected":
                            self.nick = event["nick"]
                            await ws.send(json.dumps({"type": "join", "room": self.room}))
                        elif event["type"] == "names" and event["room"] == self.room:
                            self.ws = ws
                            self.connects += 1
                            self.ready.set()
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
                pass
            self.ws = None
            self.ready.clear()
            await asyncio.sleep(0.2)

    async def say(self, text: str) -> bool:
        """Send a line to the room; False when the socket is down (the page would say so)."""
        ws = self.ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps({"type": "send", "room": self.room, "text": text}))
        except ConnectionClosed:
            return False
        return True

    def texts(self, *, own: bool | None = None) -> list[str]:
        """Texts of the room's live messages (``own``: only echoes / only others')."""
        return [
            e["text"] for e in self.events
            if e["type"] == "message" and e.get("room") == self.room and (own is None or e["self"] == own)
        ]

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.wait({self.task}, timeout=TIMEOUT)  # bounded: a close handshake may hang
