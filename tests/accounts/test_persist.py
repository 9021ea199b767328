"""What accounts keep: protected nicks, private history across reconnects, registered channels
across a server restart (real sockets, real SQLite)."""

from __future__ import annotations

from ..accounts_support import ACCOUNTS, finish, make_account, register_account, sasl_plain
from ..support import RawClient


async def _dial_factory(port: int, opened: list[RawClient]):
    async def dial() -> RawClient:
        client = await RawClient.connect(port)
        opened.append(client)
        return client

    return dial


async def test_registered_nick_without_login_becomes_guest(make_server, tmp_path):
    server = await make_server(data_dir=tmp_path, nick_enforce_timeout=0.3, **ACCOUNTS)
    opened: list[RawClient] = []
    dial = await _dial_factory(server.port, opened)
    try:
        await make_account(dial, "alice", "correct horse")
        squatter = await dial()
        await squatter.register("alice")
        warning = await squatter.expect("NOTICE", lambda m: "belongs to an account" in m.params[-1])
        assert "0.3 seconds" in warning.params[-1]
        renamed = await squatter.expect("NICK")
        assert renamed.source.startswith("alice!") and renamed.params[0].startswith("Guest")
        owner = await dial()
        assert await sasl_plain(owner, "alice", "alice", "correct horse") == "903"
        await finish(owner)  # the nick is free again, and its owner keeps it past the timeout
        await owner.send("WHOIS alice")
        await owner.expect("330")
        stranger = await dial()
        await stranger.register("bob")
        await stranger.send("NICK alice")
        await stranger.expect("433")
    finally:
        for c in opened:
            await c.close()


async def test_private_conversation_follows_the_account_across_reconnects(make_server, tmp_path):
    server = await make_server(data_dir=tmp_path, **ACCOUNTS)
    opened: list[RawClient] = []
    dial = await _dial_factory(server.port, opened)
    caps = "sasl batch server-time message-tags draft/chathistory"
    try:
        await make_account(dial, "alice", "correct horse")
        alice = await dial()
        assert await sasl_plain(alice, "alice", "alice", "correct horse", caps) == "903"
        await finish(alice)
        bob = await dial()
        await bob.register("bob")
        await bob.send("PRIVMSG alice :hi alice")
        await alice.expect("PRIVMSG")
        await alice.send("PRIVMSG bob :hi bob, brb")
        await bob.expect("PRIVMSG")
        await alice.send("QUIT")
        await alice.read_until_closed()
        back = await dial()  # a new connection: only the account ties it to the conversation
        assert await sasl_plain(back, "alice", "alice", "correct horse", caps) == "903"
        await finish(back)
        await back.send("CHATHISTORY LATEST bob * 10")
        await back.expect("BATCH")
        texts = []
        while (m := await back.recv()) is not None and m.command != "BATCH":
            texts.append(m.params[-1])
        assert texts == ["hi alice", "hi bob, brb"]
        guest = await dial()  # without the account only messages since sign-on are readable
        await guest.register("alice2", "batch draft/chathistory")
        await guest.send("CHATHISTORY LATEST bob * 10")
        await guest.expect("BATCH")
        assert (await guest.recv()).command == "BATCH"
    finally:
        for c in opened:
            await c.close()


