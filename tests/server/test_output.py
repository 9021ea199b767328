"""Output coalescing of real ``Connection`` objects on recording transports (no sockets).

A recipient's lines go out in as few writes as the event loop allows: everything queued in one
turn and in the turn after it leaves in one ``write``, in order, and nothing waits for more input.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tcp_server.output import OutputFlusher
from tcp_server.server import ChatServer
from tcp_server.settings import ServerSettings
from tcp_server.transport import Connection

from ..support import RecordingTransport

TURNS = 5
"""Loop turns that are always enough for queued output to be written."""


async def turns(n: int = TURNS) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def room_of_two(tmp_path: Path) -> tuple[Connection, RecordingTransport]:
    """Alice and bob in #r; returns alice's connection and bob's transport, drained."""
    settings = ServerSettings(flood_rate=0, history=False, data_dir=tmp_path, max_clients_per_ip=0)  # type: ignore[call-arg]
    server = ChatServer(settings)
    server.flusher = OutputFlusher(asyncio.get_running_loop())
    conns = []
    for port, nick in ((1, "alice"), (2, "bob")):
        conn = Connection(server)
        transport = RecordingTransport(port)
        conn.connection_made(transport)  # type: ignore[arg-type]
        conn.data_received(f"NICK {nick}\r\nUSER {nick} 0 * :x\r\nJOIN #r\r\n".encode())
        conns.append((conn, transport))
    await turns()
    bob = conns[1][1]
    bob.writes.clear()
    return conns[0][0], bob


async def test_lines_queued_in_consecutive_turns_leave_in_one_write(tmp_path):
    alice, bob = await room_of_two(tmp_path)
    alice.data_received(b"PRIVMSG #r :one\r\n")
    await asyncio.sleep(0)  # the next turn: its input joins the same write
    alice.data_received(b"PRIVMSG #r :two\r\n")
    await turns()
    assert len(bob.writes) == 1
    lines = bob.writes[0].split(b"\r\n")
    assert [line.rsplit(b" :", 1)[1] for line in lines if line] == [b"one", b"two"]


async def test_a_single_line_is_written_without_further_input(tmp_path):
    alice, bob = await room_of_two(tmp_path)
    alice.data_received(b"PRIVMSG #r :alone\r\n")
    await turns()
    assert len(bob.writes) == 1
    assert bob.writes[0].endswith(b"PRIVMSG #r :alone\r\n")
