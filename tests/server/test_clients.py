"""Several real clients over real sockets: registration, rooms, messages, modes, quits, closes."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from ..support import RawClient, sync


async def test_registration_burst_over_the_wire(connect):
    client = await connect()
    await client.send("CAP LS 302", "NICK alice", "USER alice 0 * :Alice")
    ls = await client.expect("CAP")
    assert "echo-message" in ls.params[-1]
    await client.send("CAP END")
    welcome = await client.expect("001")
    assert welcome.params[0] == "alice"
    await client.expect("005")
    await client.expect("376")


async def test_nick_collision_and_nick_freed_after_quit(connect):
    first = await connect("carol")
    dup = await connect()
    await dup.send("NICK Carol", "USER x 0 * :x")
    err = await dup.expect("433")
    assert err.params[1] == "Carol"
    await first.send("QUIT :bye")
    await first.read_until_closed()
    await dup.send("NICK carol")
    assert (await dup.expect("001")).params[0] == "carol"


async def test_join_part_channel_and_private_messages(connect):
    alice = await connect("alice")
    bob = await connect("bob")
    carol = await connect("carol")
    for c in (alice, bob, carol):
        await c.join("#lobby")
    await alice.send("PRIVMSG #lobby :hi all", "PRIVMSG bob :just you")
    for c in (bob, carol):
        got = await c.expect("PRIVMSG")
        assert got.params == ("#lobby", "hi all") and got.source.startswith("alice!")
    private = await bob.expect("PRIVMSG")
    assert private.params == ("bob", "just you")
    assert not [m for m in await sync(carol) if m.command == "PRIVMSG"]
    await carol.send("PART #lobby :later")
    for c in (alice, bob):
        part = await c.expect("PART")
        assert part.params == ("#lobby", "later") and part.source.startswith("carol!")
    await alice.send("PRIVMSG #lobby :after part")
    await bob.expect("PRIVMSG", lambda m: m.params[1] == "after part")
    assert not [m for m in await sync(carol) if m.command == "PRIVMSG"]


async def test_topic_names_modes_kick(connect):
    op = await connect("op", caps="multi-prefix")
    user = await connect("user")
    await op.join("#room")
    await user.send("JOIN #room")
    names = await user.expect("353")
    assert sorted(names.params[-1].split()) == ["@op", "user"]
    await op.send("TOPIC #room :the topic")
    assert (await user.expect("TOPIC")).params == ("#room", "the topic")
    await user.send("TOPIC #room :mine")
    assert (await user.expect("482")).params[1] == "#room"
    await op.send("MODE #room +v user")
    assert (await user.expect("MODE")).params == ("#room", "+v", "user")
    await op.send("NAMES #room")
    names = await op.expect("353")
    assert sorted(names.params[-1].split()) == ["+user", "@op"]
    await op.send("KICK #room user :out")
    kick = await user.expect("KICK")
    assert kick.params == ("#room", "user", "out")
    await user.send("JOIN #room")
    await user.expect("366")
    await op.send("MODE #room +k key")
    await user.send("PART #room")
    await user.expect("PART")
    await user.send("JOIN #room")
    assert (await user.expect("475")).params[1] == "#room"


async def test_quit_reaches_each_peer_exactly_once(connect):
    leaver = await connect("leaver")
    peers = [await connect(f"peer{i}") for i in range(3)]
    for chan in ("#a", "#b"):
        await leaver.join(chan)
        for p in peers:
            await p.join(chan)
    await leaver.send("QUIT :gone home")
    tail = await leaver.read_until_closed()
    assert tail[-1].command == "ERROR" and "gone home" in tail[-1].params[0]
    for p in peers:
        quits = [m for m in await sync(p) if m.command == "QUIT"]
        assert len(quits) == 1, quits
        assert quits[0].source.startswith("leaver!") and quits[0].params == ("Quit: gone home",)


async def test_abrupt_close_propagates_once_and_frees_the_nick(server, connect):
    victim = await connect("victim")
    peer = await connect("peer")
    await victim.join("#a")
    await peer.join("#a")
    victim.writer.transport.abort()  # RST, no QUIT
    quit_ = await peer.expect("QUIT")
    assert quit_.source.startswith("victim!")
    assert [m for m in await sync(peer) if m.command == "QUIT"] == []
    again = await connect("victim")
    assert again.nick == "victim"


async def test_half_close_by_client_is_a_disconnect(connect):
    victim = await connect("victim")
    peer = await connect("peer")
    await victim.join("#a")
    await peer.join("#a")
    victim.writer.write_eof()
    await peer.expect("QUIT", lambda m: m.source.startswith("victim!"))
    assert (await victim.read_until_closed())[-1].command == "ERROR"


async def test_many_clients_all_receive_a_broadcast(connect):
    clients = [await connect(f"u{i}") for i in range(20)]
    for c in clients:
        await c.join("#big")
    await clients[0].send("PRIVMSG #big :to everyone")
    got = await asyncio.gather(*(c.expect("PRIVMSG") for c in clients[1:]))
    assert all(m.params == ("#big", "to everyone") for m in got)


async def test_oper_stats_and_kill_over_the_wire(make_server):
    server = await make_server(oper_password="pw")
    admin = await RawClient.connect(server.port)
    await admin.register("admin", caps="message-tags")
    target = await RawClient.connect(server.port)
    await target.register("target")
    await admin.send("OPER admin pw")
    await admin.expect("381")
    await admin.send("STATS l")
    rows = []
    while (msg := await admin.recv()).command != "219":
        if msg.command == "211":
            rows.append(msg)
    assert {r.tags["tcpchat.example/nick"] for r in rows} == {"admin", "target"}
    await admin.send("KILL target :bye")
    tail = await target.read_until_closed()
    assert tail[-1].command == "ERROR" and "bye" in tail[-1].params[0]
    for c in (admin, target):
        await c.close()


async def test_connect_and_disconnect_log_one_line_each_with_address_and_reason(connect, caplog):
    caplog.set_level(logging.INFO, logger="tcpchat.server")
    client = await connect("logme")
    addr = f"127.0.0.1:{client.writer.get_extra_info('sockname')[1]}"
    await client.send("QUIT :done here")
    await client.read_until_closed()
    lines = [r.getMessage() for r in caplog.records if addr in r.getMessage()]
    connects = [ln for ln in lines if ln.startswith("connect ")]
    disconnects = [ln for ln in lines if ln.startswith("disconnect ")]
    assert len(connects) == 1 and len(disconnects) == 1, lines
    assert "done here" in disconnects[0] and "nick=logme" in disconnects[0]


async def test_ipv6_listener_and_clients(make_server):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = await make_server(host="::1", cloak_hosts=False)
    except Exception as exc:  # e.g. IPv6 disabled in this container
        pytest.skip(f"cannot listen on ::1: {exc}")
    a = await RawClient.connect(server.port, host="::1")
    await a.register("six")
    b = await RawClient.connect(server.port, host="::1")
    await b.register("seven")
    await b.send("WHOIS six")
    user = await b.expect("311")
    assert user.params[1:4] == ("six", "~six", "0::1")
    await a.join("#v6")
    await b.join("#v6")
    await a.send("PRIVMSG #v6 :over ipv6")
    assert (await b.expect("PRIVMSG")).source == "six!~six@0::1"
    for c in (a, b):
        await c.close()
