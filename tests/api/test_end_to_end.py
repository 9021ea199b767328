"""The HTTP API end to end: httpx against a real uvicorn gateway and a real TCP chat server.

Every endpoint, its error statuses and its auth; a message posted through the API reaches a raw
TCP client and a browser (WebSocket) client. The admin API is in ``test_admin.py``.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable

import httpx
import websockets

from ..admin_harness import BASIC, BEARER, Stack, start_stack, stop_stack, tcp

TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- health ------------------------------------------------------------------------------------
async def test_health_reports_the_operator_link(stack: Stack) -> None:
    resp = await stack.http.get("/api/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["irc"]["connected"] is True
    assert body["irc"]["operator"] is True
    assert body["irc"]["history"] is False


async def test_tcp_server_down_gives_503_with_a_reason_not_a_hang(make_server) -> None:  # type: ignore[no-untyped-def]
    from ..browser import start_gateway

    gw = await start_gateway(free_port(), oper_password="x", admin_password="pw", api_token="t", api_timeout=2.0)
    try:
        async with httpx.AsyncClient(base_url=gw.http_url, timeout=10) as http:
            for path in ("/api/health", "/api/rooms", "/api/rooms/lobby", "/api/rooms/lobby/messages"):
                resp = await http.get(path)
                assert resp.status_code == 503, path
                assert "cannot reach the TCP chat server" in json.dumps(resp.json()), path
            resp = await http.get("/api/admin/connections", auth=httpx.BasicAuth("admin", "pw"))
            assert resp.status_code == 503
            resp = await http.post("/api/rooms/lobby/messages", json={"text": "hi"}, headers={"Authorization": "Bearer t"})
            assert resp.status_code == 503
            assert "cannot reach" in resp.json()["detail"]
    finally:
        await gw.stop()


async def test_a_server_that_never_answers_gives_503_within_the_timeout() -> None:
    """A TCP server that accepts and then says nothing (stopped, wedged): bounded, not a hang."""
    from ..browser import start_gateway

    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    mute = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = mute.sockets[0].getsockname()[1]
    gw = await start_gateway(port, oper_password="x", admin_password="pw", api_token="t", api_timeout=1.0)
    try:
        async with httpx.AsyncClient(base_url=gw.http_url, timeout=10) as http:
            for path in ("/api/health", "/api/rooms", "/api/rooms/lobby/messages"):
                resp = await http.get(path)
                assert resp.status_code == 503, path
                assert "did not answer within 1 s" in json.dumps(resp.json()), path
            resp = await http.post("/api/rooms/lobby/messages", json={"text": "hi"}, headers={"Authorization": "Bearer t"})
            assert resp.status_code == 503
    finally:
        await gw.stop()
        for writer in held:
            writer.close()
        mute.close()


async def test_tcp_server_restart_is_survived(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server)
    try:
        assert (await stack.http.get("/api/rooms")).status_code == 200
        port = stack.chat.port
        await stack.chat.shutdown()
        assert (await stack.http.get("/api/rooms")).status_code == 503
        await make_server(port=port, oper_password=stack.gateway.settings.oper_password.get_secret_value())
        resp = await stack.http.get("/api/rooms")
        assert resp.status_code == 200, resp.text
    finally:
        await stop_stack(stack)


# ---- rooms -------------------------------------------------------------------------------------
async def test_rooms_list_members_topic_modes_and_counts(stack: Stack) -> None:
    alice = await tcp(stack, "alice", "#lobby", "#dev")
    bob = await tcp(stack, "bob", "#lobby")
    await alice.send("TOPIC #lobby :Welcome all", "PRIVMSG #lobby :one", "PRIVMSG #lobby :two")
    await bob.expect("PRIVMSG", lambda m: m.params[1] == "two")
    resp = await stack.http.get("/api/rooms")
    assert resp.status_code == 200
    rooms = {r["name"]: r for r in resp.json()["rooms"]}
    assert set(rooms) == {"#lobby", "#dev"}
    assert rooms["#lobby"]["member_count"] == 2
    assert rooms["#lobby"]["topic"] == "Welcome all"
    assert rooms["#lobby"]["modes"] == "+nt"
    assert rooms["#lobby"]["messages"] == 2
    assert rooms["#dev"]["member_count"] == 1


async def test_room_detail_by_bare_or_encoded_name(stack: Stack) -> None:
    users = [await tcp(stack, "alice", "#lobby"), await tcp(stack, "bob", "#lobby")]
    for path in ("/api/rooms/lobby", "/api/rooms/%23lobby", "/api/rooms/LOBBY"):
        resp = await stack.http.get(path)
        assert resp.status_code == 200, (path, resp.text)
        detail = resp.json()
        assert detail["name"] == "#lobby"
        assert [(m["nick"], m["prefix"]) for m in detail["members"]] == [("alice", "@"), ("bob", "")]
    assert len(users) == 2


async def test_missing_room_is_404_and_bad_name_is_400(stack: Stack) -> None:
    resp = await stack.http.get("/api/rooms/nowhere")
    assert resp.status_code == 404
    assert "no room named #nowhere" in resp.json()["detail"]
    for bad in ("a%20b", "a,b", "a%07b", "x" * 80):
        resp = await stack.http.get(f"/api/rooms/{bad}")
        assert resp.status_code == 400, bad
        assert "invalid room name" in resp.json()["detail"]


async def test_secret_rooms_are_for_admins_only(make_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, server={"history": True, "data_dir": tmp_path})
    try:
        alice = await tcp(stack, "alice", "#open", "#hidden")
        await alice.send("MODE #hidden +s", "PRIVMSG #hidden :secret plans")
        await alice.expect("MODE")
        anon = [r["name"] for r in (await stack.http.get("/api/rooms")).json()["rooms"]]
        assert anon == ["#open"]
        admin = [r["name"] for r in (await stack.http.get("/api/rooms", auth=BASIC)).json()["rooms"]]
        assert admin == ["#hidden", "#open"]
        assert (await stack.http.get("/api/rooms/hidden")).status_code == 404
        assert (await stack.http.get("/api/rooms/hidden", auth=BASIC)).status_code == 200
        resp = await stack.http.get("/api/rooms/hidden/messages")
        assert resp.status_code == 404 and "secret" not in resp.text
        resp = await stack.http.get("/api/rooms/hidden/messages", auth=BASIC)
        assert [m["text"] for m in resp.json()["messages"]] == ["secret plans"]
        wrong = httpx.BasicAuth("admin", "wrong")
        assert (await stack.http.get("/api/rooms", auth=wrong)).status_code == 401
    finally:
        await stop_stack(stack)


# ---- posting -----------------------------------------------------------------------------------
async def test_posted_message_reaches_tcp_and_websocket_users(stack: Stack) -> None:
    bob = await tcp(stack, "bob", "#lobby")
    async with websockets.connect(stack.gateway.ws_url) as ws:
        await ws.send(json.dumps({"type": "hello", "nick": "carol"}))
        await ws.send(json.dumps({"type": "join", "room": "#lobby"}))

        async def ws_expect(pred: Callable[[dict], bool]) -> dict:  # type: ignore[type-arg]
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                if pred(event):
                    return event

        await ws_expect(lambda e: e["type"] == "names")
        resp = await stack.http.post("/api/rooms/lobby/messages", json={"text": "deploy finished ✓"}, headers=BEARER)
        assert resp.status_code == 201, resp.text
        posted = resp.json()
        assert posted["room"] == "#lobby"
        assert posted["from"] == "api"
        assert posted["text"] == "deploy finished ✓"
        assert posted["id"] and posted["time"]

        got = await bob.expect("PRIVMSG", lambda m: m.params[1] == "deploy finished ✓")
        assert got.source.startswith("api!")
        event = await ws_expect(lambda e: e["type"] == "message" and e.get("text") == "deploy finished ✓")
        assert event["from"] == "api"
        assert event["id"] == posted["id"]


async def test_post_needs_the_bearer_token(stack: Stack) -> None:
    bob = await tcp(stack, "bob", "#lobby")
    url = "/api/rooms/lobby/messages"
    resp = await stack.http.post(url, json={"text": "hi"})
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Bearer")
    resp = await stack.http.post(url, json={"text": "hi"}, headers={"Authorization": "Bearer wrong"})
    assert resp.status_code == 401
    assert resp.json()["detail"] == "wrong API token"
    resp = await stack.http.post(url, json={"text": "hi"}, auth=BASIC)
    assert resp.status_code == 401
    await bob.close()


async def test_post_errors_404_422_and_403(stack: Stack) -> None:
    alice = await tcp(stack, "alice", "#lobby", "#locked")
    resp = await stack.http.post("/api/rooms/nowhere/messages", json={"text": "hi"}, headers=BEARER)
    assert resp.status_code == 404
    for body in ({}, {"text": ""}, {"text": "two\r\nlines"}, {"text": "x" * 401}, {"text": "   "}):
        resp = await stack.http.post("/api/rooms/lobby/messages", json=body, headers=BEARER)
        assert resp.status_code == 422, body
        assert resp.json()["detail"]
    resp = await stack.http.post(
        "/api/rooms/lobby/messages", content=b"not json", headers={**BEARER, "content-type": "application/json"}
    )
    assert resp.status_code == 422
    await alice.send("MODE #locked +i")
    await alice.expect("MODE")
    resp = await stack.http.post("/api/rooms/locked/messages", json={"text": "hi"}, headers=BEARER)
    assert resp.status_code == 403
    assert "invite-only" in resp.json()["detail"]


async def test_oversized_bodies_are_413_without_being_read(stack: Stack) -> None:
    bob = await tcp(stack, "bob", "#lobby")
    big = b'{"text": "' + b"x" * 100_000 + b'"}'
    resp = await stack.http.post(
        "/api/rooms/lobby/messages", content=big, headers={**BEARER, "content-type": "application/json"}
    )
    assert resp.status_code == 413
    assert resp.json() == {"detail": "request body too large: at most 16384 bytes"}
    resp = await stack.http.post("/admin/login", data={"password": "x" * 100_000})
    assert resp.status_code == 413
    assert "too large" in resp.json()["detail"]
    await bob.close()


async def test_post_moderated_room_is_403(stack: Stack) -> None:
    alice = await tcp(stack, "alice", "#quiet")
    assert (await stack.http.post("/api/rooms/quiet/messages", json={"text": "a"}, headers=BEARER)).status_code == 201
    await alice.send("MODE #quiet +m")
    await alice.expect("MODE")
    resp = await stack.http.post("/api/rooms/quiet/messages", json={"text": "b"}, headers=BEARER)
    assert resp.status_code == 403
    assert "refused the message" in resp.json()["detail"]


async def test_post_after_being_kicked_rejoins(stack: Stack) -> None:
    alice = await tcp(stack, "alice", "#lobby")
    assert (await stack.http.post("/api/rooms/lobby/messages", json={"text": "a"}, headers=BEARER)).status_code == 201
    await alice.send("KICK #lobby api :out")
    await alice.expect("KICK")
    resp = await stack.http.post("/api/rooms/lobby/messages", json={"text": "back"}, headers=BEARER)
    assert resp.status_code == 201
    await alice.expect("PRIVMSG", lambda m: m.params[1] == "back")


async def test_post_survives_the_api_user_being_killed(stack: Stack) -> None:
    bob = await tcp(stack, "bob", "#lobby")
    assert (await stack.http.post("/api/rooms/lobby/messages", json={"text": "1"}, headers=BEARER)).status_code == 201
    data = (await stack.http.get("/api/admin/connections", auth=BASIC)).json()
    api_id = next(c["id"] for c in data["connections"] if c["nick"] == "api")
    assert (await stack.http.delete(f"/api/admin/connections/{api_id}", auth=BASIC)).status_code == 200
    await bob.expect("QUIT", lambda m: m.source.startswith("api!"))
    resp = await stack.http.post("/api/rooms/lobby/messages", json={"text": "2"}, headers=BEARER)
    assert resp.status_code == 201, resp.text
    await bob.expect("PRIVMSG", lambda m: m.params[1] == "2" and m.source.startswith("api!"))


async def test_post_when_the_api_nick_is_taken_uses_a_fallback(stack: Stack) -> None:
    squatter = await tcp(stack, "api", "#lobby")
    resp = await stack.http.post("/api/rooms/lobby/messages", json={"text": "hi"}, headers=BEARER)
    assert resp.status_code == 201
    assert resp.json()["from"] == "api_"
    await squatter.expect("PRIVMSG", lambda m: m.source.startswith("api_!"))


async def test_post_rate_limit_is_429(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, api_post_rate=0.01, api_post_burst=2)
    try:
        bob = await tcp(stack, "bob", "#lobby")
        codes = []
        for i in range(4):
            resp = await stack.http.post("/api/rooms/lobby/messages", json={"text": f"m{i}"}, headers=BEARER)
            codes.append(resp.status_code)
        assert codes == [201, 201, 429, 429]
        assert resp.headers["retry-after"]
        assert "slow down" in resp.json()["detail"]
        await bob.close()
    finally:
        await stop_stack(stack)


async def test_post_is_403_when_no_token_is_configured(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, api_token=None)
    try:
        resp = await stack.http.post("/api/rooms/lobby/messages", json={"text": "hi"}, headers=BEARER)
        assert resp.status_code == 403
        assert "TCPCHAT_API_TOKEN" in resp.json()["detail"]
    finally:
        await stop_stack(stack)


# ---- history -----------------------------------------------------------------------------------
async def test_history_off_is_503_with_reason(stack: Stack) -> None:
    resp = await stack.http.get("/api/rooms/lobby/messages")
    assert resp.status_code == 503
    assert "history is off" in resp.json()["detail"]


async def test_history_latest_before_after_and_bad_input(make_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, server={"history": True, "data_dir": tmp_path})
    try:
        alice = await tcp(stack, "alice", "#log")
        await alice.send("CAP REQ :echo-message message-tags")
        await alice.expect("CAP")
        for i in range(5):
            await alice.send(f"PRIVMSG #log :line {i}")
            await alice.expect("PRIVMSG", lambda m, i=i: m.params[1] == f"line {i}")
        await alice.send("PRIVMSG #log :\x01ACTION waves\x01")
        await alice.expect("PRIVMSG", lambda m: "waves" in m.params[1])
        resp = await stack.http.get("/api/rooms/log/messages")
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert page["room"] == "#log"
        texts = [m["text"] for m in page["messages"]]
        assert texts == [f"line {i}" for i in range(5)] + ["waves"]
        assert page["messages"][-1]["kind"] == "action"
        assert all(m["from"] == "alice" and m["id"] and m["time"] for m in page["messages"])
        ids = [m["id"] for m in page["messages"]]

        resp = await stack.http.get("/api/rooms/log/messages", params={"before": ids[3], "limit": 2})
        assert [m["text"] for m in resp.json()["messages"]] == ["line 1", "line 2"]
        resp = await stack.http.get("/api/rooms/log/messages", params={"after": ids[3]})
        assert [m["text"] for m in resp.json()["messages"]] == ["line 4", "waves"]
        resp = await stack.http.get("/api/rooms/log/messages", params={"after": ids[0], "before": ids[3]})
        assert [m["text"] for m in resp.json()["messages"]] == ["line 1", "line 2"]
        resp = await stack.http.get("/api/rooms/log/messages", params={"after": "2000-01-01T00:00:00Z", "limit": 1})
        assert [m["text"] for m in resp.json()["messages"]] == ["line 0"]

        assert (await stack.http.get("/api/rooms/log/messages", params={"limit": 0})).status_code == 422
        assert (await stack.http.get("/api/rooms/log/messages", params={"limit": "x"})).status_code == 422
        resp = await stack.http.get("/api/rooms/log/messages", params={"before": "no spaces allowed"})
        assert resp.status_code == 400
        resp = await stack.http.get("/api/rooms/log/messages", params={"before": "unknown-id"})
        assert resp.status_code == 400
        assert "refused" in resp.json()["detail"]
        # a members-only room's history is for admins; so is a room everyone has left
        await alice.send("MODE #log +i")
        await alice.expect("MODE")
        assert (await stack.http.get("/api/rooms/log/messages")).status_code == 404
        resp = await stack.http.get("/api/rooms/log/messages", params={"limit": 1}, auth=BASIC)
        assert [m["text"] for m in resp.json()["messages"]] == ["waves"]
        await alice.send("PART #log")
        await alice.expect("PART")
        resp = await stack.http.get("/api/rooms/log/messages", params={"limit": 1})
        assert resp.status_code == 404
        assert "no public room" in resp.json()["detail"]
        resp = await stack.http.get("/api/rooms/log/messages", params={"limit": 1}, auth=BASIC)
        assert [m["text"] for m in resp.json()["messages"]] == ["waves"]
    finally:
        await stop_stack(stack)


# ---- gateway metrics and schema ------------------------------------------------------------------
async def test_gateway_metrics(stack: Stack) -> None:
    bob = await tcp(stack, "bob", "#lobby")
    assert (await stack.http.post("/api/rooms/lobby/messages", json={"text": "x"}, headers=BEARER)).status_code == 201
    await stack.http.get("/api/rooms/nowhere")
    resp = await stack.http.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert "tcpchat_gateway_api_messages_posted_total 1.0" in text
    assert 'tcpchat_gateway_http_requests_total{method="GET",route="/api/rooms/{room}",status="404"} 1.0' in text
    assert 'tcpchat_gateway_irc_link_up{link="oper"} 1.0' in text
    await bob.close()


async def test_openapi_schema_lists_the_api(stack: Stack) -> None:
    schema = (await stack.http.get("/api/openapi.json")).json()
    paths = schema["paths"]
    for path in (
        "/api/health", "/api/rooms", "/api/rooms/{room}", "/api/rooms/{room}/messages",
        "/api/admin/connections", "/api/admin/connections/{conn_id}",
    ):
        assert path in paths, path
    assert "post" in paths["/api/rooms/{room}/messages"]
    assert "delete" in paths["/api/admin/connections/{conn_id}"]
    assert not any(p.startswith("/admin") for p in paths)
