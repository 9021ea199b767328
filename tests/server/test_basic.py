"""End-to-end basics over real sockets: registration, rooms, messages, quits."""

from __future__ import annotations


async def test_two_clients_chat_in_a_room(connect):
    alice = await connect("alice", caps="message-tags server-time echo-message")
    bob = await connect("bob")
    await alice.join("#lobby")
    await bob.join("#lobby")
    await alice.expect("JOIN", lambda m: m.source.startswith("bob!"))
    await alice.send("PRIVMSG #lobby :hello bob")
    got = await bob.expect("PRIVMSG")
    assert got.params == ("#lobby", "hello bob")
    assert got.source.startswith("alice!")
    assert not got.tags  # bob negotiated no tags
    echo = await alice.expect("PRIVMSG")
    assert echo.params == ("#lobby", "hello bob")
    assert echo.tags["msgid"] and echo.tags["time"].endswith("Z")


async def test_nick_in_use_and_quit_frees_it(connect):
    carol = await connect("carol")
    dup = await connect()
    await dup.send("NICK carol", "USER x 0 * :x")
    err = await dup.expect("433")
    assert err.params[1] == "carol"
    await carol.send("QUIT")
    await carol.read_until_closed()
    await dup.send("NICK carol")
    assert (await dup.expect("001")).params[0] == "carol"
