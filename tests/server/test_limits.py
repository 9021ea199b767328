"""Limits over real sockets: sendq, flood, ping and registration timeouts, line size, bad bytes, caps."""

from __future__ import annotations

import asyncio
import logging
import random
import socket

import pytest

from ..support import RawClient, sync

MAX_MESSAGES = 30000
"""Upper bound on the messages sent before the non-reader must have been dropped.

The kernel buffers a lot on loopback (about 2 MB for the server's send buffer here) before the
server's own sendq starts to fill, so the test sends batches until the drop happens.
"""
BATCH = 100
TEXT = "x" * 300


def slow_socket(port: int) -> socket.socket:
    """A client socket with a tiny receive buffer that the test never reads from."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"NICK slow\r\nUSER slow 0 * :slow\r\nJOIN #room\r\n")
    return sock


async def read_privmsgs(client: RawClient) -> list[int]:
    """Numbers of the PRIVMSGs received, up to the ``NOTICE :end`` marker."""
    out: list[int] = []
    while True:
        msg = await client.recv()
        assert msg is not None
        if msg.command == "PRIVMSG":
            out.append(int(msg.params[1].split()[0]))
        elif msg.command == "NOTICE" and msg.params[-1] == "end":
            return out


async def test_client_that_never_reads_is_dropped_others_get_everything_in_order(make_server):
    server = await make_server(sendq=8192)
    sender = await RawClient.connect(server.port)
    await sender.register("sender")
    readers = [await RawClient.connect(server.port) for _ in range(2)]
    for i, r in enumerate(readers):
        await r.register(f"reader{i}")
    for c in (sender, *readers):
        await c.join("#room")
    slow = slow_socket(server.port)
    try:
        await sender.expect("JOIN", lambda m: m.source.startswith("slow!"))
        tasks = [asyncio.create_task(read_privmsgs(r)) for r in readers]
        sent = 0
        seen = []
        while server.state.find_nick("slow") is not None and sent < MAX_MESSAGES:
            await sender.send(*[f"PRIVMSG #room :{sent + j} {TEXT}" for j in range(BATCH)])
            sent += BATCH
            seen += await sync(sender)
        assert server.state.find_nick("slow") is None, f"not dropped after {sent} messages"
        for j in range(BATCH):  # and the room keeps working after the drop
            await sender.send(f"PRIVMSG #room :{sent + j} after")
        sent += BATCH
        await sender.send("NOTICE #room :end")
        results = await asyncio.gather(*tasks)
        for got in results:
            assert got == list(range(sent))
        seen += await sync(sender)
        quits = [m for m in seen if m.command == "QUIT"]
        assert [q.params for q in quits] == [("SendQ exceeded",)]
        assert server.state.counters.sendq_drops == 1
        print(f"non-reader dropped after {sent - BATCH} messages")
    finally:
        slow.close()


async def test_flood_disconnects_with_excess_flood(make_server):
    server = await make_server(flood_rate=1, flood_burst=5)
    peer = await RawClient.connect(server.port)
    await peer.register("peer")
    await peer.join("#room")
    flooder = await RawClient.connect(server.port)
    await flooder.register("flooder")
    await flooder.join("#room")
    await flooder.send(*[f"PRIVMSG #room :spam {i}" for i in range(40)])
    tail = await flooder.read_until_closed()
    assert tail[-1].command == "ERROR" and "Excess Flood" in tail[-1].params[0]
    quit_ = await peer.expect("QUIT")
    assert quit_.params == ("Excess Flood",)
    spam = [m for m in peer.seen if m.command == "PRIVMSG"]
    assert len(spam) < 40


async def test_oversized_line_gets_417_and_connection_keeps_working(connect):
    alice = await connect("alice")
    bob = await connect("bob")
    await alice.join("#room")
    await bob.join("#room")
    await alice.send("PRIVMSG #room :" + "y" * 600)
    assert (await alice.expect("417")).params[0] == "alice"
    await alice.send(b"PRIVMSG #room :" + b"z" * 20000 + b"\r\n")  # over the framing limit
    await alice.expect("417")
    await alice.send("PRIVMSG #room :still here")
    got = await bob.expect("PRIVMSG")
    assert got.params == ("#room", "still here")  # the long ones were dropped, not relayed
    assert [m for m in await sync(alice) if m.command == "417"] == []


async def test_bad_characters_and_invalid_utf8(connect):
    alice = await connect("alice")
    bob = await connect("bob")
    await alice.join("#room")
    await bob.join("#room")
    await alice.send(b"PRIVMSG #room :caf\xe9 \xff ok\r\n")
    got = await bob.expect("PRIVMSG")
    assert got.params[1] == "caf\ufffd \ufffd ok"
    await alice.send(b"PRIVMSG #room :a\rQUIT :smuggled\r\n")
    assert (await alice.expect("400")).params[0] == "alice"
    await alice.send(b"PRIVMSG #room :\x00\x01\x02 \xc3\x28\r\n", "PRIVMSG #room :after")
    assert (await bob.expect("PRIVMSG")).params[1] == "after"
    assert (await sync(bob)) == []


async def test_ping_timeout_drops_silent_client_and_keeps_responsive_one(make_server):
    server = await make_server(ping_interval=0.2, ping_timeout=0.3)
    silent = await RawClient.connect(server.port)
    await silent.register("silent")
    alive = await RawClient.connect(server.port)
    await alive.register("alive")
    for c in (silent, alive):
        await c.join("#room")
    pings = 0
    while True:
        msg = await alive.recv()
        assert msg is not None
        if msg.command == "PING":
            pings += 1
            await alive.send(f"PONG :{msg.params[-1]}")
        elif msg.command == "QUIT":
            assert msg.source.startswith("silent!")
            assert msg.params[0].startswith("Ping timeout")
            break
    tail = await silent.read_until_closed()
    assert [m.command for m in tail].count("PING") >= 1
    assert tail[-1].command == "ERROR" and "Ping timeout" in tail[-1].params[0]
    assert pings >= 1
    assert server.state.find_nick("alive") is not None


async def test_registration_timeout(make_server):
    server = await make_server(registration_timeout=0.2)
    lurker = await RawClient.connect(server.port)
    await lurker.send("NICK lurker")  # never sends USER
    tail = await lurker.read_until_closed()
    assert tail[-1].command == "ERROR" and "Registration timeout" in tail[-1].params[0]
    assert server.state.clients == {}


async def test_max_clients_refuses_with_a_clear_error(make_server):
    server = await make_server(max_clients=2)
    kept = [await RawClient.connect(server.port) for _ in range(2)]
    await kept[0].register("one")
    await kept[1].register("two")
    extra = await RawClient.connect(server.port)
    tail = await extra.read_until_closed()
    assert [m.command for m in tail] == ["ERROR"] and "Server is full" in tail[0].params[0]
    await kept[0].send("QUIT")
    await kept[0].read_until_closed()
    await asyncio.sleep(0)  # let connection_lost run
    again = await RawClient.connect(server.port)
    await again.register("three")
    for c in (*kept, extra, again):
        await c.close()


async def test_max_clients_per_ip(make_server):
    server = await make_server(max_clients_per_ip=1)
    first = await RawClient.connect(server.port)
    await first.register("first")
    second = await RawClient.connect(server.port)
    tail = await second.read_until_closed()
    assert "Too many connections" in tail[0].params[0]
    for c in (first, second):
        await c.close()


async def test_trusted_gateway_is_not_limited_per_ip_but_its_users_are(make_server):
    server = await make_server(max_clients_per_ip=1, webirc_password="pw", webirc_hosts="127.0.0.1")
    users = []
    for i, real_ip in enumerate(["198.51.100.1", "198.51.100.2", "198.51.100.1"]):
        c = await RawClient.connect(server.port)
        await c.send(f"WEBIRC pw gw host{i} {real_ip}")
        users.append(c)
    await users[0].register("web0")
    await users[1].register("web1")
    tail = await users[2].read_until_closed()
    assert "Too many connections" in tail[-1].params[0]
    for c in users:
        await c.close()


async def test_burst_over_the_allowance_is_slowed_not_dropped(make_server):
    server = await make_server(flood_rate=50, flood_burst=5)
    peer = await RawClient.connect(server.port)
    await peer.register("peer")
    await peer.join("#room")
    eager = await RawClient.connect(server.port)
    await eager.register("eager")
    await eager.join("#room")
    await asyncio.sleep(0.2)  # refill the bucket after registering
    await eager.send(*[f"PRIVMSG #room :line {i}" for i in range(9)])  # 5 at once, 4 wait
    got = [(await peer.expect("PRIVMSG")).params[1] for _ in range(9)]
    assert got == [f"line {i}" for i in range(9)]
    assert [m.command for m in await sync(eager)] == []  # still connected, nothing dropped
    assert server.state.counters.floods == 0
    for c in (peer, eager):
        await c.close()


async def test_default_flood_settings_let_a_client_join_40_channels_line_by_line(make_server):
    server = await make_server(flood_rate=8, flood_burst=30)  # the shipped defaults
    client = await RawClient.connect(server.port)
    await client.register("joiner")
    await client.send(*[f"JOIN #room{i}" for i in range(40)])
    ends = [(await client.expect("366")).params[1] for _ in range(40)]
    assert ends == [f"#room{i}" for i in range(40)]
    assert server.state.counters.floods == 0
    await client.close()


async def test_a_reply_bigger_than_the_sendq_reaches_a_client_that_reads(make_server):
    """The sendq bounds what a client leaves unread, not the size of one reply (LIST, NAMES)."""
    server = await make_server(sendq=16384, max_channels_per_client=1200)
    owner = await RawClient.connect(server.port)
    await owner.register("owner")
    names = [f"#channel-number-{i:04d}" for i in range(1200)]
    for i in range(0, len(names), 20):  # 20 names fit one 512-byte line
        await owner.send("JOIN " + ",".join(names[i : i + 20]))
    await sync(owner)
    asker = await RawClient.connect(server.port)
    await asker.register("asker")
    await asker.send("LIST")
    listed = []
    while (msg := await asker.recv()).command != "323":
        if msg.command == "322":
            listed.append(msg.params[1])
    assert sorted(listed) == names  # about 60 KB, nearly four times the sendq
    assert server.state.counters.sendq_drops == 0
    for c in (owner, asker):
        await c.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_garbage_never_crashes_the_server(make_server, caplog, seed):
    caplog.set_level(logging.WARNING, logger="tcpchat.server")
    server = await make_server(flood_rate=0)
    rng = random.Random(seed)
    words = [b"NICK", b"USER", b"JOIN", b"PRIVMSG", b"MODE", b"@", b":", b"#", b"\r", b"\n", b" ",
             b"\x00", b"\xff", b"CAP", b"LS", b"302", b"@label=x", b";", b"=", b"\\", b"*", b","]
    clients = [await RawClient.connect(server.port) for _ in range(6)]
    for _ in range(300):
        c = rng.choice(clients)
        parts = [
            rng.choice(words) if rng.random() < 0.7 else rng.randbytes(rng.randint(1, 30))
            for _ in range(rng.randint(1, 60))
        ]
        chunk = b"".join(parts)
        c.writer.write(chunk)
    for c in clients:
        c.writer.write(b"\r\nQUIT\r\n")
        await c.writer.drain()
    replies = 0
    for c in clients:
        tail = await c.read_until_closed()
        assert tail[-1].command == "ERROR"
        replies += len(tail)
        await c.close()
    assert replies > 100  # the garbage was read and answered (421, 451, 461, 417, 400 ...)
    survivor = await RawClient.connect(server.port)
    await survivor.register("survivor")
    await survivor.close()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