async def test_registered_channel_survives_a_restart_with_topic_modes_bans_and_ops(make_server, tmp_path):
    first = await make_server(data_dir=tmp_path, **ACCOUNTS)
    opened: list[RawClient] = []
    dial = await _dial_factory(first.port, opened)
    try:
        alice = await dial()
        await register_account(alice, "alice", "correct horse")
        await alice.join("#team")
        await alice.send("TOPIC #team :plans for monday", "MODE #team +sk sesame")
        await alice.expect("MODE")
        await alice.send("CS REGISTER #team")
        await alice.expect("NOTICE", lambda m: "registered" in m.params[-1])
        await alice.send("MODE #team +l 20", "MODE #team +b spam!*@*")
        await alice.expect("MODE", lambda m: "+b" in m.params)
        await first.shutdown()

        second = await make_server(data_dir=tmp_path, **ACCOUNTS)
        dial = await _dial_factory(second.port, opened)
        early = await dial()
        await early.register("early")
        await early.send("JOIN #team")
        await early.expect("475")  # the key came back with the channel
        await early.send("JOIN #team sesame")
        await early.expect("366")
        names = [m for m in early.seen if m.command == "353"][-1]
        assert names.params[-1] == "early"  # first in, but no @: ops come from the account list
        assert [m for m in early.seen if m.command == "332"][-1].params[-1] == "plans for monday"
        await early.send("MODE #team")
        modes = await early.expect("324")
        assert modes.params[2:] == ("+nstlk", "20", "sesame")
        await early.send("MODE #team +b")
        ban = await early.expect("367")
        assert ban.params[2] == "spam!*@*" and ban.params[3].startswith("alice!")
        owner = await dial()
        assert await sasl_plain(owner, "alice", "alice", "correct horse") == "903"
        await finish(owner)
        await owner.send("JOIN #team sesame")
        await owner.expect("366")
        assert "@alice" in [m for m in owner.seen if m.command == "353"][-1].params[-1].split()
    finally:
        for c in opened:
            await c.close()


async def test_account_extban_lets_an_account_past_invite_only(make_server, tmp_path):
    server = await make_server(data_dir=tmp_path, **ACCOUNTS)
    opened: list[RawClient] = []
    dial = await _dial_factory(server.port, opened)
    try:
        await make_account(dial, "bob", "correct horse")
        alice = await dial()
        await alice.register("alice")
        assert any("EXTBAN=$,a" in m.params for m in alice.seen if m.command == "005")
        await alice.join("#club")
        await alice.send("MODE #club +iI $a:bob")
        await alice.expect("MODE")
        guest = await dial()
        await guest.register("bobby")
        await guest.send("JOIN #club")
        await guest.expect("473")
        bob = await dial()
        assert await sasl_plain(bob, "bob", "bob", "correct horse") == "903"
        await finish(bob)
        await bob.join("#club")
    finally:
        for c in opened:
            await c.close()


async def test_read_markers_follow_the_account_across_connections_and_a_restart(make_server, tmp_path):
    first = await make_server(data_dir=tmp_path, **ACCOUNTS)
    opened: list[RawClient] = []
    dial = await _dial_factory(first.port, opened)
    stamp = "2026-11-30T10:00:00.250Z"

    async def marker(client: RawClient) -> str:
        await client.send("MARKREAD #team")
        return (await client.expect("MARKREAD")).params[-1]

    try:
        await make_account(dial, "alice", "correct horse")
        phone = await dial()
        assert await sasl_plain(phone, "alice", "alice", "correct horse", "sasl draft/read-marker") == "903"
        await finish(phone)
        laptop = await dial()  # the same account on a second connection, under another nick
        assert await sasl_plain(laptop, "laptop", "alice", "correct horse", "sasl draft/read-marker") == "903"
        await finish(laptop)
        await phone.send(f"MARKREAD #team timestamp={stamp}")
        assert (await phone.expect("MARKREAD")).params[-1] == f"timestamp={stamp}"
        assert await marker(laptop) == f"timestamp={stamp}"
        guest = await dial()
        await guest.register("guest")
        assert await marker(guest) == "*"  # not the account's: nobody else sees them
        await first.shutdown()

        second = await make_server(data_dir=tmp_path, **ACCOUNTS)
        dial = await _dial_factory(second.port, opened)
        back = await dial()
        assert await sasl_plain(back, "alice", "alice", "correct horse", "sasl draft/read-marker") == "903"
        await finish(back)
        assert await marker(back) == f"timestamp={stamp}"
    finally:
        for c in opened:
            await c.close()
