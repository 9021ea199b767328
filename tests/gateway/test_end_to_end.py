"""The web gateway end to end: a real chat server and a real uvicorn gateway on free loopback ports,
WebSocket clients (``websockets``) and raw TCP clients in the same rooms. Server restarts and KILL
are in ``test_reconnect.py``, the raw IRC WebSocket in ``test_raw_irc.py``."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tcp_server.server import ChatServer
from web_gateway.assets import STATIC_DIR

from ..browser import WEBIRC_PASSWORD, RunningGateway, start_gateway
from ..gateway_support import WsClient, _collect
from ..support import RawClient


async def test_web_and_tcp_users_chat_in_one_room(clients: Callable[..., Awaitable[Any]]) -> None:
    bob = await clients(tcp="bob")
    await bob.join("#lobby")
    alice = await clients(ws="alice")
    await alice.join("#lobby")
    await bob.expect("JOIN", lambda m: m.source.startswith("alice!"))

    await alice.send(type="send", room="#lobby", text="hi bob")
    echoed = await alice.expect("message", lambda e: e["self"])
    assert echoed["room"] == "#lobby" and echoed["text"] == "hi bob" and echoed["id"] and echoed["time"]
    got = await bob.expect("PRIVMSG")
    assert got.params == ("#lobby", "hi bob") and got.source.startswith("alice!")

    await bob.send("PRIVMSG #lobby :hi alice")
    heard = await alice.expect("message", lambda e: not e["self"])
    assert (heard["from"], heard["text"], heard["kind"], heard["room"]) == ("bob", "hi alice", "privmsg", "#lobby")

    await bob.send("PRIVMSG #lobby :\x01ACTION waves\x01", "PRIVMSG alice :psst")
    action = await alice.expect("message", lambda e: e["kind"] == "action")
    assert action["text"] == "waves"
    private = await alice.expect("message", lambda e: "nick" in e)
    assert private["nick"] == "bob" and private["text"] == "psst"


async def test_names_show_modes_and_membership_changes_are_seen(
    clients: Callable[..., Awaitable[Any]],
) -> None:
    bob = await clients(tcp="bob")
    await bob.join("#room")
    alice = await clients(ws="alice")
    names = await alice.join("#room")
    assert {"nick": "bob", "modes": "@"} in names["members"]
    assert {"nick": "alice", "modes": ""} in names["members"]

    carol = await clients(tcp="carol")
    await carol.join("#room")
    assert (await alice.expect("join", lambda e: e["nick"] == "carol"))["room"] == "#room"
    await carol.send("PART #room :later")
    part = await alice.expect("part")
    assert (part["nick"], part["reason"], part["self"]) == ("carol", "later", False)
    await bob.send("NICK robert")
    renamed = await alice.expect("nick")
    assert (renamed["old"], renamed["new"]) == ("bob", "robert")
    await bob.send("MODE #room +v alice")
    fresh = await alice.expect("names")  # the gateway asks the server for the new member list
    assert {"nick": "alice", "modes": "+"} in fresh["members"]
    await bob.send("TOPIC #room :be nice")
    topic = await alice.expect("topic")
    assert (topic["text"], topic["by"]) == ("be nice", "robert")
    await bob.send("QUIT :bye now")
    quit_ = await alice.expect("quit")
    assert quit_["nick"] == "robert" and "bye now" in quit_["reason"]


async def test_browser_commands_reach_tcp_users(clients: Callable[..., Awaitable[Any]]) -> None:
    bob = await clients(tcp="bob")
    await bob.join("#lobby")
    alice = await clients(ws="alice")
    await alice.join("#lobby")
    await alice.send(type="send", room="#lobby", text="waves", kind="action")
    assert (await bob.expect("PRIVMSG")).params[1] == "\x01ACTION waves\x01"
    await alice.send(type="send", nick="bob", text="private")
    assert (await bob.expect("PRIVMSG")).params == ("bob", "private")
    await alice.send(type="nick", nick="alicia")
    assert (await alice.expect("nick", lambda e: e["self"]))["new"] == "alicia"
    assert (await bob.expect("NICK")).params == ("alicia",)
    await alice.send(type="part", room="#lobby", reason="gone")
    assert (await bob.expect("PART")).params == ("#lobby", "gone")
    assert (await alice.expect("part", lambda e: e["self"]))["room"] == "#lobby"


async def test_closing_the_tab_quits_the_irc_connection(
    clients: Callable[..., Awaitable[Any]], chat: ChatServer
) -> None:
    bob = await clients(tcp="bob")
    await bob.join("#lobby")
    alice = await clients(ws="alice")
    await alice.join("#lobby")
    assert sum(1 for c in chat.state.clients.values() if c.transport == "web") == 1
    await alice.close()
    quit_ = await bob.expect("QUIT")
    assert quit_.source.startswith("alice!")
    for _ in range(100):
        if not any(c.transport == "web" for c in chat.state.clients.values()):
            break
        await asyncio.sleep(0.02)
    assert not any(c.transport == "web" for c in chat.state.clients.values())


async def test_webirc_gives_the_server_the_browser_address(
    clients: Callable[..., Awaitable[Any]], chat: ChatServer
) -> None:
    await clients(ws="alice")
    [web] = [c for c in chat.state.clients.values() if c.transport == "web"]
    assert web.nick == "alice" and web.ip == "127.0.0.1" and web.gateway


async def test_nick_in_use_is_an_error_and_another_nick_works(
    clients: Callable[..., Awaitable[Any]], gateway: RunningGateway
) -> None:
    await clients(tcp="taken")
    ws = await WsClient.open(gateway.ws_url)
    try:
        await ws.send(type="hello", nick="taken")
        err = await ws.expect("error")
        assert err["code"] == "433" and err["target"] == "taken"
        await ws.send(type="hello", nick="9lives")
        bad = await ws.expect("error")
        assert bad["code"] == "432" and bad["target"] == "9lives"
        status = await ws.hello("free")
        assert status["nick"] == "free"
    finally:
        await ws.close()


async def test_bad_input_gets_errors_and_others_are_not_interrupted(
    make_server: Callable[..., Awaitable[ChatServer]],
) -> None:
    chat = await make_server(webirc_password=WEBIRC_PASSWORD)
    gw = await start_gateway(chat.port, ws_max_frame=1024, ws_rate=1.0, ws_burst=10)
    bob = await RawClient.connect(chat.port)
    await bob.register("bob")
    await bob.join("#lobby")
    good = await WsClient.open(gw.ws_url)
    bad = await WsClient.open(gw.ws_url)
    try:
        await good.hello("good")
        await good.join("#lobby")
        await bad.hello("bad")
        await bad.join("#lobby")
        await bad.ws.send("{not json")
        assert (await bad.expect("error"))["code"] == "bad_json"
        await bad.send(type="launch_missiles")
        assert (await bad.expect("error"))["code"] == "bad_type"
        await bad.send(type="send", room="#lobby", text="x" * 5000)
        assert (await bad.expect("error"))["code"] == "too_large"
        await bad.send(type="join", room="no-hash")
        assert (await bad.expect("error"))["code"] == "bad_field"
        for i in range(30):
            await bad.send(type="send", room="#lobby", text=f"flood {i}")
        assert (await bad.expect("error", lambda e: e["code"] == "rate_limited"))["message"]
        flood_lines = []
        # The good user and the TCP user keep chatting meanwhile.
        await good.send(type="send", room="#lobby", text="still here")
        while True:
            msg = await bob.expect("PRIVMSG")
            if msg.params[1] == "still here":
                break
            flood_lines.append(msg.params[1])
        assert len(flood_lines) <= 10  # at most the burst: the rest was refused at the gateway
        await bob.send("PRIVMSG #lobby :seen?")
        assert (await good.expect("message", lambda e: e["text"] == "seen?"))["from"] == "bob"
        assert (await bad.expect("message", lambda e: e["text"] == "seen?"))["from"] == "bob"
    finally:
        for ws in (good, bad):
            await ws.close()
        await bob.close()
        await gw.stop()


async def test_commands_before_hello_are_refused(gateway: RunningGateway) -> None:
    ws = await WsClient.open(gateway.ws_url)
    try:
        await ws.send(type="join", room="#lobby")
        assert (await ws.expect("error"))["code"] == "not_connected"
    finally:
        await ws.close()


async def test_wrong_origin_is_refused(gateway: RunningGateway) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(gateway.ws_url, origin="http://evil.example"):
            pass
    assert info.value.response.status_code == 403
    own = f"http://127.0.0.1:{gateway.port}"
    async with websockets.connect(gateway.ws_url, origin=own) as ws:
        await ws.send(json.dumps({"type": "nope"}))
        assert json.loads(await ws.recv())["code"] == "bad_type"


async def test_allowed_origins_setting(chat: ChatServer) -> None:
    gw = await start_gateway(chat.port, allowed_origins="https://chat.example.org")
    try:
        async with websockets.connect(gw.ws_url, origin="https://chat.example.org") as ws:
            await ws.send(json.dumps({"type": "nope"}))
            assert json.loads(await ws.recv())["type"] == "error"
        with pytest.raises(InvalidStatus):
            async with websockets.connect(gw.ws_url, origin="https://other.example.org"):
                pass
    finally:
        await gw.stop()


async def test_page_is_served_with_a_strict_content_security_policy(gateway: RunningGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.http_url) as http:
        page = await http.get("/")
        assert page.status_code == 200 and 'id="login-form"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        for path in sorted(STATIC_DIR.glob("*.[jc]s*")):
            served = await http.get(f"/static/{path.name}")
            assert served.status_code == 200
            if path.suffix == ".js":  # user text goes in with textContent, never as markup
                assert "innerHTML" not in served.text.replace("never innerHTML", "")


async def test_a_browser_that_stops_reading_is_dropped_not_buffered(
    make_server: Callable[..., Awaitable[ChatServer]],
) -> None:
    chat = await make_server(webirc_password=WEBIRC_PASSWORD, sendq=1024 * 1024)
    gw = await start_gateway(chat.port, ws_queue=16)
    bob = await RawClient.connect(chat.port)
    await bob.register("bob")
    await bob.join("#lobby")
    stuck = await WsClient.open(gw.ws_url, max_queue=1, close_timeout=1)
    try:
        await stuck.hello("stuck")
        await stuck.join("#lobby")
        await bob.expect("JOIN", lambda m: m.source.startswith("stuck!"))
        line = "x" * 400
        for i in range(0, 100_000, 100):  # the browser reads none of this; socket buffers (MBs on loopback) fill first, then ws_queue
            await bob.send(*[f"PRIVMSG #lobby :{i + j} {line}" for j in range(100)])
            if not any(c.transport == "web" for c in chat.state.clients.values()):
                break
        quit_ = await bob.expect("QUIT", lambda m: m.source.startswith("stuck!"), timeout=20)
        assert quit_ is not None
        await bob.send("PING :still-alive")
        assert (await bob.expect("PONG")).params[-1] == "still-alive"
    finally:
        await stuck.close()
        await bob.close()
        await gw.stop()


async def test_history_on_join_and_on_request(
    make_server: Callable[..., Awaitable[ChatServer]], tmp_path: Any
) -> None:
    chat = await make_server(webirc_password=WEBIRC_PASSWORD, history=True, data_dir=tmp_path)
    gw = await start_gateway(chat.port, history_on_join=5)
    bob = await RawClient.connect(chat.port)
    await bob.register("bob", caps="echo-message")
    await bob.join("#lobby")
    for i in range(8):
        await bob.send(f"PRIVMSG #lobby :old {i}")
    await bob.expect("PRIVMSG", lambda m: m.params[1] == "old 7")  # echoed once committed to history
    alice = await WsClient.open(gw.ws_url)
    try:
        await alice.hello("alice")
        await alice.send(type="join", room="#lobby")
        hist = await alice.expect("history")
        assert hist["room"] == "#lobby"
        assert [m["text"] for m in hist["messages"]] == [f"old {i}" for i in range(3, 8)]
        assert all(m["id"] and m["from"] == "bob" for m in hist["messages"])
        await alice.send(type="history", room="#lobby", before=hist["messages"][0]["id"], limit=2)
        older = await alice.expect("history")
        assert [m["text"] for m in older["messages"]] == ["old 1", "old 2"]
    finally:
        await alice.close()
        await bob.close()
        await gw.stop()


async def test_connections_per_address_are_limited(chat: ChatServer) -> None:
    gw = await start_gateway(chat.port, ws_max_per_ip=2)
    try:
        first = await websockets.connect(gw.ws_url)
        second = await websockets.connect(gw.ws_url + "/irc", subprotocols=["text.ircv3.net"])
        with pytest.raises(InvalidStatus) as info:
            await websockets.connect(gw.ws_url)
        assert info.value.response.status_code == 403
        await first.close()
        for _ in range(100):  # the slot is free again once the bridge has ended
            if not gw.app.state.ws_counter.open.get("127.0.0.1", 0) > 1:
                break
            await asyncio.sleep(0.02)
        third = await websockets.connect(gw.ws_url)
        await third.send(json.dumps({"type": "nope"}))
        assert json.loads(await third.recv())["code"] == "bad_type"
        await third.close()
        await second.close()
    finally:
        await gw.stop()


async def test_gateway_sends_the_server_password(make_server: Callable[..., Awaitable[ChatServer]]) -> None:
    chat = await make_server(webirc_password=WEBIRC_PASSWORD, password="letmein")
    gw = await start_gateway(chat.port, password="letmein")
    alice = await WsClient.open(gw.ws_url)
    try:
        assert (await alice.hello("alice"))["nick"] == "alice"
    finally:
        await alice.close()
        await gw.stop()


def _ipv6_loopback() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
async def test_ipv6_browsers_get_a_valid_webirc_address(
    make_server: Callable[..., Awaitable[ChatServer]],
) -> None:
    chat = await make_server(webirc_password=WEBIRC_PASSWORD)
    gw = await start_gateway(chat.port, host="::1")
    try:
        ws = await WsClient.open(f"ws://[::1]:{gw.port}/ws")
        await ws.hello("six")
        [web] = [c for c in chat.state.clients.values() if c.transport == "web"]
        assert ipaddress.ip_address(web.ip) == ipaddress.ip_address("::1")
        await ws.close()
        async with websockets.connect(f"ws://[::1]:{gw.port}/ws/irc") as raw:
            await raw.send("NICK sixraw")
            await raw.send("USER sixraw 0 * :x")
            assert any(" 001 sixraw " in line for line in await _collect(raw, lambda line: " 001 " in line))
    finally:
        await gw.stop()
