"""Issue 12, bugs 2-9, over real sockets: what a standards-following client relies on."""

from __future__ import annotations

import asyncio

from ..support import TIMEOUT, sync


async def raw_line(client, command: str) -> bytes:
    """The next raw line (bytes, tags included) whose command is ``command``."""

    async def scan() -> bytes:
        while True:
            line = await client.reader.readline()
            assert line, f"connection closed while waiting for {command}"
            words = line.split(b" ")
            head = words[1:] if line.startswith(b"@") else words
            if len(head) > 1 and head[1] == command.encode():
                return line

    return await asyncio.wait_for(scan(), TIMEOUT)


async def test_userhost_in_names_is_offered_and_names_carry_full_prefix(connect):
    alice = await connect()
    await alice.send("CAP LS 302")
    ls = await alice.expect("CAP")
    assert "userhost-in-names" in ls.params[-1].split()
    await alice.send("CAP REQ :userhost-in-names multi-prefix")
    assert (await alice.expect("CAP")).param(1) == "ACK"
    await alice.send("NICK alice", "USER alice 0 * :Alice", "CAP END")
    await alice.expect("376")
    await alice.send("JOIN #c")
    names = await alice.expect("353")
    assert names.params[-1].startswith("@alice!~alice@")


async def test_away_user_joining_is_announced_to_away_notify_members(connect):
    alice = await connect("alice", caps="away-notify")
    bob = await connect("bob")
    await alice.join("#c")
    await bob.send("AWAY :lunch")
    await bob.expect("306")
    await bob.join("#c")
    await alice.expect("JOIN")
    away = await alice.expect("AWAY")
    assert away.source.startswith("bob!") and away.params == ("lunch",)


async def test_user_with_empty_realname_is_461_not_a_registration(connect):
    c = await connect()
    await c.send("NICK eve", "USER u 0 * :")
    err = await c.expect("461")
    assert err.params[1] == "USER"
    got = await sync(c)
    assert not any(m.command == "001" for m in got)


async def test_mode_op_for_unknown_nick_is_401(connect):
    alice = await connect("alice")
    await alice.join("#c")
    await alice.send("MODE #c +o nobody")
    err = await alice.expect("401")
    assert err.params[1] == "nobody"


async def test_lusers_reports_local_and_global_users_with_max(connect):
    alice = await connect("alice")
    bob = await connect("bob")
    await bob.send("QUIT")
    await bob.read_until_closed()
    await alice.send("LUSERS")
    local = await alice.expect("265")
    glob = await alice.expect("266")
    assert local.params[1:3] == ("1", "2") and glob.params[1:3] == ("1", "2")


async def test_info_answers_371_then_374(connect):
    alice = await connect("alice")
    await alice.send("INFO")
    got = await sync(alice)
    codes = [m.command for m in got]
    assert codes[-1] == "374" and "371" in codes and "421" not in codes


async def test_tagmsg_at_the_client_tag_limit_is_echoed_and_relayed_with_msgid(connect):
    alice = await connect("alice", caps="message-tags echo-message")
    bob = await connect("bob", caps="message-tags")
    await alice.join("#test")
    await bob.join("#test")
    await alice.expect("JOIN", lambda m: m.source.startswith("bob!"))
    line = "@foo=bar;+baz=%s TAGMSG #test" % ("a" * 4081)
    assert line.index("TAGMSG") == 4096
    await alice.send(line)
    echo = await alice.expect("TAGMSG")
    relay = await bob.expect("TAGMSG")
    assert echo.tags["+baz"] == "a" * 4081 and "foo" not in relay.tags
    assert echo.tags["msgid"] and echo.tags["msgid"] == relay.tags["msgid"]
    await alice.send("@foo=bar;+baz=%s TAGMSG #test" % ("a" * 4082))
    await alice.expect("417")
    assert not [m for m in await sync(bob) if m.command == "TAGMSG"]


async def test_privmsg_and_notice_text_is_always_a_trailing_parameter(connect):
    alice = await connect("alice")
    bob = await connect("bob")
    await alice.join("#c")
    await bob.join("#c")
    await alice.send("PRIVMSG bob hi", "NOTICE bob hey", "PRIVMSG #c word")
    assert (await raw_line(bob, "PRIVMSG")).endswith(b" PRIVMSG bob :hi\r\n")
    assert (await raw_line(bob, "NOTICE")).endswith(b" NOTICE bob :hey\r\n")
    assert (await raw_line(bob, "PRIVMSG")).endswith(b" PRIVMSG #c :word\r\n")
