"""The PRIVMSG fast path (``split_chat_line`` + ``relay_chat_line``) sends exactly what the
general path sends: the same line in lower case (``privmsg #r :x``) takes the general path, so
each scenario is run both ways and every client's bytes compared (msgid and time masked).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest

from tcp_server.commands.history import install as install_history_hooks
from tcp_server.history.factory import open_history
from tcp_server.output import OutputFlusher
from tcp_server.server import ChatServer
from tcp_server.settings import ServerSettings
from tcp_server.transport import Connection

from ..support import RecordingTransport

STAMPS = re.compile(rb"(time|msgid)=[^; ]+")


def masked(transport: RecordingTransport) -> bytes:
    """Everything written, with msgid and time values (different in every run) masked."""
    return STAMPS.sub(rb"\1=*", b"".join(transport.writes))


CLIENTS = {  # nick: what it asks for before registering
    "plain": "",
    "tagged": "CAP LS 302\r\nCAP REQ :message-tags server-time echo-message\r\nCAP END\r\n",
    "timed": "CAP LS 302\r\nCAP REQ :server-time echo-message\r\nCAP END\r\n",
    "bot": "CAP LS 302\r\nCAP REQ :message-tags echo-message\r\nCAP END\r\n",
}
LINES = [
    "PRIVMSG #r :hello there",
    "NOTICE #r :a notice",
    "PRIVMSG #R :case folded target",
    "PRIVMSG #r :" + "long " * 99,  # cut to fit 512 bytes once prefixed
    "PRIVMSG #r :\u00e9t\u00e9 \u2603",
    "PRIVMSG #nowhere :no such channel",
    "NOTICE #nowhere :silently dropped",
    "PRIVMSG #quiet :moderated, not voiced",
    "PRIVMSG #r ::leading colon",
]


async def run_scenario(
    tmp_path: Path, history: bool, lower: bool, together: bool = False, flood_rate: float = 0
) -> dict[str, bytes]:
    """Every client says ``LINES``, each in its own read, or (``together``) all in one read
    with each line twice in a row (runs of chat lines: ``relay_chat_run``)."""
    settings = ServerSettings(  # type: ignore[call-arg]
        flood_rate=flood_rate, flood_burst=1000, history=history, max_clients_per_ip=0,
        data_dir=tmp_path / f"{history}-{lower}-{together}-{flood_rate}",
        cloak_secret="same cloaks in both runs",
    )
    server = ChatServer(settings)
    server.flusher = OutputFlusher(asyncio.get_running_loop())
    if history:
        server.state.history = await open_history(settings)
        install_history_hooks(server.state)
    conns: dict[str, tuple[Connection, RecordingTransport]] = {}
    for port, (nick, caps) in enumerate(CLIENTS.items(), start=1):
        conn = Connection(server)
        transport = RecordingTransport(port)
        conn.connection_made(transport)  # type: ignore[arg-type]
        conn.data_received(f"{caps}NICK {nick}\r\nUSER {nick} 0 * :x\r\nJOIN #r,#quiet\r\n".encode())
        conns[nick] = (conn, transport)
    conns["plain"][0].data_received(b"MODE #quiet +m\r\nMODE bot +B\r\n")
    conns["bot"][0].data_received(b"MODE bot +B\r\n")
    try:
        for _ in range(5):
            await asyncio.sleep(0)
        lines_before = {}
        for nick, (_, transport) in conns.items():
            lines_before[nick] = b"".join(transport.writes).count(b"\n")
            transport.writes.clear()
        for conn, _ in conns.values():
            lines = []
            for line in LINES:
                if lower:
                    command, rest = line.split(" ", 1)
                    line = f"{command.lower()} {rest}"
                lines += [line, line] if together else [line]
            if together:
                conn.data_received("".join(f"{line}\r\n" for line in lines).encode())
            else:
                for line in lines:
                    conn.data_received(f"{line}\r\n".encode())
        if history:  # commit what is queued: the echoes are released
            await server.state.history.close()
        for _ in range(5):
            await asyncio.sleep(0)
        for nick, (conn, transport) in conns.items():  # STATS l and the metrics count every line
            assert conn.client is not None
            assert conn.client.msgs_out == lines_before[nick] + b"".join(transport.writes).count(b"\n"), nick
        result = {nick: masked(transport) for nick, (_, transport) in conns.items()}
        if history:  # what was stored, in commit order (msgid and time differ in every run)
            db = sqlite3.connect(settings.data_dir / "history.db")
            try:
                rows = db.execute(
                    "SELECT target_key, command, source, sender, target, text, tags FROM messages ORDER BY seq"
                ).fetchall()
            finally:
                db.close()
            result["stored rows"] = repr(rows).encode()
        return result
    finally:
        if server.state.history is not None:
            await server.state.history.close()  # a second close does nothing


@pytest.mark.parametrize("history", [False, True])
async def test_fast_path_sends_what_the_general_path_sends(tmp_path, history):
    fast = await run_scenario(tmp_path, history, lower=False)
    general = await run_scenario(tmp_path, history, lower=True)
    assert fast == general
    # and the scenario is not empty: the relayed line, its tags and the errors are there
    assert b"@time=*;msgid=* :plain!" in fast["tagged"]
    assert b"@time=*;msgid=*;bot :bot!" in fast["tagged"]
    assert b"403 plain #nowhere" in fast["plain"]
    assert b"404 tagged #quiet" in fast["tagged"]
    assert fast["tagged"].count(b"PRIVMSG #r :hello there") == len(CLIENTS)  # three others + its echo


@pytest.mark.parametrize("flood_rate", [0, 1000])
@pytest.mark.parametrize("history", [False, True])
async def test_chat_lines_read_together_send_what_the_general_path_sends(tmp_path, history, flood_rate):
    """Consecutive chat lines to one channel in one read (relayed as one run) reach every
    client as the general path sends them one by one: same lines, same order, same errors."""
    fast = await run_scenario(tmp_path, history, lower=False, together=True, flood_rate=flood_rate)
    general = await run_scenario(tmp_path, history, lower=True, together=True, flood_rate=flood_rate)
    assert fast == general
    assert fast["tagged"].count(b"PRIVMSG #r :hello there") == 2 * len(CLIENTS)
    if history:  # every line of every client stored once, the plain client's (no echo) too
        assert fast["stored rows"].count(b"'hello there'") == 2 * len(CLIENTS)
        assert fast["stored rows"].count(b"'plain!") == 2 * 7  # all but the two to #nowhere
    assert fast["plain"].count(b"403 plain #nowhere") == 2
    assert fast["tagged"].count(b"404 tagged #quiet") == 2
