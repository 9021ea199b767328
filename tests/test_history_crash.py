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

from tcp_server.protocol import Message

from .support import ROOT, RawClient, ServerProcess

CAPS = "message-tags server-time echo-message batch draft/chathistory"
ACKED_BEFORE_KILL = 400


async def _flood(client: RawClient, stop: asyncio.Event) -> None:
    i = 0
    try:
        while not stop.is_set():
            client.writer.write(b"".join(f"PRIVMSG #flood :{i + k}\r\n".encode() for k in range(20)))
            i += 20
            await client.writer.drain()
            await asyncio.sleep(0)
    except (ConnectionError, OSError):
        pass


async def _all_history(port: int) -> list[Message]:
    reader = await RawClient.connect(port)
    await reader.register("reader", CAPS)
    await reader.join("#flood")
    await reader.send("CHATHISTORY LATEST #flood * 100000")
    start = await reader.expect("BATCH")
    got = []
    while (m := await reader.recv()) is not None:
        if m.command == "BATCH" and m.params[0] == "-" + start.params[0][1:]:
            break
        if m.command == "PRIVMSG":
            got.append(m)
    await reader.close()
    return got


async def test_acknowledged_messages_survive_sigkill(tmp_path: Path) -> None:
    args = ("--data-dir", str(tmp_path / "data"), "--flood-rate", "0", "--chathistory-max", "100000",
            "--no-use-uvloop")
    server = ServerProcess(*args).start()
    try:
        writer = await RawClient.connect(server.port)
        await writer.register("writer", CAPS)
        await writer.join("#flood")
        stop = asyncio.Event()
        flood = asyncio.create_task(_flood(writer, stop))
        acked: list[tuple[str, str]] = []
        while len(acked) < ACKED_BEFORE_KILL:
            m = await writer.recv()
            assert m is not None
            if m.command == "PRIVMSG":
                acked.append((m.tags["msgid"], m.params[1]))
        assert server.proc is not None
        server.proc.send_signal(signal.SIGKILL)  # mid-flood: the writer is still sending
        server.proc.wait(10)
        stop.set()
        # echoes the server wrote before dying are acknowledgements too (until the reset)
        try:
            while (m := await writer.recv()) is not None:
                if m.command == "PRIVMSG":
                    acked.append((m.tags["msgid"], m.params[1]))
        except (ConnectionError, OSError):
            pass
        await flood
        await writer.close()
    finally:
        server.stop(signal.SIGKILL)

    restarted = ServerProcess(*args).start()
    try:
        stored = [(m.tags["msgid"], m.params[1]) for m in await _all_history(restarted.port)]
    finally:
        restarted.stop()
    assert len(stored) == len(set(stored)), "duplicates in history"
    numbers = [int(text) for _, text in stored]
    assert numbers == sorted(numbers), "history out of order"
    position = {msgid: i for i, (msgid, _) in enumerate(stored)}
    missing = [a for a in acked if a[0] not in position]
    assert not missing, f"{len(missing)} acknowledged messages lost, first {missing[:3]}"
    assert [position[msgid] for msgid, _ in acked] == sorted(position[msgid] for msgid, _ in acked)
    assert len(acked) >= ACKED_BEFORE_KILL
    print(f"acked {len(acked)}, stored {len(stored)}")


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
