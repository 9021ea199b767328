"""What a plain client (no draft/chathistory) missed, once: the JOIN replay starts where the user
last left the channel, across PART, a dropped connection and a server restart (real sockets,
in-process servers on one SQLite data dir)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tcp_server.server import ChatServer

from ..accounts_support import ACCOUNTS, finish, register_account, sasl_plain
from ..support import RawClient, sync
from .test_chathistory import CAPS, say

MakeServer = Callable[..., Awaitable[ChatServer]]
REPLAY = 10
WAIT_ROUNDS = 200


async def start(make_server: MakeServer, data: Path, replay: int = REPLAY) -> ChatServer:
    return await make_server(history=True, data_dir=data, history_replay_lines=replay)


async def connect(server: ChatServer, nick: str, caps: str = "server-time") -> RawClient:
    return await (await RawClient.connect(server.port)).register(nick, caps)


async def join_and_replay(client: RawClient, channel: str) -> list[str]:
    """JOIN, then the texts of the channel lines the client got before its PING's answer."""
    await client.send(f"JOIN {channel}")
    got = await sync(client)
    assert any(m.command == "366" for m in got), got
    return [m.params[1] for m in got if m.command == "PRIVMSG"]


async def wait_gone(watcher: RawClient, nick: str) -> None:
    """Until the server has noticed ``nick``'s connection is gone (bounded)."""
    for _ in range(WAIT_ROUNDS):
        await watcher.send(f"ISON {nick}")
        reply = await watcher.expect("303")
        if not reply.params[-1].strip():
            return
    raise AssertionError(f"{nick} still connected")


async def test_leave_and_rejoin_replays_only_the_lines_said_meanwhile(make_server: MakeServer, tmp_path: Path) -> None:
    server = await start(make_server, tmp_path)
    alice = await connect(server, "alice", CAPS)
    await alice.join("#room")
    await say(alice, "#room", "before")
    bob = await connect(server, "bob")
    assert await join_and_replay(bob, "#room") == ["before"]  # first join: the last lines
    await say(alice, "#room", "live")
    assert (await bob.expect("PRIVMSG")).params[1] == "live"
    await bob.send("PART #room")
    await bob.expect("PART")
    for i in range(2):
        await say(alice, "#room", f"missed {i}")
    assert await join_and_replay(bob, "#room") == ["missed 0", "missed 1"]
    await bob.send("PART #room")
    await bob.expect("PART")
    assert await join_and_replay(bob, "#room") == []  # nothing said meanwhile: nothing again
    for c in (alice, bob):
        await c.close()


async def test_kicked_user_gets_what_was_said_until_it_came_back(make_server: MakeServer, tmp_path: Path) -> None:
    server = await start(make_server, tmp_path)
    alice = await connect(server, "alice", CAPS)
    await alice.join("#room")
    await say(alice, "#room", "seen")
    bob = await connect(server, "bob")
    await join_and_replay(bob, "#room")
    await alice.send("KICK #room bob :out")
    await bob.expect("KICK")
    await say(alice, "#room", "while kicked")
    assert await join_and_replay(bob, "#room") == ["while kicked"]
    for c in (alice, bob):
        await c.close()


async def test_reconnect_after_a_dropped_connection_replays_the_gap_once(make_server: MakeServer, tmp_path: Path) -> None:
    server = await start(make_server, tmp_path)
    alice = await connect(server, "alice", CAPS)
    await alice.join("#room")
    bob = await connect(server, "bob")
    await join_and_replay(bob, "#room")
    await say(alice, "#room", "seen live")
    assert (await bob.expect("PRIVMSG")).params[1] == "seen live"
    bob.writer.transport.abort()  # the network drops: no QUIT
    await wait_gone(alice, "bob")
    await say(alice, "#room", "while away")
    bob = await connect(server, "BoB")  # the nick is the identity, casefolded
    assert await join_and_replay(bob, "#room") == ["while away"]
    await bob.send("QUIT :bye")
    await wait_gone(alice, "bob")
    bob = await connect(server, "bob")
    assert await join_and_replay(bob, "#room") == []
    for c in (alice, bob):
        await c.close()


async def test_leaving_times_survive_a_server_restart(make_server: MakeServer, tmp_path: Path) -> None:
    """bob PARTs before the restart, carol is still in the room when the server shuts down:
    after it each gets exactly what was said since it left."""
    server = await start(make_server, tmp_path)
    alice = await connect(server, "alice", CAPS)
    await alice.join("#room")
    bob, carol = await connect(server, "bob"), await connect(server, "carol")
    for c in (bob, carol):
        await join_and_replay(c, "#room")
    await say(alice, "#room", "both saw this")
    await bob.send("PART #room")
    await bob.expect("PART")
    await say(alice, "#room", "only carol saw this")
    await carol.expect("PRIVMSG", lambda m: m.params[1] == "only carol saw this")
    await server.shutdown()
    for c in (alice, bob, carol):
        await c.close()

    server = await start(make_server, tmp_path)
    alice = await connect(server, "alice", CAPS)
    await alice.join("#room")
    await say(alice, "#room", "after the restart")
    bob, carol = await connect(server, "bob"), await connect(server, "carol")
    assert await join_and_replay(bob, "#room") == ["only carol saw this", "after the restart"]
    assert await join_and_replay(carol, "#room") == ["after the restart"]
    for c in (alice, bob, carol):
        await c.close()


async def test_a_long_absence_replays_only_the_newest_lines(make_server: MakeServer, tmp_path: Path) -> None:
    server = await start(make_server, tmp_path, replay=3)
    alice = await connect(server, "alice", CAPS)
    await alice.join("#room")
    bob = await connect(server, "bob")
    await join_and_replay(bob, "#room")
    await bob.send("PART #room")
    await bob.expect("PART")
    for i in range(5):
        await say(alice, "#room", f"m{i}")
    assert await join_and_replay(bob, "#room") == ["m2", "m3", "m4"]
    for c in (alice, bob):
        await c.close()


async def test_a_client_with_chathistory_gets_no_replay(make_server: MakeServer, tmp_path: Path) -> None:
    server = await start(make_server, tmp_path)
    alice = await connect(server, "alice", CAPS)
    await alice.join("#room")
    await say(alice, "#room", "old")
    modern = await connect(server, "modern", CAPS)
    assert await join_and_replay(modern, "#room") == []
    await modern.send("PART #room")
    await modern.expect("PART")
    await say(alice, "#room", "meanwhile")
    assert await join_and_replay(modern, "#room") == []  # it asks with CHATHISTORY itself
    for c in (alice, modern):
        await c.close()


async def test_a_logged_in_user_is_its_account_whatever_its_nick(make_server: MakeServer, tmp_path: Path) -> None:
    server = await make_server(data_dir=tmp_path, history_replay_lines=REPLAY, **ACCOUNTS)
    alice = await connect(server, "alice", CAPS)
    await alice.join("#room")
    dave = await RawClient.connect(server.port)
    await register_account(dave, "dave", "secret-pw", "server-time")
    await join_and_replay(dave, "#room")
    await say(alice, "#room", "dave saw this")
    await dave.send("QUIT :bye")
    await wait_gone(alice, "dave")
    await say(alice, "#room", "while dave was away")
    again = await RawClient.connect(server.port)
    assert await sasl_plain(again, "dave_phone", "dave", "secret-pw", "sasl server-time") == "903"
    await finish(again)
    assert await join_and_replay(again, "#room") == ["while dave was away"]
    for c in (alice, again):
        await c.close()
