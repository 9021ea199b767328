"""``tcpchat up`` as a real process: prints the URL, chats end to end, restarts a dead child while
the other carries on, and Ctrl-C stops both children."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import websockets

from ..support import ROOT, RawClient

TIMEOUT = 30.0


class UpProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def wait_for(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """Read stdout until a line matches ``pattern``."""
        regex = re.compile(pattern)

        async def scan() -> re.Match[str]:
            assert self.proc.stdout is not None
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError(f"tcpchat up ended while waiting for {pattern!r}")
                line = raw.decode().rstrip()
                if (m := regex.search(line)) is not None:
                    return m

        return await asyncio.wait_for(scan(), timeout)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def _ws_user(url: str, nick: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url)
    await ws.send(json.dumps({"type": "hello", "nick": nick}))
    await ws.send(json.dumps({"type": "join", "room": "#lobby"}))
    await _expect(ws, lambda e: e["type"] == "names")
    # The room's history comes next; a line said before it arrives is in it (the server holds a
    # client's later output behind its pending CHATHISTORY reply), so wait for it like the page does.
    await _expect(ws, lambda e: e["type"] == "history")
    return ws


async def _expect(ws: websockets.ClientConnection, pred, timeout: float = TIMEOUT) -> dict:  # type: ignore[no-untyped-def]
    async def scan() -> dict:  # type: ignore[type-arg]
        while True:
            event = json.loads(await ws.recv())
            if pred(event):
                return event  # type: ignore[no-any-return]

    return await asyncio.wait_for(scan(), timeout)


async def test_up_runs_supervises_and_stops_both(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCPCHAT_")}
    env.update({"TCPCHAT_LOG_LEVEL": "WARNING", "TCPCHAT_RESTART_INITIAL": "0.2"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tcpchat", "up", "--irc-port", "0", "--web-port", "0",
        "--data-dir", str(tmp_path / "data"),
        stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
    )
    up = UpProcess(proc)
    try:
        server_pid = int((await up.wait_for(r"\[server\] started \(pid (\d+)\)")).group(1))
        gateway_pid = int((await up.wait_for(r"\[gateway\] started \(pid (\d+)\)")).group(1))
        url = (await up.wait_for(r"open (http://127\.0\.0\.1:\d+/) in a browser")).group(1)
        web_port = int(url.rsplit(":", 1)[1].strip("/"))
        ws_url = f"ws://127.0.0.1:{web_port}/ws"
        alice = await _ws_user(ws_url, "alice")  # WEBIRC works: the secrets were generated for both

        # The server dies: it is restarted on the same port and the gateway's session recovers.
        os.kill(server_pid, signal.SIGKILL)
        await up.wait_for(r"\[server\] exited")
        new_server_pid = int((await up.wait_for(r"\[server\] started \(pid (\d+)\)")).group(1))
        assert new_server_pid != server_pid
        await _expect(alice, lambda e: e["type"] == "status" and e["state"] == "reconnecting")
        await _expect(alice, lambda e: e["type"] == "status" and e["state"] == "connected")
        await alice.send(json.dumps({"type": "send", "room": "#lobby", "text": "survived"}))
        echoed = await _expect(alice, lambda e: e["type"] == "message")
        assert echoed["text"] == "survived" and echoed["self"]

        # The gateway dies: it is restarted on the same port; the server carries on.
        os.kill(gateway_pid, signal.SIGKILL)
        await up.wait_for(r"\[gateway\] exited")
        await up.wait_for(r"\[gateway\] started \(pid (\d+)\)")
        await up.wait_for(r"\[gateway\] listening on")
        bea = await _ws_user(ws_url, "bea")
        await bea.close()
        await alice.close()

        # Ctrl-C stops both children and exits cleanly.
        proc.send_signal(signal.SIGINT)
        await up.wait_for(r"^stopped$")
        assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
        assert not _alive(new_server_pid)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_up_prints_a_clear_error_for_bad_settings() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tcpchat", "up", "--web-port", "99999",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode == 2
    assert b"web_port" in err and b"--web-port" in err


async def test_raw_client_reaches_a_server_started_by_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCPCHAT_")}
    env["TCPCHAT_LOG_LEVEL"] = "WARNING"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tcpchat", "up", "--irc-port", "0", "--web-port", "0",
        "--data-dir", str(tmp_path / "data"),
        stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
    )
    up = UpProcess(proc)
    try:
        m = await up.wait_for(r"IRC on 127\.0\.0\.1:(\d+), web on (http://127\.0\.0\.1:(\d+)/)")
        irc_port, web_port = int(m.group(1)), int(m.group(3))
        bob = await RawClient.connect(irc_port)
        await bob.register("bob")
        await bob.join("#lobby")
        alice = await _ws_user(f"ws://127.0.0.1:{web_port}/ws", "alice")
        await bob.expect("JOIN", lambda msg: msg.source.startswith("alice!"))
        await bob.send("PRIVMSG #lobby :hello web")
        assert (await _expect(alice, lambda e: e["type"] == "message"))["text"] == "hello web"
        await alice.close()
        assert (await bob.expect("QUIT")).source.startswith("alice!")
        await bob.close()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_up_prints_the_api_token_and_keeps_the_log_readable(tmp_path: Path) -> None:
    """The generated API token is printed and works; the admin page's polling and uvicorn's
    "Press CTRL+C to quit" stay out of the INFO log, other requests stay in it."""
    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("TCPCHAT_")}
    env["TCPCHAT_ADMIN_PASSWORD"] = "admin-secret"  # set, so not generated (and not printed)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tcpchat", "up", "--irc-port", "0", "--web-port", "0",
        "--data-dir", str(tmp_path / "data"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
    )
    up = UpProcess(proc)
    try:
        m = await up.wait_for(r"IRC on 127\.0\.0\.1:(\d+), web on (http://127\.0\.0\.1:\d+/)")
        irc_port, gw = int(m.group(1)), m.group(2)
        api = await up.wait_for(r"^HTTP API: (\S+)api/rooms .*Authorization: Bearer (\S+)$")
        assert api.group(1) == gw
        bob = await RawClient.connect(irc_port)
        await bob.register("bob")
        await bob.join("#lobby")
        async with httpx.AsyncClient(base_url=gw, timeout=TIMEOUT) as http:
            headers = {"Authorization": f"Bearer {api.group(2)}"}
            posted = await http.post("/api/rooms/lobby/messages", json={"text": "from up"}, headers=headers)
            assert posted.status_code == 201, posted.text
            assert (await bob.expect("PRIVMSG")).params[-1] == "from up"
            for _ in range(2):  # what the admin page polls
                assert (await http.get("/api/rooms")).status_code == 200
                admin = await http.get("/api/admin/connections", auth=("admin", "admin-secret"))
                assert admin.status_code == 200
            assert (await http.get("/api/health")).status_code == 200
        await bob.close()
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        log = out.decode() + err.decode()  # uvicorn's access log is the gateway's stdout
        assert '"GET /api/health HTTP/1.1" 200' in log  # access logs are on...
        assert '"POST /api/rooms/lobby/messages HTTP/1.1" 201' in log
        assert "GET /api/rooms " not in log and "GET /api/admin/connections " not in log  # ...polls are DEBUG
        assert "Press CTRL+C" not in log
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_up_keeps_its_unix_socket_switch_from_the_server(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``TCPCHAT_UNIX_SOCKET=false`` turns up's private socket off; passed on, the server child
    would read it as its ``--unix-socket`` path and listen on a file named ``false``."""
    from tcp_server.settings import ServerSettings
    from tcpchat.up import UpSettings, child_env

    monkeypatch.setenv("TCPCHAT_UNIX_SOCKET", "false")
    settings = UpSettings()
    assert settings.unix_socket is False
    env, _ = child_env(settings)
    monkeypatch.delenv("TCPCHAT_UNIX_SOCKET")
    for name, value in env.items():
        if name.startswith("TCPCHAT_"):
            monkeypatch.setenv(name, value)
    assert ServerSettings().unix_socket is None
