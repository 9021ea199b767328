"""A room of well-behaved users for the hostile-client and fault tests: two TCP users and one web
user (through a gateway process) who chat throughout an attack; afterwards each must have
received every line the others said, once, in order."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from ..support import RawClient
from .support import Child, WebUser, gateway_child, server_child, settle

CHAT_INTERVAL = 0.25
"""Seconds between two lines of a well-behaved user (under the gateway's 5/s and the server's 8/s)."""


class TcpUser:
    """A registered TCP user in ``room`` whose reader task records every line said there."""

    def __init__(self, client: RawClient, room: str) -> None:
        self.client, self.room, self.nick = client, room, client.nick
        self.lines: list[tuple[str, str]] = []  # (from, text), live room lines of others
        self.quits: list[tuple[str, str]] = []  # (nick, reason)
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def join(cls, port: int, nick: str, room: str, host: str = "127.0.0.1") -> TcpUser:
        client = await RawClient.connect(port, host)
        await client.register(nick)
        await client.join(room)
        return cls(client, room)

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.IncompleteReadError):
            while (msg := await self.client.recv(3600)) is not None:
                self.client.seen.clear()  # bounded: the lines are kept below
                who = (msg.source or "").split("!")[0]
                if msg.command == "PRIVMSG" and msg.param(0) == self.room:
                    self.lines.append((who, msg.params[1]))
                elif msg.command == "QUIT":
                    self.quits.append((who, msg.params[-1] if msg.params else ""))
                elif msg.command == "PING":
                    await self.client.send(f"PONG :{msg.params[-1]}")

    def received(self) -> list[tuple[str, str]]:
        return list(self.lines)

    async def say(self, text: str) -> bool:
        try:
            await self.client.send(f"PRIVMSG {self.room} :{text}")
        except (ConnectionError, OSError):
            return False
        return True

    async def close(self) -> None:
        """QUIT and wait for the server to close (so every line said before was handled)."""
        # Python 3.11's wait_for can swallow a cancel that lands as a line arrives (fixed in 3.12),
        # and the reader would then wait an hour for the next line: cancel until it is done.
        while not self.task.done():
            self.task.cancel()
            await asyncio.wait([self.task], timeout=0.1)
        with contextlib.suppress(ConnectionError, OSError, TimeoutError, AssertionError):
            await self.client.send("QUIT :bye")
            await asyncio.wait_for(self.client.read_until_closed(), 5)
        self.client.writer.transport.abort()


def web_received(user: WebUser) -> list[tuple[str, str]]:
    return [
        (e["from"], e["text"]) for e in user.events
        if e["type"] == "message" and e.get("room") == user.room and not e["self"]
    ]


class Room:
    """alice and bob on TCP, carol on the web, all in ``room``; ``chat()`` runs their talk."""

    def __init__(self, server: Child, gateway: Child, room: str) -> None:
        self.server, self.gateway, self.room = server, gateway, room
        self.tcp: list[TcpUser] = []
        self.web: WebUser | None = None
        self.sent: dict[str, list[str]] = {}

    async def open(self) -> Room:
        self.tcp = [await TcpUser.join(self.server.port, n, self.room) for n in ("alice", "bob")]
        self.web = await WebUser(f"ws://127.0.0.1:{self.gateway.port}/ws", "carol", self.room).start()
        return self

    @property
    def nicks(self) -> list[str]:
        assert self.web is not None
        return [u.nick for u in self.tcp] + [self.web.nick]

    def received(self, nick: str) -> list[tuple[str, str]]:
        assert self.web is not None
        if nick == self.web.nick:
            return web_received(self.web)
        return next(u for u in self.tcp if u.nick == nick).received()

    async def chat(self, stop: asyncio.Event, interval: float = CHAT_INTERVAL) -> None:
        """Everyone says a numbered line every ``interval`` until ``stop``."""
        assert self.web is not None
        speakers: list[Any] = [*self.tcp, self.web]
        seq = 0
        while not stop.is_set():
            for user in speakers:
                text = f"{user.nick} says {seq}"
                if await user.say(text):
                    self.sent.setdefault(user.nick, []).append(text)
            seq += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    def missing(self) -> dict[str, int]:
        """Per listener, lines of the others it has not (yet) received; {} when complete."""
        out = {}
        for listener in self.nicks:
            got = [(w, t) for w, t in self.received(listener) if w in self.sent]
            want = sorted((w, t) for w in self.sent if w != listener for t in self.sent[w])
            if sorted(got) != want:
                out[listener] = len(set(want) - set(got))
        return out

    async def assert_everyone_got_everything(self) -> int:
        """Wait (bounded) for the talk to arrive; then each got each line once, in order. Returns
        the number of deliveries checked."""
        await settle(lambda: not self.missing(), rounds=300)
        assert self.missing() == {}
        deliveries = 0
        for listener in self.nicks:
            got = [(w, t) for w, t in self.received(listener) if w in self.sent]
            for speaker, said in self.sent.items():
                if speaker != listener:
                    assert [t for w, t in got if w == speaker] == said, (listener, speaker)
                    deliveries += len(said)
        return deliveries

    async def close(self) -> None:
        for user in self.tcp:
            await user.close()
        if self.web is not None:
            await self.web.close()


@contextlib.asynccontextmanager
async def hostile_stack(tmp: Path, *server_args: str, room: str = "#room") -> Any:
    """A server process (no history), a gateway process and a ``Room`` of well-behaved users."""
    server = await server_child(tmp, "--no-history", *server_args).astart()
    gateway = None
    room_ = None
    try:
        gateway = await gateway_child(tmp, server.port).astart()
        room_ = await Room(server, gateway, room).open()
        yield room_
    finally:
        if room_ is not None:
            await room_.close()
        for child in (gateway, server):
            if child is not None:
                await asyncio.to_thread(child.stop)
