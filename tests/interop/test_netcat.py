"""The README's promise: a newcomer chats with plain ``nc`` (bare LF line endings, no CAP)."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from tcp_server.protocol import parse_line

from ..support import RawClient

pytestmark = pytest.mark.skipif(shutil.which("nc") is None, reason="netcat is not installed")


async def read_until(stream: asyncio.StreamReader, command: str, pred=lambda m: True):
    while True:
        line = await asyncio.wait_for(stream.readline(), 10)
        assert line, f"nc saw EOF before {command}"
        msg = parse_line(line)
        if msg.command == command and pred(msg):
            return msg


async def test_nc_user_chats_with_another_client(server):
    nc = await asyncio.create_subprocess_exec(
        "nc", "127.0.0.1", str(server.port),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    try:
        nc.stdin.write(b"NICK newcomer\nUSER newcomer 0 * :New Comer\nJOIN #lobby\n")
        await nc.stdin.drain()
        await read_until(nc.stdout, "001")
        await read_until(nc.stdout, "366")
        friend = await RawClient.connect(server.port)
        await friend.register("friend")
        await friend.join("#lobby")
        await read_until(nc.stdout, "JOIN", lambda m: m.source.startswith("friend!"))
        nc.stdin.write(b"PRIVMSG #lobby :hello from nc\n")
        await nc.stdin.drain()
        got = await friend.expect("PRIVMSG")
        assert got.params == ("#lobby", "hello from nc") and got.source.startswith("newcomer!")
        await friend.send("PRIVMSG #lobby :hi newcomer")
        heard = await read_until(nc.stdout, "PRIVMSG")
        assert heard.params == ("#lobby", "hi newcomer")
        nc.stdin.write(b"QUIT :bye\n")
        await nc.stdin.drain()
        await read_until(nc.stdout, "ERROR")
        assert (await friend.expect("QUIT")).params == ("Quit: bye",)
        await friend.close()
    finally:
        if nc.returncode is None:
            nc.kill()
        await nc.wait()
