"""The admin HTTP API end to end: httpx against a real uvicorn gateway and a real TCP chat server.

Listing and killing connections and their auth, the auth and query rate limits, and what the API
says when the admin password, the operator credentials or the server password are missing or wrong.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from ..admin_harness import BASIC, BEARER, Stack, start_stack, stop_stack, tcp
from ..support import TIMEOUT, RawClient


# ---- admin API ---------------------------------------------------------------------------------
async def test_connections_need_admin_auth(stack: Stack) -> None:
    resp = await stack.http.get("/api/admin/connections")
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Basic")
    resp = await stack.http.get("/api/admin/connections", auth=httpx.BasicAuth("admin", "nope"))
    assert resp.status_code == 401
    resp = await stack.http.get("/api/admin/connections", headers=BEARER)
    assert resp.status_code == 401
    resp = await stack.http.delete("/api/admin/connections/1")
    assert resp.status_code == 401


async def test_connections_list_every_socket_with_totals(stack: Stack) -> None:
    alice = await tcp(stack, "alice", "#lobby")
    raw = await RawClient.connect(stack.chat.port)  # not registered yet: listed too
    await raw.send("NICK half")
    await alice.send("PRIVMSG #lobby :hi")
    local_port = alice.writer.get_extra_info("sockname")[1]
    resp = await stack.http.get("/api/admin/connections", auth=BASIC)
    assert resp.status_code == 200
    data = resp.json()
    by_nick = {c["nick"]: c for c in data["connections"]}
    assert {"alice", "tcpchat-admin"} <= set(by_nick)
    a = by_nick["alice"]
    assert a["ip"] == "127.0.0.1" and a["port"] == local_port
    assert a["address"] == f"127.0.0.1:{local_port}"
    assert a["transport"] == "tcp" and a["registered"] is True
    assert a["channels"] == ["#lobby"]
    assert a["messages_in"] >= 3 and a["bytes_in"] > 0 and a["bytes_out"] > 0
    assert by_nick["tcpchat-admin"]["admin_link"] is True and by_nick["tcpchat-admin"]["oper"] is True
    unregistered = [c for c in data["connections"] if not c["registered"]]
    assert len(unregistered) == 1
    t = data["totals"]
    assert t["connections"] == len(data["connections"])
    assert t["registered"] == len(data["connections"]) - 1
    assert t["bytes_in"] == sum(c["bytes_in"] for c in data["connections"])
    assert t["by_transport"]["tcp"] >= 3
    await raw.close()


async def test_web_users_show_their_real_address_and_web_transport(stack: Stack) -> None:
    async with websockets.connect(stack.gateway.ws_url) as ws:
        await ws.send(json.dumps({"type": "hello", "nick": "webby"}))
        while json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)).get("state") != "connected":
            pass
        data = (await stack.http.get("/api/admin/connections", auth=BASIC)).json()
        webby = next(c for c in data["connections"] if c["nick"] == "webby")
        assert webby["transport"] == "web"
        assert webby["ip"] == "127.0.0.1"
        assert webby["gateway"]


async def test_tls_users_are_listed_with_tls_transport(make_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    stack = await start_stack(make_server, server={"tls_port": 0, "tls_cert": cert, "tls_key": key})
    try:
        tls_port = next(p for _, p, kind in stack.chat.addresses if kind == "tls")
        ctx = ssl.create_default_context(cafile=str(cert))
        reader, writer = await asyncio.open_connection("127.0.0.1", tls_port, ssl=ctx)
        secure = await RawClient(reader, writer).register("secure")
        data = (await stack.http.get("/api/admin/connections", auth=BASIC)).json()
        entry = next(c for c in data["connections"] if c["nick"] == "secure")
        assert entry["transport"] == "tls"
        assert data["totals"]["by_transport"]["tls"] == 1
        await secure.close()
    finally:
        await stop_stack(stack)


async def test_kill_disconnects_with_reason_and_the_list_forgets_it(stack: Stack) -> None:
    bob = await tcp(stack, "bob", "#lobby")
    data = (await stack.http.get("/api/admin/connections", auth=BASIC)).json()
    bob_id = next(c["id"] for c in data["connections"] if c["nick"] == "bob")
    resp = await stack.http.delete(f"/api/admin/connections/{bob_id}", params={"reason": "spamming"}, auth=BASIC)
    assert resp.status_code == 200
    assert resp.json() == {"id": bob_id, "nick": "bob", "reason": "spamming"}
    # gone from the list at once (no waiting)
    data = (await stack.http.get("/api/admin/connections", auth=BASIC)).json()
    assert "bob" not in {c["nick"] for c in data["connections"]}
    lines = await bob.read_until_closed()
    error = next(m for m in lines if m.command == "ERROR")
    assert "spamming" in error.params[0]


async def test_kill_errors_404_409_422(stack: Stack) -> None:
    resp = await stack.http.delete("/api/admin/connections/99999", auth=BASIC)
    assert resp.status_code == 404
    assert "no connection with id 99999" in resp.json()["detail"]
    data = (await stack.http.get("/api/admin/connections", auth=BASIC)).json()
    own = next(c["id"] for c in data["connections"] if c["admin_link"])
    resp = await stack.http.delete(f"/api/admin/connections/{own}", auth=BASIC)
    assert resp.status_code == 409
    assert (await stack.http.delete("/api/admin/connections/abc", auth=BASIC)).status_code == 422
    for unknown in ("0", "-1"):  # ids below zero are users on other cluster nodes: none here
        assert (await stack.http.delete(f"/api/admin/connections/{unknown}", auth=BASIC)).status_code == 404
    resp = await stack.http.delete(f"/api/admin/connections/{own}", params={"reason": "a\nb"}, auth=BASIC)
    assert resp.status_code == 422


async def test_basic_auth_failures_are_rate_limited(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, admin_login_attempts=3)
    try:
        wrong = httpx.BasicAuth("admin", "guess")
        codes = [(await stack.http.get("/api/admin/connections", auth=wrong)).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        resp = await stack.http.get("/api/admin/connections", auth=BASIC)
        assert resp.status_code == 429  # even the right password waits out the window
        assert int(resp.headers["retry-after"]) >= 1
    finally:
        await stop_stack(stack)


async def test_api_queries_are_rate_limited_per_address(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, api_read_rate=0.01, api_read_burst=3)
    try:
        codes = [(await stack.http.get("/api/rooms")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        resp = await stack.http.get("/api/health")
        assert resp.status_code == 429
        assert int(resp.headers["retry-after"]) >= 1
        assert "too many API queries" in resp.json()["detail"]
    finally:
        await stop_stack(stack)


async def test_admin_api_is_403_when_admin_is_off(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, admin_password=None)
    try:
        resp = await stack.http.get("/api/admin/connections", auth=BASIC)
        assert resp.status_code == 403
        assert "TCPCHAT_ADMIN_PASSWORD" in resp.json()["detail"]
    finally:
        await stop_stack(stack)


async def test_admin_data_is_503_without_operator_credentials(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, oper_password=None)
    try:
        resp = await stack.http.get("/api/admin/connections", auth=BASIC)
        assert resp.status_code == 503
        assert "TCPCHAT_OPER_PASSWORD" in resp.json()["detail"]
        assert (await stack.http.get("/api/rooms")).status_code == 200  # LIST works for anyone
        resp = await stack.http.get("/api/rooms/lobby/messages")
        assert resp.status_code == 503  # history off here anyway: that is said first
        assert "history is off" in resp.json()["detail"]
    finally:
        await stop_stack(stack)


async def test_history_without_operator_credentials_says_so(make_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, server={"history": True, "data_dir": tmp_path}, oper_password=None)
    try:
        alice = await tcp(stack, "alice", "#lobby")
        resp = await stack.http.get("/api/rooms/lobby/messages")
        assert resp.status_code == 503
        assert "TCPCHAT_OPER_PASSWORD" in resp.json()["detail"]
        await alice.close()
    finally:
        await stop_stack(stack)


async def test_wrong_operator_password_is_503_with_reason(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, oper_password="not-the-servers")
    try:
        resp = await stack.http.get("/api/admin/connections", auth=BASIC)
        assert resp.status_code == 503
        assert "refused the gateway's OPER" in resp.json()["detail"]
        health = await stack.http.get("/api/health")
        assert health.status_code == 503
        assert "OPER" in health.json()["irc"]["reason"]
    finally:
        await stop_stack(stack)


async def test_server_connection_password_is_used_and_its_absence_explained(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, server={"password": "letmein"}, password="letmein")
    try:
        assert (await stack.http.get("/api/admin/connections", auth=BASIC)).status_code == 200
    finally:
        await stop_stack(stack)
    stack = await start_stack(make_server, server={"password": "letmein"})
    try:
        resp = await stack.http.get("/api/rooms")
        assert resp.status_code == 503
        assert "TCPCHAT_PASSWORD" in resp.json()["detail"]
    finally:
        await stop_stack(stack)
