"""One gateway in front of three cluster nodes (real redis-server, PostgreSQL, uvicorn, Chromium).

Browsers land on different nodes (round robin), chat with a TCP user on a fourth connection; a node
is SIGKILLed: new browsers skip it, its browser user reconnects onto a live node, gets what was said
meanwhile from the shared history (gap fill) and keeps chatting; the admin API and page list every
node's connections with their node, and /api/health shows the dead node down.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tcp_server.server import ChatServer

from ..admin_harness import ADMIN_PASSWORD, BASIC, OPER_PASSWORD
from ..browser import (
    WEBIRC_PASSWORD,
    RunningGateway,
    launch_browser,
    new_page,
    requires_chromium,
    screenshot,
    start_gateway,
)
from ..gateway_support import WsClient
from ..postgres import fresh_pg_url
from ..support import RawClient, ServerProcess, sync
from .support import NODE

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
TTL = NODE["cluster_heartbeat_ttl"]
WAIT_MS = 10_000
BROWSER_IP = "127.0.0.2"
"""The browsers connect from this loopback address, so a node that took the gateway's WEBIRC
records it (and one that refused it would show the gateway's 127.0.0.1)."""
SECRETS = {"oper_password": OPER_PASSWORD, "webirc_password": WEBIRC_PASSWORD}
GATEWAY = {"oper_password": OPER_PASSWORD, "admin_password": ADMIN_PASSWORD, "api_timeout": 3.0,
           "reconnect_initial": 1.0, "reconnect_max": 1.0, "history_on_join": 0}
"""reconnect_initial 1.0: a dropped session waits 0.5-1 s before it reconnects, so what is said
right after the drop is certainly said while it is away (the gap its rejoin must fill)."""


async def _browser(gw: RunningGateway, nick: str, opened: list[WsClient]) -> WsClient:
    ws = await WsClient.open(gw.ws_url, local_addr=(BROWSER_IP, 0))
    opened.append(ws)
    await ws.hello(nick)
    return ws


async def _connections(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    resp = await http.get("/api/admin/connections", auth=BASIC)
    assert resp.status_code == 200, resp.text
    return {c["nick"]: c for c in resp.json()["connections"]}


async def _said(ws: WsClient, text: str) -> dict[str, Any]:
    """The message event with ``text``, received already or next (lines of several nodes may
    come in any order)."""
    for event in ws.seen:
        if event["type"] == "message" and event.get("text") == text:
            return event
    return await ws.expect("message", lambda e: e.get("text") == text)


@pytest.fixture
async def opened() -> AsyncIterator[list[WsClient]]:
    clients: list[WsClient] = []
    yield clients
    for c in clients:
        await c.close()


async def test_three_upstreams_spread_browsers_survive_a_node_kill_and_show_nodes(
    cluster, redis_server, pg_socket_dir, tmp_path: Path, opened: list[WsClient]
) -> None:
    url = await fresh_pg_url(pg_socket_dir)
    a: ChatServer = await cluster(history=True, database_url=url, data_dir=tmp_path, **SECRETS)
    b: ChatServer = await cluster(history=True, database_url=url, data_dir=tmp_path, **SECRETS)
    doomed = ServerProcess(
        "--redis-url", redis_server.url, "--node-id", "n3", "--server-name", "n3.tcpchat.local",
        "--database-url", url, "--data-dir", str(tmp_path), "--flood-rate", "0",
        "--cluster-heartbeat-ttl", str(TTL), "--cluster-reconnect-interval", "0.2", "--no-use-uvloop",
        env={"TCPCHAT_OPER_PASSWORD": OPER_PASSWORD, "TCPCHAT_WEBIRC_PASSWORD": WEBIRC_PASSWORD},
    ).start()
    ports = {"n1": a.port, "n2": b.port, "n3": doomed.port}
    upstreams = ",".join(f"127.0.0.1:{p}" for p in ports.values())
    gw = await start_gateway(a.port, upstreams=upstreams, **GATEWAY)
    http = httpx.AsyncClient(base_url=gw.http_url, timeout=10)
    try:
        # three browsers, three nodes (round robin), every node took the gateway's WEBIRC
        webs = [await _browser(gw, f"w{i}", opened) for i in (1, 2, 3)]
        tcp = await (await RawClient.connect(a.port)).register("tcp1", caps="message-tags server-time")
        listing = await _connections(http)
        assert {listing[f"w{i}"]["node"] for i in (1, 2, 3)} == {"n1", "n2", "n3"}
        assert listing["tcp1"]["node"] == "n1" and listing["tcp1"]["transport"] == "tcp"
        assert all(listing[f"w{i}"]["ip"] == BROWSER_IP for i in (1, 2, 3)), listing

        # one room across the three nodes and the TCP user
        await tcp.join("#room")
        for ws in webs:
            await ws.join("#room")
        await sync(tcp)
        texts = [f"hi from w{i}" for i in (1, 2, 3)]
        for ws, text in zip(webs, texts, strict=True):
            await ws.send(type="send", room="#room", text=text)
        heard = {(await tcp.expect("PRIVMSG")).params[1] for _ in texts}
        assert heard == set(texts)
        for text in texts:
            for ws in webs:
                await _said(ws, text)

        # SIGKILL the node of one browser: it reconnects onto a live node and fills the gap
        victim_nick = next(f"w{i}" for i in (1, 2, 3) if listing[f"w{i}"]["node"] == "n3")
        victim = webs[int(victim_nick[1:]) - 1]
        survivors = [ws for ws in webs if ws is not victim]
        doomed.stop(signal.SIGKILL)
        await victim.expect("status", lambda e: e["state"] == "reconnecting")
        gap = [f"said while away {k}" for k in range(3)]
        await tcp.send(*(f"PRIVMSG #room :{t}" for t in gap))
        filled = await victim.expect("history", lambda e: e["room"] == "#room")  # the rejoin's gap fill
        assert [m["text"] for m in filled["messages"] if m["text"] in gap] == gap
        await victim.expect("status", lambda e: e["state"] == "connected")
        live = [e["text"] for e in victim.seen if e["type"] == "message"]
        assert not set(gap) & set(live)  # each line once: from the fill, not again live
        await victim.send(type="send", room="#room", text="back on a live node")
        await tcp.expect("PRIVMSG", lambda m: m.params[1] == "back on a live node")
        for ws in survivors:
            await _said(ws, "back on a live node")

        # new browsers skip the dead node; the admin API lists both live nodes' users, by node
        for i in (1, 2, 3):
            await _browser(gw, f"late{i}", opened)
        listing = await _connections(http)
        assert {listing[f"late{i}"]["node"] for i in (1, 2, 3)} == {"n1", "n2"}
        # the victim on a live node, as ``wN_`` until the dead node's claim on ``wN`` lapses, then
        # ``wN`` again (the dead node's own ``wN`` is listed under n3 until the claim lapses)
        moved = [c for n, c in listing.items() if n.rstrip("_") == victim_nick and c["node"] != "n3"]
        assert len(moved) == 1 and moved[0]["node"] in ("n1", "n2") and moved[0]["ip"] == BROWSER_IP

        health = (await http.get("/api/health")).json()
        states = {u["address"]: u for u in health["upstreams"]}
        assert health["status"] == "ok"
        assert states[f"127.0.0.1:{ports['n3']}"]["state"] == "down"
        assert states[f"127.0.0.1:{ports['n3']}"]["down_since"] is not None
        assert states[f"127.0.0.1:{ports['n1']}"]["state"] == states[f"127.0.0.1:{ports['n2']}"]["state"] == "up"
        await tcp.close()
    finally:
        await http.aclose()
        await gw.stop()
        doomed.stop(signal.SIGKILL)


@requires_chromium
@pytest.mark.browser
async def test_admin_page_shows_each_connections_node_and_the_upstreams(
    cluster, opened: list[WsClient]
) -> None:
    a: ChatServer = await cluster(**SECRETS)
    b: ChatServer = await cluster(**SECRETS)
    with socket.socket() as s:  # a node that is configured but not running
        s.bind(("127.0.0.1", 0))
        gone = s.getsockname()[1]
    upstreams = f"127.0.0.1:{a.port},127.0.0.1:{b.port},127.0.0.1:{gone}"
    gw = await start_gateway(a.port, upstreams=upstreams, admin_poll_interval=0.3, **GATEWAY)
    try:
        for nick in ("ann", "bea"):
            await _browser(gw, nick, opened)
        async with launch_browser() as browser:
            page = await new_page(browser, gw.http_url + "/admin")
            await page.fill("#password", ADMIN_PASSWORD)
            await page.click("#login-button")
            await page.wait_for_selector("#connections", timeout=WAIT_MS)
            assert await page.locator("#node-col").is_visible()
            nodes = {}
            for nick in ("ann", "bea"):
                row = page.locator(f'#connections tr[data-nick="{nick}"]')
                await row.wait_for(timeout=WAIT_MS)
                nodes[nick] = await row.locator("td.node").text_content()
            assert set(nodes.values()) == {"n1", "n2"}  # one browser per live node, shown per row
            dead = page.locator(f'#upstreams .upstream.down[data-address="127.0.0.1:{gone}"]')
            await dead.wait_for(timeout=WAIT_MS)  # the configured node that is not running
            assert "down since" in await dead.text_content()
            assert "n1" in await page.text_content("#totals") and "n2" in await page.text_content("#totals")
            await screenshot(page, "admin-cluster.png")
    finally:
        await gw.stop()


async def test_admin_kills_a_user_on_another_node(cluster, opened: list[WsClient]) -> None:
    a: ChatServer = await cluster(**SECRETS)
    b: ChatServer = await cluster(**SECRETS)
    gw = await start_gateway(a.port, upstreams=f"127.0.0.1:{a.port},127.0.0.1:{b.port}", **GATEWAY)
    http = httpx.AsyncClient(base_url=gw.http_url, timeout=10)
    try:
        near, far = await _browser(gw, "near", opened), await _browser(gw, "far", opened)
        listing = await _connections(http)  # the admin link takes the next node: a, where "near" is
        assert (listing["near"]["node"], listing["far"]["node"]) == ("n1", "n2")
        assert listing["far"]["id"] < 0  # listed by a's stand-in for it
        resp = await http.delete(f"/api/admin/connections/{listing['far']['id']}", params={"reason": "spam"}, auth=BASIC)
        assert resp.status_code == 200, resp.text
        # Its node sends the KILL line then ERROR, as for a local kill: the page stops (no
        # reconnect) and shows the kill's reason.
        dropped = await far.expect("status", lambda e: e["state"] in ("reconnecting", "closed"))
        assert dropped["state"] == "closed", dropped
        assert dropped["reason"] == "killed: spam"
        assert all(e.get("state") in (None, "connecting", "connected") for e in near.seen)
    finally:
        await http.aclose()
        await gw.stop()
