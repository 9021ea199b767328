"""CHATHISTORY and echo-after-commit over real sockets, against an in-process server with SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tcp_server.protocol import Message
from tcp_server.server import ChatServer

from ..support import RawClient, sync

CAPS = "message-tags server-time echo-message batch draft/chathistory"
MakeServer = Callable[..., Awaitable[ChatServer]]


@pytest.fixture
async def history_server(make_server: MakeServer, tmp_path: Path) -> ChatServer:
    return await make_server(history=True, data_dir=tmp_path / "data", chathistory_max=50)


@pytest.fixture
async def open_client(history_server: ChatServer):  # type: ignore[no-untyped-def]
    clients: list[RawClient] = []

    async def factory(nick: str, caps: str = CAPS) -> RawClient:
        client = await RawClient.connect(history_server.port)
        clients.append(client)
        return await client.register(nick, caps)

    yield factory
    for c in clients:
        await c.close()


async def say(client: RawClient, target: str, text: str) -> Message:
    """Send a PRIVMSG and wait for its echo (the acknowledgement)."""
    await client.send(f"PRIVMSG {target} :{text}")
    return await client.expect("PRIVMSG", lambda m: m.params[1] == text)


async def history(client: RawClient, line: str) -> list[Message]:
    """Send a CHATHISTORY line; the messages of the batch it answers with (FAIL raises)."""
    await client.send(line)
    start = await client.expect("BATCH", lambda m: m.params[0].startswith("+"))
    ref = start.params[0][1:]
    out = []
    while True:
        m = await client.recv()
        assert m is not None
        if m.command == "BATCH" and m.params[0] == f"-{ref}":
            return out
        assert m.tags.get("batch") == ref, m
        out.append(m)


async def fail(client: RawClient, line: str) -> Message:
    """Send a CHATHISTORY line that must fail; the FAIL, with no batch or message before it."""
    await client.send(line)
    while True:
        m = await client.recv()
        assert m is not None
        assert m.command not in ("BATCH", "PRIVMSG", "NOTICE"), m
        if m.command == "FAIL":
            return m


async def test_chathistory_is_advertised(history_server: ChatServer) -> None:
    client = await RawClient.connect(history_server.port)
    await client.send("CAP LS 302")
    caps = await client.expect("CAP")
    assert "draft/chathistory" in caps.params[-1].split()
    await client.send("NICK y", "USER y 0 * :y", "CAP END")
    isupport = [m for m in await _welcome(client) if m.command == "005"]
    tokens = {t for m in isupport for t in m.params[1:-1]}
    assert "CHATHISTORY=50" in tokens and "MSGREFTYPES=msgid,timestamp" in tokens
    await client.close()


async def _welcome(client: RawClient) -> list[Message]:
    out = []
    while (m := await client.recv()) is not None:
        out.append(m)
        if m.command == "376":
            return out
    raise AssertionError("closed")


async def test_echo_means_the_message_is_on_disk(history_server: ChatServer, open_client) -> None:  # type: ignore[no-untyped-def]
    alice = await open_client("alice")
    await alice.join("#room")
    db = history_server.settings.data_dir / "history.db"
    for i in range(20):
        echo = await say(alice, "#room", f"line {i}")
        with sqlite3.connect(db) as con:  # a separate reader: only committed rows are visible
            row = con.execute("SELECT text FROM messages WHERE msgid = ?", (echo.tags["msgid"],)).fetchone()
        assert row == (f"line {i}",)


async def test_subcommands_return_batches_with_time_and_msgid(open_client) -> None:  # type: ignore[no-untyped-def]
    alice = await open_client("alice")
    await alice.join("#Room")
    echoes = []
    for i in range(8):
        echoes.append(await say(alice, "#room", f"m{i}"))
        await asyncio.sleep(0.003)  # distinct milliseconds, so timestamp references are exact
    ids = [e.tags["msgid"] for e in echoes]

    def text(ms: list[Message]) -> list[str]:
        return [m.params[1] for m in ms]

    latest = await history(alice, "CHATHISTORY LATEST #ROOM * 3")
    assert text(latest) == ["m5", "m6", "m7"]
    assert [m.tags["msgid"] for m in latest] == ids[5:]
    assert [m.tags["time"] for m in latest] == [e.tags["time"] for e in echoes[5:]]
    assert {m.params[0] for m in latest} == {"#Room"} and latest[0].source == echoes[0].source
    assert text(await history(alice, f"CHATHISTORY BEFORE #room msgid={ids[3]} 10")) == ["m0", "m1", "m2"]
    assert text(await history(alice, f"CHATHISTORY AFTER #room msgid={ids[5]} 10")) == ["m6", "m7"]
    assert text(await history(alice, f"CHATHISTORY AROUND #room msgid={ids[4]} 3")) == ["m3", "m4", "m5"]
    assert text(await history(alice, f"CHATHISTORY BETWEEN #room msgid={ids[1]} msgid={ids[5]} 10")) == [
        "m2", "m3", "m4",
    ]
    t = echoes[2].tags["time"]
    assert text(await history(alice, f"CHATHISTORY AFTER #room timestamp={t} 2")) == ["m3", "m4"]
    assert text(await history(alice, f"CHATHISTORY LATEST #room msgid={ids[7]} 10")) == []


async def test_limits_are_clamped_to_the_advertised_maximum(open_client) -> None:  # type: ignore[no-untyped-def]
    alice = await open_client("alice")
    await alice.join("#big")
    for i in range(60):
        await alice.send(f"PRIVMSG #big :n{i}")
    await alice.expect("PRIVMSG", lambda m: m.params[1] == "n59")
    got = await history(alice, "CHATHISTORY LATEST #big * 99999999999999999999999")
    assert len(got) == 50 and got[-1].params[1] == "n59"


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("CHATHISTORY", None),  # 461 from the command table
        ("CHATHISTORY FETCH #room * 10", "INVALID_PARAMS"),
        ("CHATHISTORY LATEST #room *", "INVALID_PARAMS"),
        ("CHATHISTORY BETWEEN #room * 10", "INVALID_PARAMS"),
        ("CHATHISTORY LATEST #room * 0", "INVALID_PARAMS"),
        ("CHATHISTORY LATEST #room * -5", "INVALID_PARAMS"),
        ("CHATHISTORY LATEST #room * ten", "INVALID_PARAMS"),
        ("CHATHISTORY LATEST #room * ²", "INVALID_PARAMS"),
        ("CHATHISTORY BEFORE #room * 10", "INVALID_PARAMS"),
        ("CHATHISTORY BEFORE #room msgid= 10", "INVALID_PARAMS"),
        ("CHATHISTORY BEFORE #room id=abc 10", "INVALID_PARAMS"),
        ("CHATHISTORY AFTER #room timestamp=yesterday 10", "INVALID_PARAMS"),
        ("CHATHISTORY AFTER #room msgid=never-sent 10", "INVALID_PARAMS"),
        ("CHATHISTORY TARGETS msgid=a timestamp=2020-01-01T00:00:00.000Z 10", "INVALID_PARAMS"),
        ("CHATHISTORY LATEST #nosuchroom * 10", "INVALID_TARGET"),
        ("CHATHISTORY LATEST #secret * 10", "INVALID_TARGET"),
        ("CHATHISTORY LATEST #invite * 10", "INVALID_TARGET"),
        ("CHATHISTORY LATEST #public * 10", "INVALID_TARGET"),
        ("CHATHISTORY LATEST 9bad!nick * 10", "INVALID_TARGET"),
    ],
)
async def test_bad_requests_get_fail_and_no_data(open_client, line: str, code: str | None) -> None:  # type: ignore[no-untyped-def]
    owner = await open_client("owner")
    await owner.join("#room")
    for name, mode in (("#secret", "+s"), ("#invite", "+i"), ("#public", None)):
        await owner.join(name)
        if mode:
            await owner.send(f"MODE {name} {mode}")
        await say(owner, name, f"private words in {name}")
    await say(owner, "#room", "hello")
    await sync(owner)
    eve = await open_client("eve")
    await eve.join("#room")
    if code is None:
        await eve.send(line)
        assert (await eve.expect("461")).params[1] == "CHATHISTORY"
    else:
        failure = await fail(eve, line)
        assert failure.params[:2] == ("CHATHISTORY", code), failure
    assert await sync(eve) == []  # nothing but the FAIL: no batch, no stray message
    assert [m.params[1] for m in await history(eve, "CHATHISTORY LATEST #room * 5")] == ["hello"]


async def test_private_history_is_the_conversation_and_not_the_nick(open_client) -> None:  # type: ignore[no-untyped-def]
    alice = await open_client("alice")
    bob = await open_client("Bob")
    await say(alice, "bob", "hi bob")
    await bob.expect("PRIVMSG")
    await say(bob, "ALICE", "hi alice")
    await alice.send("PRIVMSG carol :nobody")  # carol is offline: 401, nothing stored
    await alice.expect("401")
    got = await history(alice, "CHATHISTORY LATEST BOB * 10")
    assert [(m.source.split("!")[0], m.params[1]) for m in got] == [("alice", "hi bob"), ("Bob", "hi alice")]
    assert [m.params[1] for m in await history(bob, "CHATHISTORY LATEST alice * 10")] == ["hi bob", "hi alice"]
    await bob.send("QUIT")
    await bob.read_until_closed()
    impostor = await open_client("bob")  # takes the nick afterwards: sees nothing from before
    assert await history(impostor, "CHATHISTORY LATEST alice * 10") == []


async def test_targets_lists_recent_conversations(open_client) -> None:  # type: ignore[no-untyped-def]
    alice = await open_client("alice")
    bob = await open_client("bob")
    await alice.join("#one")
    await alice.join("#two")
    await say(alice, "#one", "a")
    await say(alice, "bob", "b")
    await say(alice, "#two", "c")
    await bob.join("#three")
    await say(bob, "#three", "not alice's")
    got = await history(alice, "CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z "
                               "timestamp=2100-01-01T00:00:00.000Z 10")
    assert [(m.command, m.params[:2]) for m in got] == [
        ("CHATHISTORY", ("TARGETS", "#one")),
        ("CHATHISTORY", ("TARGETS", "bob")),
        ("CHATHISTORY", ("TARGETS", "#two")),
    ]


async def test_reconnect_gets_exactly_the_missed_messages(open_client) -> None:  # type: ignore[no-untyped-def]
    alice = await open_client("alice")
    bob = await open_client("bob")
    await alice.join("#room")
    await bob.join("#room")
    for i in range(3):
        await say(alice, "#room", f"before {i}")
    seen = await bob.expect("PRIVMSG", lambda m: m.params[1] == "before 2")
    last = seen.tags["msgid"]
    await bob.close()
    missed = [(await say(alice, "#room", f"missed {i}")).tags["msgid"] for i in range(5)]
    bob = await open_client("bob")
    await bob.join("#room")
    got = await history(bob, f"CHATHISTORY AFTER #room msgid={last} 50")
    assert [m.tags["msgid"] for m in got] == missed
    assert [m.params[1] for m in got] == [f"missed {i}" for i in range(5)]


async def test_replay_on_join_for_clients_without_chathistory(make_server: MakeServer, tmp_path: Path) -> None:
    server = await make_server(history=True, data_dir=tmp_path, history_replay_lines=3)
    alice = await RawClient.connect(server.port)
    await alice.register("alice", CAPS)
    await alice.join("#room")
    for i in range(5):
        await say(alice, "#room", f"r{i}")
    plain = await (await RawClient.connect(server.port)).register("plain", "server-time")
    await plain.send("JOIN #room")
    replay = [await plain.expect("PRIVMSG") for _ in range(3)]
    assert [m.params[1] for m in replay] == ["r2", "r3", "r4"]
    assert all("time" in m.tags and "msgid" not in m.tags for m in replay)
    modern = await (await RawClient.connect(server.port)).register("modern", CAPS)
    await modern.join("#room")
    await say(alice, "#room", "live")
    assert (await modern.expect("PRIVMSG")).params[1] == "live"  # no replay before the live line
    for c in (alice, plain, modern):
        await c.close()


async def test_store_failure_fails_the_sender_and_the_server_keeps_serving(
    history_server: ChatServer, open_client  # type: ignore[no-untyped-def]
) -> None:
    alice = await open_client("alice")
    bob = await open_client("bob")
    await alice.join("#room")
    await bob.join("#room")
    await say(alice, "#room", "stored")
    blocker = sqlite3.connect(history_server.settings.data_dir / "history.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock: commits fail
    try:
        await alice.send("PRIVMSG #room :doomed")
        await bob.expect("PRIVMSG", lambda m: m.params[1] == "doomed")  # fan-out does not wait
        assert await sync(bob) == []  # the server keeps serving meanwhile
        failure = await alice.expect("FAIL")
        assert failure.params[:3] == ("PRIVMSG", "MESSAGE_NOT_STORED", "#room")
        assert not [m for m in alice.seen if m.command == "PRIVMSG" and m.params[1] == "doomed"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await say(alice, "#room", "stored again")
    got = await history(alice, "CHATHISTORY LATEST #room * 10")
    assert [m.params[1] for m in got] == ["stored", "stored again"]


async def test_store_failure_fails_a_sender_without_echo_message_too(
    history_server: ChatServer, open_client  # type: ignore[no-untyped-def]
) -> None:
    """A plain client (no echo-message: the chat line's fast path, no held echo) whose line
    could not be stored still learns it, by FAIL; a stored line gives it nothing back."""
    carol = await open_client("carol", "")
    bob = await open_client("bob")
    await carol.join("#room")
    await bob.join("#room")
    await carol.send("PRIVMSG #room :kept")
    await bob.expect("PRIVMSG", lambda m: m.params[1] == "kept")
    await history(bob, "CHATHISTORY LATEST #room * 10")  # after the barrier: "kept" is committed
    assert not [m for m in await sync(carol) if m.command == "FAIL"]  # nothing for a stored line
    blocker = sqlite3.connect(history_server.settings.data_dir / "history.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock: commits fail
    try:
        await carol.send("PRIVMSG #room :doomed")
        await bob.expect("PRIVMSG", lambda m: m.params[1] == "doomed")
        failure = await carol.expect("FAIL")
        assert failure.params[:3] == ("PRIVMSG", "MESSAGE_NOT_STORED", "#room")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    got = await history(bob, "CHATHISTORY LATEST #room * 10")
    assert [m.params[1] for m in got] == ["kept"]


async def test_history_off_means_no_cap_and_unknown_command(make_server: MakeServer) -> None:
    server = await make_server(history=False)
    client = await RawClient.connect(server.port)
    await client.send("CAP LS 302")
    assert "draft/chathistory" not in (await client.expect("CAP")).params[-1]
    await client.send("NICK n", "USER n 0 * :n", "CAP END")
    await client.expect("376")
    await client.send("CHATHISTORY LATEST #a * 10")
    assert (await client.expect("421")).params[1] == "CHATHISTORY"
    await client.close()


async def test_a_batch_larger_than_the_sendq_is_paced_not_dropped(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = await make_server(history=True, data_dir=tmp_path, sendq=8192, chathistory_max=400)
    alice = await (await RawClient.connect(server.port)).register("alice", CAPS)
    await alice.join("#big")
    filler = "x" * 150
    for i in range(300):
        await alice.send(f"PRIVMSG #big :{i} {filler}")
    await alice.expect("PRIVMSG", lambda m: m.params[1].startswith("299 "))
    got = await history(alice, "CHATHISTORY LATEST #big * 400")  # ~70 KB for an 8 KB sendq
    assert [int(m.params[1].split()[0]) for m in got] == list(range(300))
    assert await sync(alice) == []  # still connected
    await alice.close()


async def test_plain_clients_get_plain_lines_and_notices_stay_notices(open_client) -> None:  # type: ignore[no-untyped-def]
    alice = await open_client("alice")
    await alice.join("#room")
    await say(alice, "#room", "a privmsg")
    await alice.send("NOTICE #room :a notice")
    await alice.expect("NOTICE")
    plain = await open_client("plain", caps="draft/chathistory")  # no batch, no tags
    await plain.join("#room")
    await plain.send("CHATHISTORY LATEST #room * 10")
    got = [await plain.recv() for _ in range(2)]
    assert [(m.command, m.params[1], m.tags) for m in got if m] == [
        ("PRIVMSG", "a privmsg", {}), ("NOTICE", "a notice", {}),
    ]


async def test_operators_may_read_any_channel_for_the_admin_api(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = await make_server(history=True, data_dir=tmp_path, oper_password="s3cret")
    alice = await (await RawClient.connect(server.port)).register("alice", CAPS)
    await alice.join("#hidden")
    await alice.send("MODE #hidden +s")
    await say(alice, "#hidden", "for members")
    admin = await (await RawClient.connect(server.port)).register("admin", CAPS)
    assert (await fail(admin, "CHATHISTORY LATEST #hidden * 10")).params[1] == "INVALID_TARGET"
    await admin.send("OPER admin s3cret")
    await admin.expect("381")
    assert [m.params[1] for m in await history(admin, "CHATHISTORY LATEST #hidden * 10")] == ["for members"]
    await alice.send("QUIT")
    await alice.read_until_closed()  # the channel is gone, its history is not
    assert [m.params[1] for m in await history(admin, "CHATHISTORY LATEST #HIDDEN * 10")] == ["for members"]
    await admin.close()
