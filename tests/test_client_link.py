"""tcp_client.link: keepalive (PING a silent server, fail when it stays silent) and the parse cache."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tcp_client import link as link_mod
from tcp_client.link import KEEPALIVE_TOKEN, Link
from tcp_server.protocol import parse_line

TIMEOUT = 5.0


@contextlib.asynccontextmanager
async def _serve(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def _open(port: int, interval: float, timeout: float) -> Link:
    return await Link.open("127.0.0.1", port, tls=None, ping_interval=interval, ping_timeout=timeout)


async def test_silent_server_is_pinged_then_declared_dead() -> None:
    lines: list[bytes] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines.append(await reader.readline())  # the PING; never answered
        await reader.read()

    async with _serve(silent) as port:
        link = await _open(port, 0.1, 0.1)
        try:
            with pytest.raises(ConnectionError, match="ping timeout"):
                await asyncio.wait_for(link.next_message(keepalive=True), TIMEOUT)
        finally:
            link.close()
    assert lines == [f"PING {KEEPALIVE_TOKEN}\r\n".encode()]


async def test_answered_pings_and_traffic_keep_the_link() -> None:
    async def answering(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            if line.startswith(b"PING "):
                writer.write(b"PONG " + line[5:])
        writer.close()

    async with _serve(answering) as port:
        link = await _open(port, 0.05, 0.2)
        try:
            for _ in range(4):  # each PONG arrives within ping_timeout: no ConnectionError
                msg = await asyncio.wait_for(link.next_message(keepalive=True), TIMEOUT)
                assert msg is not None and msg.command == "PONG"
                assert msg.params[-1] == KEEPALIVE_TOKEN
        finally:
            link.close()


async def test_no_ping_without_keepalive_and_close_stops_the_timer() -> None:
    got: list[bytes] = []

    async def chatty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b":srv NOTICE * :hi\r\n")
        got.append(await reader.read())

    async with _serve(chatty) as port:
        link = await _open(port, 0.05, 0.05)
        msg = await link.next_message()
        assert msg is not None and msg.params == ("*", "hi")
        await asyncio.sleep(0.2)  # no keepalive asked: no PING
        link.close()
        await asyncio.sleep(0.05)
    assert got == [b""]


def test_parse_cache_returns_equal_messages_and_stays_bounded() -> None:
    line = b"@msgid=abc;time=2026-01-01T00:00:00.000Z :a!a@h PRIVMSG #r :hello there"
    first = link_mod._parse(line)
    assert first == parse_line(line)
    assert link_mod._parse(bytes(line)) is first  # the same bytes from another link: shared
    for i in range(link_mod.PARSE_CACHE_SIZE * 2):
        link_mod._parse(b"PING :%d" % i)
    assert len(link_mod._parsed) <= link_mod.PARSE_CACHE_SIZE
