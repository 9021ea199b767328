"""Accounts through the web gateway (real server with accounts, real uvicorn, WebSocket clients):
create an account from a hello, sign in from another socket, wrong passwords, the private
conversations and read markers a signed-in page gets back, registering a room, reconnects that
log in again, and no password in the logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tcp_client.config import SessionConfig
from tcp_client.protocol import ClientProtocol
from tcp_server.protocol import parse_line
from tcp_server.server import ChatServer
from web_gateway.commands import CommandError, Hello, parse_command

from ..accounts_support import ACCOUNTS
from ..browser import WEBIRC_PASSWORD, RunningGateway, start_gateway
from ..gateway_support import WsClient
from ..support import RawClient

PW = "correct horse battery"


@pytest.fixture
async def chat(make_server: Callable[..., Awaitable[ChatServer]], tmp_path: Any) -> ChatServer:
    return await make_server(webirc_password=WEBIRC_PASSWORD, data_dir=tmp_path, **ACCOUNTS)


@pytest.fixture
async def gateway(chat: ChatServer) -> AsyncIterator[RunningGateway]:
    gw = await start_gateway(chat.port)
    yield gw
    await gw.stop()


@pytest.fixture
async def ws(gateway: RunningGateway) -> AsyncIterator[Callable[[], Awaitable[WsClient]]]:
    opened: list[WsClient] = []

    async def factory() -> WsClient:
        opened.append(await WsClient.open(gateway.ws_url))
        return opened[-1]

    yield factory
    for c in opened:
        await c.close()


async def sign_up(ws: Callable[[], Awaitable[WsClient]], nick: str) -> WsClient:
    c = await ws()
    await c.send(type="hello", nick=nick, password=PW, register=True)
    assert (await c.expect("account"))["account"] == nick
    await c.expect("status", lambda e: e["state"] == "connected")
    return c


def test_hello_account_fields_are_validated() -> None:
    hello = parse_command('{"type":"hello","account":"alice","password":"pw"}', 4096)
    assert hello == Hello("alice", "alice", "pw") and "pw" not in repr(hello)
    assert isinstance(parse_command('{"type":"hello","nick":"a","password":"pw"}', 4096), CommandError)
    both = '{"type":"hello","account":"a","password":"pw","register":true}'
    assert isinstance(parse_command(both, 4096), CommandError)
    assert isinstance(parse_command('{"type":"hello","nick":"a","register":true}', 4096), CommandError)
    assert parse_command('{"type":"hello","nick":"a"}', 4096) == Hello("a")


def test_a_session_that_registered_logs_in_on_its_next_connection() -> None:
    core = ClientProtocol(SessionConfig("127.0.0.1", 6667, "alice"))
    core.remember_login("alice", PW)
    core.connection_made()
    core.data_to_send()
    core.receive_message(parse_line(b":srv CAP * LS :sasl message-tags"))
    assert b"sasl" in core.data_to_send()
    core.receive_message(parse_line(b":srv CAP alice ACK :sasl"))
    assert core.data_to_send() == b"AUTHENTICATE PLAIN\r\n"


async def test_sign_up_then_sign_in_elsewhere_gets_private_history_and_markers(
    ws: Callable[[], Awaitable[WsClient]], chat: ChatServer, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    alice = await sign_up(ws, "alice")
    bob = await RawClient.connect(chat.port)
    await bob.register("bob", caps="message-tags server-time")
    await bob.send("PRIVMSG alice :are you there?")
    heard = await alice.expect("message", lambda e: e.get("nick") == "bob")
    await alice.send(type="markread", nick="bob", time=heard["time"])
    assert (await alice.expect("markread"))["time"] == heard["time"]
    await alice.close()

    again = await ws()
    await again.send(type="hello", account="alice", password=PW)
    assert (await again.expect("account"))["account"] == "alice"
    assert (await again.expect("status", lambda e: e["state"] == "connected"))["nick"] == "alice"
    await again.send(type="conversations")
    listed = await again.expect("conversations")
    assert [t["nick"] for t in listed["targets"]] == ["bob"]
    await again.send(type="history", room="bob", limit=50)
    history = await again.expect("history")
    assert history["nick"] == "bob" and [m["text"] for m in history["messages"]] == ["are you there?"]
    await again.send(type="markread", nick="bob")
    assert (await again.expect("markread"))["time"] == heard["time"]
    await bob.close()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("tcpchat", "uvicorn"))]
    assert ours and not any(PW in line for line in ours)  # the test's own websockets client logs it


async def test_wrong_password_is_auth_failed_and_no_session(ws: Callable[[], Awaitable[WsClient]]) -> None:
    await sign_up(ws, "alice")
    c = await ws()
    await c.send(type="hello", account="alice", password="not it at all")
    err = await c.expect("error")
    assert err["code"] == "auth_failed" and "password" in err["message"]
    await c.expect("status", lambda e: e["state"] == "closed")
    await c.send(type="join", room="#x")
    assert (await c.expect("error"))["code"] == "not_connected"
    await c.send(type="hello", account="alice", password=PW)  # the same socket may try again
    assert (await c.expect("account"))["account"] == "alice"


async def test_register_refused_is_register_failed(ws: Callable[[], Awaitable[WsClient]]) -> None:
    await sign_up(ws, "alice")
    c = await ws()
    await c.send(type="hello", nick="carol", password="short", register=True)
    err = await c.expect("error")
    assert (err["code"], err["reason"]) == ("register_failed", "WEAK_PASSWORD")
    await c.expect("status", lambda e: e["state"] == "closed")


async def test_guest_gets_account_null_and_signed_in_op_registers_a_room(
    ws: Callable[[], Awaitable[WsClient]],
) -> None:
    guest = await ws()
    await guest.send(type="hello", nick="visitor")
    assert (await guest.expect("account"))["account"] is None
    alice = await sign_up(ws, "alice")
    await alice.join("#team")
    await alice.send(type="register_room", room="#team")
    done = await alice.expect("room_registered")
    assert done["ok"] and done["room"] == "#team"
    await guest.expect("status", lambda e: e["state"] == "connected")
    await guest.join("#team")
    await guest.send(type="register_room", room="#team")
    refused = await guest.expect("room_registered")
    assert not refused["ok"] and "Log in" in refused["message"]


async def test_signing_in_while_another_page_holds_the_nick_takes_a_fallback_with_the_same_history(
    ws: Callable[[], Awaitable[WsClient]], chat: ChatServer
) -> None:
    first = await sign_up(ws, "alice")
    bob = await RawClient.connect(chat.port)
    await bob.register("bob", caps="message-tags server-time")
    await bob.send("PRIVMSG alice :for alice")
    await first.expect("message", lambda e: e.get("nick") == "bob")
    second = await ws()
    await second.send(type="hello", account="alice", password=PW)
    assert (await second.expect("account"))["account"] == "alice"
    assert (await second.expect("status", lambda e: e["state"] == "connected"))["nick"] == "alice_"
    # The account's private conversations, not the fallback nick's (server: history.private_owner).
    await second.send(type="conversations")
    assert [t["nick"] for t in (await second.expect("conversations"))["targets"]] == ["bob"]
    await second.send(type="history", room="bob", limit=10)
    assert [m["text"] for m in (await second.expect("history"))["messages"]] == ["for alice"]
    await bob.close()


async def test_an_account_created_on_the_web_is_logged_in_again_after_a_server_restart(
    make_server: Callable[..., Awaitable[ChatServer]], tmp_path: Any
) -> None:
    opts = {"webirc_password": WEBIRC_PASSWORD, "data_dir": tmp_path, **ACCOUNTS}
    first = await make_server(**opts)
    port = first.port
    gw = await start_gateway(port, reconnect_initial=0.2, reconnect_max=0.5)
    alice = await WsClient.open(gw.ws_url)
    try:
        await alice.send(type="hello", nick="alice", password=PW, register=True)
        assert (await alice.expect("account"))["account"] == "alice"
        await alice.expect("status", lambda e: e["state"] == "connected")
        await first.shutdown()
        await alice.expect("status", lambda e: e["state"] == "reconnecting")
        second = await make_server(port=port, **opts)
        await alice.expect("status", lambda e: e["state"] == "connected", timeout=20)
        bob = await RawClient.connect(second.port)
        await bob.register("bob")
        await bob.send("WHOIS alice")
        logged_in = await bob.expect("330")  # the session logged in with SASL on the new connection
        assert logged_in.params[1:3] == ("alice", "alice")
        await bob.close()
    finally:
        await alice.close()
        await gw.stop()


async def test_a_registration_waiting_for_approval_is_pending_and_no_session(
    make_server: Callable[..., Awaitable[ChatServer]], tmp_path: Any
) -> None:
    chat = await make_server(webirc_password=WEBIRC_PASSWORD, data_dir=tmp_path, account_verification="admin", **ACCOUNTS)
    gw = await start_gateway(chat.port)
    c = await WsClient.open(gw.ws_url)
    try:
        await c.send(type="hello", nick="erin", password=PW, register=True)
        pending = await c.expect("account")
        assert pending == {"type": "account", "account": None, "pending": "erin"}
        await c.expect("status", lambda e: e["state"] == "closed")
        await c.send(type="hello", account="erin", password=PW)
        err = await c.expect("error")
        assert err["code"] == "auth_failed" and "approval" in err["message"]
    finally:
        await c.close()
        await gw.stop()


async def test_conversations_asked_while_a_joins_history_is_in_flight(
    ws: Callable[[], Awaitable[WsClient]], chat: ChatServer
) -> None:
    first = await sign_up(ws, "alice")
    bob = await RawClient.connect(chat.port)
    await bob.register("bob", caps="message-tags server-time")
    await bob.send("PRIVMSG alice :hello")
    await first.expect("message", lambda e: e.get("nick") == "bob")
    await first.close()
    for attempt in range(5):  # the join's CHATHISTORY LATEST reply ends while TARGETS is pending
        page = await ws()
        await page.send(type="hello", account="alice", password=PW)
        await page.expect("status", lambda e: e["state"] == "connected")
        await page.send(type="join", room=f"#r{attempt}")
        await page.expect("join")
        await page.send(type="conversations")
        assert [t["nick"] for t in (await page.expect("conversations"))["targets"]] == ["bob"]
        await page.close()
    await bob.close()
