"""Flood control on a real ``Connection`` in memory: lines within the allowance are handled as
they arrive (no queue), the rest wait and are handled at the flood rate, in order, none dropped."""

from __future__ import annotations

import asyncio

from tcp_server.output import OutputFlusher
from tcp_server.server import ChatServer
from tcp_server.settings import ServerSettings
from tcp_server.transport import Connection

from ..support import RecordingTransport

RATE = 50.0
"""Lines per second allowed after the burst (fast, so the test waits tens of milliseconds)."""
BURST = 3
WAIT_STEPS = 200
"""10 ms sleeps the paced lines may take, at most (they need (5 - BURST) / RATE = 40 ms)."""


def pongs(transport: RecordingTransport) -> list[bytes]:
    return [line.split()[-1].lstrip(b":") for line in b"".join(transport.writes).split(b"\r\n") if b" PONG " in line]


async def test_lines_over_the_burst_wait_and_follow_in_order(tmp_path):
    settings = ServerSettings(  # type: ignore[call-arg]
        flood_rate=RATE, flood_burst=BURST, history=False, data_dir=tmp_path, max_clients_per_ip=0
    )
    server = ChatServer(settings)
    server.flusher = OutputFlusher(asyncio.get_running_loop())
    conn = Connection(server)
    transport = RecordingTransport(1)
    conn.connection_made(transport)  # type: ignore[arg-type]
    conn.data_received(b"NICK pacer\r\nUSER pacer 0 * :x\r\n")
    await asyncio.sleep(1.1 * BURST / RATE)  # the allowance is full again
    for _ in range(5):
        await asyncio.sleep(0)
    transport.writes.clear()

    conn.data_received(b"".join(b"PING :%d\r\n" % i for i in range(5)))
    assert conn.held is not None and len(conn.held) == 5 - BURST  # the rest wait
    assert not transport.reading  # and the socket is not read meanwhile
    for _ in range(5):
        await asyncio.sleep(0)
    assert pongs(transport) == [b"0", b"1", b"2"]
    for _ in range(WAIT_STEPS):
        await asyncio.sleep(0.01)
        if len(pongs(transport)) == 5:
            break
    assert pongs(transport) == [b"0", b"1", b"2", b"3", b"4"]
    assert conn.held is None and not conn.throttled and not conn.closing
    assert transport.reading


async def test_a_run_of_chat_lines_over_the_burst_is_cut_at_the_allowance(tmp_path):
    """Chat lines to one channel in one read are relayed together, but only as many as the
    allowance covers: the rest wait and follow at the rate, in order, none dropped."""
    settings = ServerSettings(  # type: ignore[call-arg]
        flood_rate=RATE, flood_burst=BURST, history=False, data_dir=tmp_path, max_clients_per_ip=0
    )
    server = ChatServer(settings)
    server.flusher = OutputFlusher(asyncio.get_running_loop())
    conns, transports = [], []
    for i, nick in enumerate(("talker", "listener")):
        conn, transport = Connection(server), RecordingTransport(i + 1)
        conn.connection_made(transport)  # type: ignore[arg-type]
        conn.data_received(f"NICK {nick}\r\nUSER {nick} 0 * :x\r\nJOIN #r\r\n".encode())
        conns.append(conn)
        transports.append(transport)
    await asyncio.sleep(1.1 * BURST / RATE)  # the allowance is full again
    for _ in range(5):
        await asyncio.sleep(0)
    talker, heard = conns[0], transports[1]
    heard.writes.clear()

    def said() -> list[bytes]:
        lines = b"".join(heard.writes).split(b"\r\n")
        return [line.rsplit(b" :", 1)[1] for line in lines if b" PRIVMSG #r :" in line]

    talker.data_received(b"".join(b"PRIVMSG #r :%d\r\n" % i for i in range(5)))
    assert talker.held is not None and len(talker.held) == 5 - BURST
    for _ in range(5):
        await asyncio.sleep(0)
    assert said() == [b"0", b"1", b"2"]
    for _ in range(WAIT_STEPS):
        await asyncio.sleep(0.01)
        if len(said()) == 5:
            break
    assert said() == [b"0", b"1", b"2", b"3", b"4"]
    assert talker.held is None and not talker.throttled and not talker.closing
