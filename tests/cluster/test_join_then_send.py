"""JOIN and a message to the channel in one write (autojoin, bots): as on a single server.

A clustered JOIN completes only when it is back from Redis; the lines a client sent after it
must not be handled before that, or its PRIVMSG is refused (404) or, after a refused JOIN, leaks.
"""

from __future__ import annotations

import pytest

from ..support import RawClient, sync

pytestmark = pytest.mark.redis


async def _texts_until(client, marker: str) -> list[str]:  # type: ignore[no-untyped-def]
    """PRIVMSG texts ``client`` receives up to and including ``marker``."""
    texts: list[str] = []
    while not texts or texts[-1] != marker:
        texts.append((await client.expect("PRIVMSG")).params[1])
    return texts


async def test_privmsg_right_after_join_in_one_write_reaches_members_on_every_node(cluster, users):  # noqa: F811
    a, b, c = await cluster(), await cluster(), await cluster()
    alice = await users(b, "alice")
    await alice.join("#x")
    carol = await users(a, "carol")
    await carol.join("#x")
    await sync(alice)
    dave = await users(a, "dave")  # on a node that follows #x already
    erin = await users(c, "erin")  # the first member of #x on its node: waits for the subscription
    await dave.send(b"JOIN #x\r\nPRIVMSG #x :hi\r\n")
    await erin.send(b"JOIN #x\r\nPRIVMSG #x :hello\r\n")
    for joiner in (dave, erin):
        replies = [m.command for m in await sync(joiner)]
        assert "404" not in replies
        assert "366" in replies
    for member in (alice, carol):
        got = []
        while len([m for m in got if m.command == "PRIVMSG"]) < 2:
            msg = await member.recv()
            assert msg is not None
            if msg.command in ("JOIN", "PRIVMSG"):
                got.append(msg)
        for nick, text in (("dave", "hi"), ("erin", "hello")):
            lines = [(m.command, m.params[-1]) for m in got if m.source.startswith(nick + "!")]
            assert lines == [("JOIN", "#x"), ("PRIVMSG", text)], f"{member.nick} saw {lines}"


async def test_banned_user_joining_and_sending_in_one_write_gets_474_and_is_not_heard(cluster, users):  # noqa: F811
    a, b, c = await cluster(), await cluster(), await cluster()
    op = await users(a, "op")
    await op.join("#x")
    alice = await users(b, "alice")
    await alice.join("#x")
    await sync(op)
    await op.send("MODE #x +b mallory!*@*")
    await alice.expect("MODE")
    mallory = await users(c, "mallory")  # its node learns the ban from Redis, on the way
    await mallory.send(b"JOIN #x\r\nPRIVMSG #x :leak\r\n")
    replies = [m.command for m in await sync(mallory)]
    assert "474" in replies and "JOIN" not in replies
    await op.send("PRIVMSG #x :marker")
    assert await _texts_until(alice, "marker") == ["marker"]
    await alice.send("PRIVMSG #x :marker2")
    assert await _texts_until(op, "marker2") == ["marker2"]


async def test_labelled_join_then_echoed_privmsg_in_one_write_under_flood_control(cluster, users):  # noqa: F811
    a, b = await cluster(flood_rate=8.0), await cluster(flood_rate=8.0)
    alice = await users(b, "alice")
    await alice.join("#x")
    dave = await users(a, "dave", "echo-message labeled-response message-tags")
    await dave.send(b"@label=j JOIN #x\r\n@label=m PRIVMSG #x :hi\r\nPING :after\r\n")
    got = []
    while not (got and got[-1].command == "PONG"):
        msg = await dave.recv()
        assert msg is not None
        got.append(msg)
    commands = [m.command for m in got]
    assert "404" not in commands
    echo = next(m for m in got if m.command == "PRIVMSG")
    assert echo.tags.get("label") == "m" and echo.params[1] == "hi"
    assert commands.index("JOIN") < commands.index("366") < commands.index("PRIVMSG")  # the JOIN, then the echo
    assert (await alice.expect("PRIVMSG")).params[1] == "hi"


async def test_registration_join_and_privmsg_in_one_write_reach_a_member_on_another_node(cluster, users):  # noqa: F811
    """A bot's whole start in one write: the JOIN waits for the nick's claim in Redis, so it
    finds the client registered (not 451) and the PRIVMSG finds it a member."""
    a, b = await cluster(), await cluster()
    alice = await users(a, "alice")
    await alice.join("#x")
    await sync(alice)
    bot = await RawClient.connect(b.port)
    try:
        await bot.send(b"NICK bot\r\nUSER bot 0 * :bot\r\nJOIN #x\r\nPRIVMSG #x :deployed\r\n")
        replies = [m.command for m in await sync(bot)]
        assert "001" in replies and "366" in replies
        assert "451" not in replies and "404" not in replies
        assert await _texts_until(alice, "deployed") == ["deployed"]
    finally:
        await bot.close()
