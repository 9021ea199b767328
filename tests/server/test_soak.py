"""Soak: many clients, several senders, rooms and private messages; nothing lost, nothing reordered.

``pytest -m slow``; ``TCPCHAT_SOAK_SCALE=small`` in CI. Loss and order are checked per sender:
every member of a room receives every line each sender said there, once, in the order it was said.
"""

from __future__ import annotations

import asyncio
import os
import random

import pytest

from ..support import RawClient, sync

SOAK = {"small": (40, 4, 100), "full": (200, 8, 300)}
"""TCPCHAT_SOAK_SCALE -> (clients, senders, messages per sender)."""
ROOMS = ("#soak-a", "#soak-b")


async def drain_room_lines(client: RawClient, expected: int) -> list[tuple[str, str, int]]:
    """(target, sender, sequence) of every PRIVMSG until ``expected`` have arrived."""
    got: list[tuple[str, str, int]] = []
    while len(got) < expected:
        msg = await client.recv(30)
        assert msg is not None, f"closed after {len(got)} of {expected}"
        if msg.command == "PRIVMSG":
            got.append((msg.params[0], msg.source.split("!")[0], int(msg.params[1].split()[0])))
    return got


@pytest.mark.slow
async def test_soak_rooms_and_private_messages_arrive_complete_and_in_order(make_server):
    n_clients, n_senders, per_sender = SOAK[os.environ.get("TCPCHAT_SOAK_SCALE", "full")]
    server = await make_server(sendq=1024 * 1024)
    rng = random.Random(7)
    clients = []
    for i in range(n_clients):
        c = await RawClient.connect(server.port)
        await c.register(f"s{i}")
        clients.append(c)
    membership = {c.nick: {r for r in ROOMS if rng.random() < 0.7} or {ROOMS[0]} for c in clients}
    for c in clients:
        await c.send(*(f"JOIN {r}" for r in sorted(membership[c.nick])))
    for c in clients:
        await sync(c)  # joins done; drop the JOIN/NAMES noise
    senders = clients[:n_senders]
    nicks = [c.nick for c in clients]

    def target(sender: str) -> str:
        if rng.random() < 0.2:
            return rng.choice([n for n in nicks if n != sender])
        return rng.choice(sorted(membership[sender]))

    plan = {s.nick: [target(s.nick) for _ in range(per_sender)] for s in senders}

    def reaches(to: str, nick: str) -> bool:
        return to == nick or to in membership[nick]

    expected = {
        c.nick: sum(1 for s in senders if s is not c for to in plan[s.nick] if reaches(to, c.nick))
        for c in clients
    }
    readers = {c.nick: asyncio.create_task(drain_room_lines(c, expected[c.nick])) for c in clients}

    async def talk(sender: RawClient) -> None:
        for seq, to in enumerate(plan[sender.nick]):
            await sender.send(f"PRIVMSG {to} :{seq} soak line from {sender.nick}")
            if seq % 50 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(talk(s) for s in senders))
    results = {nick: await task for nick, task in readers.items()}
    for c in clients:
        got = results[c.nick]
        for s in senders:
            if s is c:
                continue
            want = [(to, seq) for seq, to in enumerate(plan[s.nick]) if reaches(to, c.nick)]
            assert [(to, seq) for to, who, seq in got if who == s.nick] == want
    assert server.state.counters.sendq_drops == 0
    for c in clients:
        await c.close()
