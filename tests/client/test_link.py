"""tcp_client.link: registration on open, keepalive (PING a silent server, drop it when it stays
silent), pushing events without a read task, and the parse cache."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tcp_client import protocol as protocol_mod
from tcp_client.config import SessionConfig
from tcp_client.events import ChatMessage, Event
from tcp_client.link import KEEPALIVE_TOKEN, Link
from tcp_client.protocol import ClientProtocol
from tcp_client.registration import RegistrationError
from tcp_server.protocol import parse_line

TIMEOUT = 5.0
WELCOME = b":srv 001 me :Welcome me!u@h\r\n:srv 422 me :No MOTD\r\n"


@contextlib.asynccontextmanager
async def _serve(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def _registered(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> list[bytes]:
    """Read the client's opening lines up to USER and welcome it."""
    got = []
    while not (line := await reader.readline()).startswith(b"USER"):
        got.append(line)
    writer.write(WELCOME)
    return got


async def _open(port: int, interval: float, timeout: float, got: list[Event] | None = None) -> Link:
    config = SessionConfig("127.0.0.1", port, "me", ping_interval=interval, ping_timeout=timeout,
                           connect_timeout=TIMEOUT)
    sink = got.extend if got is not None else (lambda _events: None)
    return await Link.open(config, ClientProtocol(config), sink)


async def test_silent_server_is_pinged_then_declared_dead() -> None:
    lines: list[bytes] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _registered(reader, writer)
        lines.append(await reader.readline())  # the PING; never answered
        await reader.read()

    async with _serve(silent) as port:
        link = await _open(port, 0.1, 0.1)
        try:
            reason = await asyncio.wait_for(link.wait_closed(), TIMEOUT)
        finally:
            link.close()
    assert "ping timeout" in reason
    assert lines == [f"PING {KEEPALIVE_TOKEN}\r\n".encode()]


async def test_answered_pings_keep_the_link() -> None:
    pongs = asyncio.Queue[bytes]()

    async def answering(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _registered(reader, writer)
        while line := await reader.readline():
            if line.startswith(b"PING "):
                pongs.put_nowait(line)
                writer.write(b"PONG " + line[5:])
        writer.close()

    async with _serve(answering) as port:
        link = await _open(port, 0.05, 0.2)
        try:
            for _ in range(4):  # each PONG arrives within ping_timeout: the link stays up
                assert KEEPALIVE_TOKEN.encode() in await asyncio.wait_for(pongs.get(), TIMEOUT)
            assert not link.closed
        finally:
            link.close()


async def test_lines_become_events_pushed_to_the_callback_and_pings_are_answered() -> None:
    answers: list[bytes] = []

    async def chatty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _registered(reader, writer)
        writer.write(b"PING :x\r\n@msgid=1 :bob!b@h PRIVMSG #r :hi\r\n")
        answers.append(await reader.readline())
        await reader.read()

    got: list[Event] = []
    async with _serve(chatty) as port:
        link = await _open(port, 60, 60, got)
        async with asyncio.timeout(TIMEOUT):
            while not any(isinstance(e, ChatMessage) for e in got):
                await asyncio.sleep(0.01)
        link.close()
        assert await asyncio.wait_for(link.wait_closed(), TIMEOUT) is not None
    [chat] = [e for e in got if isinstance(e, ChatMessage)]
    assert (chat.room, chat.sender, chat.text, chat.msgid) == ("#r", "bob", "hi", "1")
    assert answers == [b"PONG x\r\n"]


async def test_refused_registration_fails_open() -> None:
    async def refusing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not (await reader.readline()).startswith(b"USER"):
            pass
        writer.write(b":srv 432 * me :Erroneous nickname\r\n")
        await reader.read()

    async with _serve(refusing) as port:
        with pytest.raises(RegistrationError) as info:
            await _open(port, 60, 60)
    assert info.value.numeric == "432" and info.value.fatal


def test_parse_cache_returns_equal_messages_and_stays_bounded() -> None:
    line = b"@msgid=abc;time=2026-01-01T00:00:00.000Z :a!a@h PRIVMSG #r :hello there"
    first = protocol_mod._parse(line)
    assert first == parse_line(line)
    assert protocol_mod._parse(bytes(line)) is first  # the same bytes from another link: shared
    for i in range(protocol_mod.PARSE_CACHE_SIZE * 2):
        protocol_mod._parse(b"PING :%d" % i)
    assert len(protocol_mod._parsed) <= protocol_mod.PARSE_CACHE_SIZE
