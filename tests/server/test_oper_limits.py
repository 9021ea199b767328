"""OPER guessing is limited per address and per connection, counted before the hash runs.

An attacker opening many connections from one address gets at most ``auth_attempts_per_ip``
password checks per window however parallel it is; the rest are refused without hashing; a
connection failing ``auth_failures_per_connection`` times is dropped; well-behaved users in a room
keep receiving every message; other addresses and correct passwords are not locked out.
"""

from __future__ import annotations

import asyncio

from ..support import RawClient

PASSWORD = "right-password"


async def _oper_replies(client: RawClient, count: int) -> list[str]:
    """Send ``count`` wrong OPERs at once; the texts of the 464/381 replies (until closed)."""
    await client.send(*[f"OPER admin wrong{i}" for i in range(count)])
    texts: list[str] = []
    while len(texts) < count:
        msg = await client.recv()
        if msg is None:
            break
        if msg.command in ("464", "381"):
            texts.append(msg.params[-1])
    return texts


async def test_a_parallel_guessing_storm_gets_at_most_the_limit_of_checks(make_server):
    srv = await make_server(oper_password=PASSWORD, auth_attempts_per_ip=10, auth_failures_per_connection=3)
    chatters = [await RawClient.connect(srv.port) for _ in range(3)]
    for i, c in enumerate(chatters):
        await c.register(f"user{i}")
        await c.join("#calm")
    attackers = [await RawClient.connect(srv.port) for _ in range(50)]
    for i, a in enumerate(attackers):
        await a.register(f"guess{i}")
    messages = 60

    async def chat() -> None:
        for n in range(messages):
            await chatters[n % 3].send(f"PRIVMSG #calm :line {n}")
            await asyncio.sleep(0.005)

    async def count_received(c: RawClient) -> int:
        got = 0
        while got < messages * 2 // 3:  # each gets the lines of the two others
            msg = await c.recv()
            assert msg is not None
            if msg.command == "PRIVMSG":
                got += 1
        return got

    try:
        results = await asyncio.gather(
            chat(),
            *(count_received(c) for c in chatters),
            *(_oper_replies(a, 3) for a in attackers),
        )
        received = results[1:4]
        replies = [text for texts in results[4:] for text in texts]
        checked = [t for t in replies if t == "Password incorrect"]
        refused = [t for t in replies if t.startswith("Too many")]
        assert received == [messages * 2 // 3] * 3  # nobody else lost a line
        assert 1 <= len(checked) <= 10  # the per-address limit, however parallel the storm
        assert len(checked) + len(refused) == len(replies)
        assert srv.state.auth_guard.refused >= len(refused)
        assert not any(c.nick == "admin" for c in srv.state.clients.values())
    finally:
        for c in (*chatters, *attackers):
            await c.close()


async def test_a_connection_that_keeps_failing_is_dropped(make_server):
    srv = await make_server(oper_password=PASSWORD, auth_attempts_per_ip=100, auth_failures_per_connection=3)
    guesser = await RawClient.connect(srv.port)
    await guesser.register("guesser")
    for i in range(3):
        await guesser.send(f"OPER admin wrong{i}")
        await guesser.expect("464")
    lines = await guesser.read_until_closed()
    assert lines[-1].command == "ERROR" and "Too many failed password attempts" in lines[-1].params[-1]
    assert srv.state.find_nick("guesser") is None
    await guesser.close()


async def test_other_addresses_and_the_right_password_are_not_locked_out(make_server):
    srv = await make_server(oper_password=PASSWORD, auth_attempts_per_ip=3, auth_failures_per_connection=99)
    attacker = await RawClient.connect(srv.port)
    await attacker.register("attacker")
    texts = []
    for i in range(6):  # one at a time (a connection has one check in flight at most)
        await attacker.send(f"OPER admin wrong{i}")
        texts.append((await attacker.expect("464")).params[-1])
    assert texts.count("Password incorrect") == 3 and all(t.startswith("Too many") for t in texts[3:])
    admin = await RawClient.connect(srv.port, source="127.0.0.2")
    await admin.register("boss")
    for _ in range(5):  # successes give their attempt back: the limit never bites an operator
        await admin.send(f"OPER admin {PASSWORD}")
        await admin.expect("381")
    for c in (attacker, admin):
        await c.close()


async def test_oper_reply_keeps_command_order_and_label(make_server):
    srv = await make_server(oper_password=PASSWORD)
    c = await RawClient.connect(srv.port)
    await c.register("ordered", "labeled-response batch message-tags")
    await c.send(f"@label=o1 OPER admin {PASSWORD}\r\n@label=p1 PING tok")
    # 381 and the MODE +o are one response: a labeled-response batch (the spec's MUST)
    start = await c.expect("BATCH")
    first = await c.expect("381")
    mode = await c.expect("MODE")
    await c.expect("BATCH")
    pong = await c.expect("PONG")
    assert start.tags.get("label") == "o1" and start.params[1] == "labeled-response"
    assert first.tags["batch"] == mode.tags["batch"] == start.params[0][1:]
    assert pong.tags.get("label") == "p1"
    await c.close()


async def test_per_address_connection_limit_defaults_to_16_with_exemptions(make_server):
    from tcp_server.settings import ServerSettings

    default = ServerSettings.model_fields["max_clients_per_ip"].default
    assert default == 16
    srv = await make_server(max_clients_per_ip=default, per_ip_exempt="127.0.0.3")
    held = [await RawClient.connect(srv.port) for _ in range(default)]
    for i, c in enumerate(held):
        await c.send(f"NICK n{i}", f"USER n{i} 0 * :x")
        await c.expect("001")
    extra = await RawClient.connect(srv.port)
    lines = await extra.read_until_closed()
    assert lines and "Too many connections from your address" in lines[-1].params[-1]
    other = await RawClient.connect(srv.port, source="127.0.0.2")
    await other.register("fromtwo")  # another address is unaffected
    exempt = [await RawClient.connect(srv.port, source="127.0.0.3") for _ in range(default + 4)]
    for i, c in enumerate(exempt):
        await c.send(f"NICK ex{i}", f"USER ex{i} 0 * :x")
        await c.expect("001")
    for c in (*held, extra, other, *exempt):
        await c.close()


async def test_an_address_that_reconnects_too_fast_is_refused_at_connect(make_server):
    srv = await make_server(connect_rate_per_ip=0.5, connect_burst_per_ip=5, per_ip_exempt="127.0.0.6")
    first = []
    for i in range(5):
        c = await RawClient.connect(srv.port, source="127.0.0.5")
        await c.register(f"quick{i}")
        await c.close()  # gone again at once: only the rate of new connections counts
        first.append(c)
    refused = await RawClient.connect(srv.port, source="127.0.0.5")
    lines = await refused.read_until_closed()
    assert lines and "Reconnecting too fast" in lines[-1].params[-1]
    other = await RawClient.connect(srv.port, source="127.0.0.7")
    await other.register("calm")  # another address is unaffected
    for i in range(8):  # an exempt address (a classroom's NAT) is never throttled
        c = await RawClient.connect(srv.port, source="127.0.0.6")
        await c.register(f"class{i}")
        await c.close()
    for c in (refused, other):
        await c.close()
