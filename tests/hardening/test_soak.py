"""Soak (issue 10): TCP and web users chat, come and go for T seconds against a server and a
gateway process; the resident memory of both after the run stays within a bound of what it was
after warm-up (a leak per message or per connection would grow it), and nothing said in the
steady room is lost.

``pytest -m slow``; ``TCPCHAT_SOAK_SCALE=small`` in CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from pathlib import Path

import pytest

from .hostile_room import TcpUser
from .support import WebUser, fd_count, gateway_child, rss_kib, server_child, settle

SOAK = {"small": (30, 8, 12.0), "full": (150, 30, 60.0)}
"""TCPCHAT_SOAK_SCALE -> (TCP users, web users, seconds of the measured run)."""
RSS_SLACK = 1.2
RSS_SLACK_KIB = 6 * 1024
"""After the run, RSS <= RSS after warm-up x 1.2 + 6 MiB (allocator noise, caches filling up)."""
ROOMS = ("#soak-a", "#soak-b", "#soak-c")


@pytest.mark.slow
async def test_memory_after_a_soak_stays_near_memory_after_warm_up(tmp_path: Path) -> None:
    n_tcp, n_web, seconds = SOAK[os.environ.get("TCPCHAT_SOAK_SCALE", "full")]
    rng = random.Random(10)
    server = await server_child(tmp_path, "--no-history", "--max-clients-per-ip", "0").astart()
    gateway = await gateway_child(tmp_path, server.port, "--ws-max-per-ip", "0").astart()
    url = f"ws://127.0.0.1:{gateway.port}/ws"
    tcp: list[TcpUser] = []
    web: list[WebUser] = []
    steady: list[TcpUser] = []
    churned = 0
    try:
        # A steady listener in each room, to check that nothing is lost under the churn.
        steady = [await TcpUser.join(server.port, f"steady{i}", room) for i, room in enumerate(ROOMS)]
        tcp = [await TcpUser.join(server.port, f"t{i}", ROOMS[i % 3]) for i in range(n_tcp)]
        web = [await WebUser(url, f"w{i}", ROOMS[i % 3]).start() for i in range(n_web)]
        said: dict[str, list[tuple[str, str]]] = {room: [] for room in ROOMS}
        seq = 0

        async def phase(duration: float) -> None:
            """Each round: every TCP user speaks (web users every third round: their rate limit
            is 5/s), one TCP and one web user leave and come back."""
            nonlocal seq, churned
            loop = asyncio.get_running_loop()
            end = loop.time() + duration
            while loop.time() < end:
                seq += 1
                for user in tcp:
                    text = f"{user.nick} {seq}"
                    if await user.say(text):
                        said[user.room].append((user.nick, text))
                for w in web if seq % 3 == 0 else []:
                    text = f"{w.nick} {seq}"
                    if await w.say(text):
                        said[w.room].append((w.nick, text))
                i = rng.randrange(len(tcp))
                old = tcp[i]
                await old.close()
                tcp[i] = await TcpUser.join(server.port, old.nick, old.room)
                j = rng.randrange(len(web))
                await web[j].close()
                web[j] = await WebUser(url, web[j].nick, web[j].room).start()
                churned += 2
                await asyncio.sleep(0.1)

        await phase(seconds / 4)  # warm-up
        await asyncio.sleep(1.0)
        warm = {"server": rss_kib(server.pid), "gateway": rss_kib(gateway.pid)}
        fds_warm = {"server": fd_count(server.pid), "gateway": fd_count(gateway.pid)}
        await phase(seconds)
        await asyncio.sleep(1.0)
        after = {"server": rss_kib(server.pid), "gateway": rss_kib(gateway.pid)}
        for name in warm:
            assert after[name] <= warm[name] * RSS_SLACK + RSS_SLACK_KIB, (name, warm, after)
        # Same number of users: the same descriptors, give or take a closing socket.
        assert await settle(lambda: fd_count(server.pid) <= fds_warm["server"] + 2)
        assert await settle(lambda: fd_count(gateway.pid) <= fds_warm["gateway"] + 2)
        for listener in steady:
            want = said[listener.room]
            assert await settle(lambda listener=listener, want=want: len(listener.lines) >= len(want))
            assert listener.lines == want, listener.room
        print(f"\nFIGURES soak: tcp={n_tcp}, web={n_web}, seconds={seconds}, "
              f"messages={sum(map(len, said.values()))}, reconnects={churned}, rss_warm_kib={warm}, "
              f"rss_after_kib={after}, fds_warm={fds_warm}")
    finally:
        for user in [*tcp, *steady]:
            with contextlib.suppress(Exception):
                await user.close()
        for w in web:
            await w.close()
        for child in (gateway, server):
            await asyncio.to_thread(child.stop)
