"""History survives a crash: SIGKILL the server mid-flood, restart it, every acknowledged message
is there, in order, once. Also: ``tcpchat server`` with defaults keeps history under ./data."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tcp_server.protocol import Message

from ..support import ROOT, RawClient, ServerProcess

CAPS = "message-tags server-time echo-message batch draft/chathistory"
ACKED_BEFORE_KILL = 400
FLOOD_WINDOW = 500
"""Messages a writer keeps in flight: enough that the kill always lands mid-flood."""
FLOOD_BATCH = 20
SOAK = {"small": (2, 2, 300), "full": (5, 4, 2000)}
"""TCPCHAT_SOAK_SCALE -> (crash cycles, writers, acknowledgements per cycle before the kill)."""


async def _flood(
    client: RawClient, name: str, start: int, stop: asyncio.Event, acked: list[tuple[str, str]]
) -> None:
    """Send as fast as the window of unacknowledged messages allows (like a real client would)."""
    sent = 0
    try:
        while not stop.is_set():
            room = FLOOD_WINDOW - (sent - len(acked))
            if room < FLOOD_BATCH:
                await asyncio.sleep(0.001)
                continue
            client.writer.write(
                b"".join(f"PRIVMSG #flood :{name} {start + sent + k}\r\n".encode() for k in range(room))
            )
            sent += room
            await client.writer.drain()
    except (ConnectionError, OSError):
        pass


async def _read_acks(client: RawClient, acked: list[tuple[str, str]], until: int | None) -> None:
    """Collect the client's echoes (msgid, text); stop at ``until`` of them, or at EOF/reset.

    Only its own messages are acknowledgements: other writers' lines are fan-out, which does not
    wait for the commit.
    """
    own = f"{client.nick}!"
    try:
        while until is None or len(acked) < until:
            m = await client.recv()
            if m is None:
                return
            if m.command == "PRIVMSG" and (m.source or "").startswith(own):
                acked.append((m.tags["msgid"], m.params[1]))
    except (ConnectionError, OSError):
        pass


async def _crash_cycle(args: tuple[str, ...], writers: int, acks: int, start: int) -> list[tuple[str, str]]:
    """Start the server, flood #flood from ``writers`` clients, SIGKILL it once each writer has
    ``acks`` echoes; return every echo received (the ones written before the kill included)."""
    server = ServerProcess(*args).start()
    try:
        clients = []
        for w in range(writers):
            client = await RawClient.connect(server.port)
            await client.register(f"writer{w}", CAPS)
            await client.join("#flood")
            clients.append(client)
        stop = asyncio.Event()
        acked: list[list[tuple[str, str]]] = [[] for _ in clients]
        floods = [
            asyncio.create_task(_flood(c, f"w{w}", start, stop, acked[w])) for w, c in enumerate(clients)
        ]
        await asyncio.gather(*(_read_acks(c, a, acks) for c, a in zip(clients, acked, strict=True)))
        assert server.proc is not None
        server.proc.send_signal(signal.SIGKILL)  # mid-flood: every writer is still sending
        server.proc.wait(10)
        stop.set()
        await asyncio.gather(*(_read_acks(c, a, None) for c, a in zip(clients, acked, strict=True)))
        await asyncio.gather(*floods)
        for c in clients:
            await c.close()
    finally:
        server.stop(signal.SIGKILL)
    return [a for per_writer in acked for a in per_writer]


async def _all_history(port: int) -> list[Message]:
    reader = await RawClient.connect(port)
    await reader.register("reader", CAPS)
    await reader.join("#flood")
    await reader.send("CHATHISTORY LATEST #flood * 1000000")
    start = await reader.expect("BATCH")
    got = []
    while (m := await reader.recv()) is not None:
        if m.command == "BATCH" and m.params[0] == "-" + start.params[0][1:]:
            break
        if m.command == "PRIVMSG":
            got.append(m)
    await reader.close()
    return got


async def _check_history(args: tuple[str, ...], acked: list[tuple[str, str]]) -> int:
    """Restart the server: every acknowledged message is stored once, each writer's in order."""
    restarted = ServerProcess(*args).start()
    try:
        stored = [(m.tags["msgid"], m.params[1]) for m in await _all_history(restarted.port)]
    finally:
        restarted.stop()
    assert len(stored) == len({msgid for msgid, _ in stored}), "duplicates in history"
    per_writer: dict[str, list[int]] = {}
    for _, text in stored:
        name, n = text.split()
        per_writer.setdefault(name, []).append(int(n))
    for name, numbers in per_writer.items():
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), f"{name} out of order"
    position = {msgid: i for i, (msgid, _) in enumerate(stored)}
    missing = [a for a in acked if a[0] not in position]
    assert not missing, f"{len(missing)} acknowledged messages lost, first {missing[:3]}"
    return len(stored)


def _args(tmp_path: Path) -> tuple[str, ...]:
    return ("--data-dir", str(tmp_path / "data"), "--flood-rate", "0", "--chathistory-max", "1000000")


async def test_acknowledged_messages_survive_sigkill(tmp_path: Path) -> None:
    acked = await _crash_cycle(_args(tmp_path), writers=1, acks=ACKED_BEFORE_KILL, start=0)
    assert len(acked) >= ACKED_BEFORE_KILL
    stored = await _check_history(_args(tmp_path), acked)
    assert stored >= len(acked)


@pytest.mark.slow
async def test_repeated_crashes_lose_no_acknowledged_message(tmp_path: Path) -> None:
    cycles, writers, acks = SOAK[os.environ.get("TCPCHAT_SOAK_SCALE", "full")]
    acked: list[tuple[str, str]] = []
    for cycle in range(cycles):
        acked += await _crash_cycle(_args(tmp_path), writers, acks, start=cycle * 10_000_000)
    assert len(acked) >= cycles * writers * acks
    await _check_history(_args(tmp_path), acked)


async def test_default_server_keeps_history_in_dot_data(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in env.items() if not k.startswith("TCPCHAT_")}
    proc = subprocess.Popen([sys.executable, "-m", "tcpchat", "server", "--port", "0"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
        port = int(re.search(r"listening on [^ ]+:(\d+)", line).group(1))  # type: ignore[union-attr]
        client = await RawClient.connect(port)
        await client.register("alice", CAPS)
        await client.join("#lobby")
        await client.send("PRIVMSG #lobby :kept")
        await client.expect("PRIVMSG")
        await client.close()
        assert (tmp_path / "data" / "history.db").is_file()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def test_unusable_history_settings_are_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for flags in (["--database-url", "mysql://db/x"], ["--data-dir", str(blocker / "data")]):
        proc = subprocess.run([sys.executable, "-m", "tcpchat", "server", "--port", "0", *flags],
                              cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2
        assert proc.stderr.startswith("error: setting data_dir/database_url"), proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
