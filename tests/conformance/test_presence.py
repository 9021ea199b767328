"""WHOWAS, MONITOR (+ extended-monitor) and WHOX over real sockets; the bounded WHOWAS memory in memory."""

from __future__ import annotations

import pytest

from ..support import MemoryServer, RawClient, sync


async def isupport(client: RawClient, nick: str) -> list[str]:
    await client.send(f"NICK {nick}", f"USER {nick} 0 * :{nick}")
    tokens: list[str] = []
    while (msg := await client.recv()).command != "376":
        if msg.command == "005":
            tokens += msg.params[1:-1]
    client.nick = nick
    return tokens


async def test_whowas_lists_past_nick_holders_newest_first(connect):
    alice = await connect("alice")
    bob = await connect("bob")
    await bob.send("NICK robert")
    await bob.expect("NICK")
    carol = await connect()
    await carol.send("NICK bob", "USER carol 0 * :Carol")
    await carol.expect("376")
    await carol.send("QUIT")
    await carol.read_until_closed()
    await alice.send("WHOWAS bob")
    got = await sync(alice)
    users = [m for m in got if m.command == "314"]
    assert [m.params[-1] for m in users] == ["Carol", "bob test"]  # newest first
    assert [m.command for m in got][-1] == "369"
    assert "312" in [m.command for m in got]
    await alice.send("WHOWAS bob 1")
    assert len([m for m in await sync(alice) if m.command == "314"]) == 1
    await alice.send("WHOWAS nobody")
    codes = [m.command for m in await sync(alice)]
    assert codes == ["406", "369"]


def test_whowas_memory_is_bounded_by_its_setting():
    srv = MemoryServer(whowas_size=3)
    alice = srv.connect("alice")
    for i in range(10):
        alice.send(f"NICK n{i}")
    assert len(srv.state.presence.whowas) == 3
    out = alice.send("WHOWAS n0")
    assert [m.command for m in out] == ["406", "369"]
    assert [m.command for m in alice.send("WHOWAS n8")][0] == "314"


async def test_monitor_reports_online_offline_and_changes(make_server):
    server = await make_server(monitor_limit=2)
    alice = await RawClient.connect(server.port)
    assert "MONITOR=2" in await isupport(alice, "alice")
    await alice.send("MONITOR + bob,carol,dave")
    off = await alice.expect("731")
    assert sorted(off.params[1].split(",")) == ["bob", "carol"]
    full = await alice.expect("734")
    assert full.params[1:3] == ("2", "dave")
    bob = await RawClient.connect(server.port)
    await bob.register("bob")
    on = await alice.expect("730")
    assert on.params[1].startswith("bob!~bob@")
    await bob.send("NICK carol")
    assert (await alice.expect("731")).params[1] == "bob"
    assert (await alice.expect("730")).params[1].startswith("carol!")
    await alice.send("MONITOR L")
    listed = await alice.expect("732")
    assert sorted(listed.params[1].split(",")) == ["bob", "carol"]
    await alice.expect("733")
    await alice.send("MONITOR - carol")
    await bob.send("QUIT")
    await bob.read_until_closed()
    await alice.send("MONITOR S")
    got = await sync(alice)
    assert [(m.command, m.params[1]) for m in got] == [("731", "bob")]  # carol no longer watched
    await alice.close()


@pytest.mark.parametrize("cap", ["extended-monitor", "draft/extended-monitor"])  # the ratified name and the draft one
async def test_extended_monitor_sends_away_of_monitored_nicks_without_shared_channel(connect, cap):
    alice = await connect("alice", caps=f"{cap} away-notify")
    bob = await connect("bob")
    await alice.send("MONITOR + bob")
    await alice.expect("730")
    await bob.send("AWAY :gone fishing")
    away = await alice.expect("AWAY")
    assert away.source.startswith("bob!") and away.params == ("gone fishing",)


async def test_whox_returns_requested_fields_in_spec_order_with_token(make_server):
    server = await make_server()
    alice = await RawClient.connect(server.port)
    assert "WHOX" in await isupport(alice, "alice")
    bob = await RawClient.connect(server.port)
    await bob.register("bob")
    await alice.join("#c")
    await bob.join("#c")
    await alice.send("WHO #c %tcuhnfar,42")
    got = await sync(alice)
    replies = {m.params[5]: m for m in got if m.command == "354"}
    assert set(replies) == {"alice", "bob"} and "352" not in [m.command for m in got]
    b = replies["bob"]
    assert b.params[1:4] == ("42", "#c", "~bob") and b.params[6:] == ("H", "0", "bob test")
    assert replies["alice"].params[6] == "H@"
    await alice.send("WHO bob %ni")  # order fixed by the spec; the IP stays hidden from others
    reply = await alice.expect("354")
    assert reply.params[1:] == ("255.255.255.255", "bob")
    assert (await alice.expect("315")).params[1] == "bob"
    await alice.close()
    await bob.close()
