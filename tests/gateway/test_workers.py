"""``tcpchat gateway --workers 2``: two processes on one web port; chat and the admin API work
whichever worker a browser (or an admin) lands on."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from websockets.exceptions import InvalidStatus

from tcp_server.server import ChatServer

from ..browser import WEBIRC_PASSWORD
from ..gateway_support import WsClient
from ..support import ROOT, RawClient

OPER_PASSWORD = "workers-oper-secret"
USERS = 6


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                out.append(int(entry.name))
    return out


async def test_two_workers_share_the_port_and_both_serve_chat_and_admin(
    make_server: Callable[..., Awaitable[ChatServer]],
) -> None:
    chat = await make_server(webirc_password=WEBIRC_PASSWORD, oper_password=OPER_PASSWORD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCPCHAT_")}
    env.update({"TCPCHAT_WEBIRC_PASSWORD": WEBIRC_PASSWORD, "TCPCHAT_OPER_PASSWORD": OPER_PASSWORD,
                "TCPCHAT_ADMIN_PASSWORD": "pw", "TCPCHAT_LOG_LEVEL": "WARNING", "TCPCHAT_USE_UVLOOP": "false"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tcpchat", "gateway", "--port", "0", "--irc-port", str(chat.port),
        "--workers", "2", stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
    )
    users: list[WsClient] = []
    bob = await RawClient.connect(chat.port)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        port = int(re.search(rb"listening on [^ ]+:(\d+)", line).group(1))  # type: ignore[union-attr]
        await bob.register("bob")
        await bob.join("#lobby")
        for i in range(USERS):
            # two source addresses: each is pinned to one worker, so both workers serve users
            user = await WsClient.open(f"ws://127.0.0.1:{port}/ws", local_addr=(f"127.0.0.{1 + i % 2}", 0))
            users.append(user)
            await user.hello(f"web{i}")
            await user.join("#lobby")
        assert len(_children(proc.pid)) >= 2  # the workers (plus multiprocessing's helper)
        await bob.send("PRIVMSG #lobby :hello everyone")
        for user in users:
            await user.expect("message", lambda e: e["text"] == "hello everyone")
        assert sum(1 for c in chat.state.clients.values() if c.transport == "web") == USERS
        for source in ("127.0.0.1", "127.0.0.2"):  # one address per worker
            transport = httpx.AsyncHTTPTransport(local_address=source)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", auth=("admin", "pw"),
                                         timeout=10, transport=transport) as http:
                resp = await http.get("/api/admin/connections", headers={"Connection": "close"})
                assert resp.status_code == 200, resp.text
                assert "web0" in resp.text and "web1" in resp.text and "bob" in resp.text
    finally:
        for user in users:
            await user.close()
        await bob.close()
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)


async def test_per_address_limits_hold_across_workers(
    make_server: Callable[..., Awaitable[ChatServer]],
) -> None:
    """Every connection from one address reaches the same worker, which counts them all: with two
    workers, ``--ws-max-per-ip 2`` still means two per address (each worker counted its own
    before, so an address got up to four)."""
    chat = await make_server(webirc_password=WEBIRC_PASSWORD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCPCHAT_")}
    env.update({"TCPCHAT_WEBIRC_PASSWORD": WEBIRC_PASSWORD, "TCPCHAT_LOG_LEVEL": "WARNING",
                "TCPCHAT_USE_UVLOOP": "false"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tcpchat", "gateway", "--port", "0", "--irc-port", str(chat.port),
        "--workers", "2", "--ws-max-per-ip", "2", stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
    )
    opened: list[WsClient] = []
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        port = int(re.search(rb"listening on [^ ]+:(\d+)", line).group(1))  # type: ignore[union-attr]
        await asyncio.sleep(3)  # both workers accepting (the limit is only at risk once two are)
        outcomes: dict[str, list[bool]] = {}
        for source in ["127.0.0.1"] * 4 + ["127.0.0.2"] * 4:
            try:
                opened.append(await WsClient.open(f"ws://127.0.0.1:{port}/ws", local_addr=(source, 0), open_timeout=30))
                outcomes.setdefault(source, []).append(True)
            except InvalidStatus as exc:
                assert exc.response.status_code == 403
                outcomes.setdefault(source, []).append(False)
        assert outcomes == {"127.0.0.1": [True, True, False, False], "127.0.0.2": [True, True, False, False]}
    finally:
        for user in opened:
            await user.close()
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
