"""Hostile clients against a real server process (issue 10), each while alice and bob (TCP) and
carol (web, through a real gateway process) chat in the same room: every line they say must reach
the other two, once, in order. Figures are printed (``pytest -s``) for the issue's table.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from pathlib import Path

import pytest

from ..support import RawClient
from .hostile_room import TcpUser, hostile_stack
from .support import fd_count, settle

SCALE = os.environ.get("TCPCHAT_SOAK_SCALE", "full")
PER_ADDRESS = 15
"""Sockets per source address: under the default per-address limit (16), spread over 127.0.0.N."""


def figure(case: str, **numbers: object) -> None:
    print(f"\nFIGURES {case}: " + ", ".join(f"{k}={v}" for k, v in numbers.items()))


async def _open_from(port: int, index: int) -> socket.socket:
    """A raw non-blocking socket to the server from 127.0.0.N (N from ``index``)."""
    sock = socket.socket()
    sock.bind((f"127.0.{2 + index // PER_ADDRESS // 250}.{2 + index // PER_ADDRESS % 250}", 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return sock


async def _closed_by_server(socks: list[socket.socket], rounds: int = 400) -> tuple[int, int]:
    """Read until each socket sees EOF or a reset: (sockets closed, sockets told
    "Registration timeout" in an ``ERROR`` line first)."""
    loop = asyncio.get_running_loop()
    open_ = set(range(len(socks)))
    told: set[int] = set()

    async def drain(i: int) -> None:
        got = b""
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await loop.sock_recv(socks[i], 4096):
                got = (got + chunk)[-4096:]
        if b"ERROR :Closing Link" in got and b"Registration timeout" in got:
            told.add(i)
        open_.discard(i)

    tasks = [asyncio.create_task(drain(i)) for i in range(len(socks))]
    await settle(lambda: not open_, rounds=rounds)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return len(socks) - len(open_), len(told)


async def test_slowloris_sockets_are_closed_and_the_room_chats_on(tmp_path: Path) -> None:
    count = 300
    async with hostile_stack(tmp_path, "--registration-timeout", "2") as room:
        fds_before = fd_count(room.server.pid)
        socks = [await _open_from(room.server.port, i) for i in range(count)]
        stop = asyncio.Event()
        talk = asyncio.create_task(room.chat(stop))
        loop = asyncio.get_running_loop()

        async def trickle() -> None:  # one byte of an endless registration per socket per tick
            payload = b"NICK loris\r\nUSER loris 0 * :" + b"x" * 10_000
            for k in range(len(payload)):
                for s in socks:
                    with contextlib.suppress(OSError):
                        s.send(payload[k : k + 1])
                await asyncio.sleep(0.2)

        trickler = asyncio.create_task(trickle())
        started = loop.time()
        closed, told = await _closed_by_server(socks)
        took = loop.time() - started
        trickler.cancel()
        stop.set()
        await talk
        deliveries = await room.assert_everyone_got_everything()
        for s in socks:
            s.close()
        assert closed == told == count
        assert await settle(lambda: fd_count(room.server.pid) <= fds_before + 2)
        figure("slowloris", sockets=count, closed_by_server=closed, registration_timeout_told=told,
               seconds_to_close_all=round(took, 1),
               room_deliveries=deliveries, server_fds_before=fds_before,
               server_fds_after=fd_count(room.server.pid))


async def test_a_client_that_never_reads_is_dropped_and_the_room_gets_everything(tmp_path: Path) -> None:
    # Loopback lets the kernel take up to tcp_wmem's 4 MiB for a reader that stopped before the
    # server's 96 KiB sendq counts: ~4.5 MB of relayed lines always go past both.
    lines = 10_000
    async with hostile_stack(tmp_path, "--flood-rate", "0") as room:
        mute = socket.socket()
        mute.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        mute.connect(("127.0.0.1", room.server.port))
        mute.sendall(f"NICK mute\r\nUSER mute 0 * :m\r\nJOIN {room.room}\r\n".encode())
        alice, bob = room.tcp
        await settle(lambda: False, rounds=4)  # mute's JOIN is handled
        stop = asyncio.Event()
        talk = asyncio.create_task(room.chat(stop))
        # alice also posts long lines as fast as bob keeps up (a window, like a real client).
        said = [f"bulk {k} " + "b" * 380 for k in range(lines)]
        for k, text in enumerate(said):
            while k - len(bob.lines) > 400:
                await asyncio.sleep(0.005)
            await alice.client.send(f"PRIVMSG {room.room} :{text}")
        stop.set()
        await talk
        room.sent["alice"] = said + room.sent["alice"]
        room.sent["alice"].sort(key=lambda t: t.startswith("alice"))  # order checked per kind below
        def bulk(listener: str) -> list[str]:
            return [t for w, t in room.received(listener) if w == "alice" and t.startswith("bulk")]

        await settle(lambda: ("mute", "SendQ exceeded") in bob.quits, rounds=200)
        assert ("mute", "SendQ exceeded") in bob.quits
        for listener in (bob.nick, room.nicks[2]):
            await settle(lambda listener=listener: len(bulk(listener)) >= lines, rounds=400)
            assert bulk(listener) == said, listener
        chatter = {w: [t for t in ts if not t.startswith("bulk")] for w, ts in room.sent.items()}
        room.sent = chatter
        for user in room.tcp:
            user.lines[:] = [(w, t) for w, t in user.lines if not t.startswith("bulk")]
        assert room.web is not None
        room.web.events[:] = [e for e in room.web.events if not str(e.get("text", "")).startswith("bulk")]
        deliveries = await room.assert_everyone_got_everything()
        mute.close()
        figure("never-reading", bulk_lines=lines, bulk_bytes=lines * 400, mute_dropped="SendQ exceeded",
               bulk_delivered_to_bob_and_carol=2 * lines, chat_deliveries=deliveries)


async def test_a_flooder_is_disconnected_and_the_room_chats_on(tmp_path: Path) -> None:
    flood = 5_000
    async with hostile_stack(tmp_path) as room:  # default flood control: 8 lines/s, burst 30
        flooder = await TcpUser.join(room.server.port, "flooder", room.room)
        stop = asyncio.Event()
        talk = asyncio.create_task(room.chat(stop))
        await asyncio.sleep(0.5)
        with contextlib.suppress(ConnectionError, OSError):
            await flooder.client.send(*(f"PRIVMSG {room.room} :flood {k}" for k in range(flood)))
        bob = room.tcp[1]
        await settle(lambda: any(n == "flooder" for n, _ in bob.quits))
        await asyncio.sleep(1.0)
        stop.set()
        await talk
        assert ("flooder", "Excess Flood") in bob.quits
        relayed = sum(1 for w, _ in bob.lines if w == "flooder")
        # the burst (30) and what 8/s refills while the 5,000 lines arrive (a few seconds at most
        # on a loaded machine), then cut off: a bound on the flood, not a timing
        assert relayed <= 30 + 8 * 5
        deliveries = await room.assert_everyone_got_everything()
        await flooder.close()
        figure("flooder", lines_sent=flood, relayed_before_cut=relayed, reason="Excess Flood",
               chat_deliveries=deliveries)


async def test_64k_and_10m_lines_get_417_and_the_sender_stays(tmp_path: Path) -> None:
    async with hostile_stack(tmp_path, "--flood-rate", "0") as room:
        big = await RawClient.connect(room.server.port)
        await big.register("big")
        await big.join(room.room)
        stop = asyncio.Event()
        talk = asyncio.create_task(room.chat(stop))
        long_lines = [f"PRIVMSG {room.room} :".encode() + b"L" * 65536 for _ in range(20)]
        long_lines.append(f"PRIVMSG {room.room} :".encode() + b"M" * (10 * 2**20))
        for line in long_lines:
            await big.send(line)
        await big.send("PING :after")
        too_long = 0
        while (msg := await big.recv()) is not None:
            if msg.command == "417":
                too_long += 1
            if msg.command == "PONG":
                break
        await big.send(f"PRIVMSG {room.room} :a normal line")
        await asyncio.sleep(0.5)
        stop.set()
        await talk
        room.sent["big"] = ["a normal line"]
        assert too_long == len(long_lines)
        deliveries = await room.assert_everyone_got_everything()
        assert not any(len(t) > 1000 for user in room.tcp for _, t in user.lines)
        await big.close()
        figure("64 KiB / 10 MiB lines", lines=len(long_lines), bytes=20 * 65536 + 10 * 2**20,
               answered_417=too_long, sender_still_connected=True, chat_deliveries=deliveries)


@pytest.mark.slow
async def test_a_thousand_unregistered_sockets_do_not_stop_the_room(tmp_path: Path) -> None:
    count = 1000 if SCALE == "full" else 400
    async with hostile_stack(tmp_path, "--registration-timeout", "5") as room:
        fds_before = fd_count(room.server.pid)
        stop = asyncio.Event()
        talk = asyncio.create_task(room.chat(stop))
        started = time.monotonic()
        socks = [await _open_from(room.server.port, i) for i in range(count)]
        newcomer = await TcpUser.join(room.server.port, "newcomer", room.room)  # still welcome
        peak = [fd_count(room.server.pid)]

        async def watch_fds() -> None:
            while True:
                peak.append(fd_count(room.server.pid))
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch_fds())
        closed, told = await _closed_by_server(socks)
        watcher.cancel()
        fds_peak = max(peak)
        took = time.monotonic() - started
        stop.set()
        await talk
        deliveries = await room.assert_everyone_got_everything()
        for s in socks:
            s.close()
        assert closed == told == count  # each accepted, held, then timed out with an ERROR line
        assert await settle(lambda: fd_count(room.server.pid) <= fds_before + 3)
        await newcomer.close()
        figure("unregistered sockets", sockets=count, closed_by_server=closed, told_timeout=told,
               seconds_open_to_all_closed=round(took, 1), server_fds_before=fds_before,
               server_fds_peak=fds_peak, server_fds_after=fd_count(room.server.pid),
               chat_deliveries=deliveries)
