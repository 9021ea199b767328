"""The web gateway across a chat server restart and a KILL: a real chat server and a real uvicorn
gateway; the browser's session reconnects, rejoins and fills the gap without loss or duplicates, and
a killed bridge tells the browser why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tcp_server.server import ChatServer

from ..browser import WEBIRC_PASSWORD, start_gateway
from ..gateway_support import WsClient
from ..support import RawClient


async def test_gateway_follows_a_server_restart(make_server: Callable[..., Awaitable[ChatServer]]) -> None:
    first = await make_server(webirc_password=WEBIRC_PASSWORD)
    port = first.port
    gw = await start_gateway(port)
    alice = await WsClient.open(gw.ws_url)
    try:
        await alice.hello("alice")
        await alice.join("#lobby")
        await first.shutdown()
        reconnecting = await alice.expect("status", lambda e: e["state"] == "reconnecting")
        assert reconnecting["nick"] == "alice"
        second = await make_server(webirc_password=WEBIRC_PASSWORD, port=port)
        restored = await alice.expect("status", lambda e: e["state"] == "connected", timeout=20)
        assert restored["nick"] == "alice"
        bob = await RawClient.connect(second.port)
        await bob.register("bob")
        await bob.join("#lobby")  # alice was rejoined by the gateway's session
        names = [m.params[-1] for m in bob.seen if m.command == "353"]
        assert any("alice" in n.split() or "@alice" in n.split() for n in names)
        await bob.send("PRIVMSG #lobby :welcome back")
        assert (await alice.expect("message"))["text"] == "welcome back"
        await bob.close()
    finally:
        await alice.close()
        await gw.stop()


async def test_no_message_lost_or_doubled_across_a_server_restart(
    make_server: Callable[..., Awaitable[ChatServer]], tmp_path: Any
) -> None:
    opts = {"webirc_password": WEBIRC_PASSWORD, "history": True, "data_dir": tmp_path}
    first = await make_server(**opts)
    port = first.port
    gw = await start_gateway(port, reconnect_initial=0.5, reconnect_max=1.0)
    alice = await WsClient.open(gw.ws_url)
    try:
        await alice.hello("alice")
        await alice.join("#lobby")
        bob = await RawClient.connect(port)
        await bob.register("bob")
        await bob.join("#lobby")
        await bob.send("PRIVMSG #lobby :before")
        await alice.expect("message", lambda e: e["text"] == "before")
        await bob.close()
        await first.shutdown()
        await alice.expect("status", lambda e: e["state"] == "reconnecting")
        second = await make_server(**{**opts, "port": port})
        bob = await RawClient.connect(second.port)
        await bob.register("bob", caps="echo-message")
        await bob.join("#lobby")
        for i in range(5):
            await bob.send(f"PRIVMSG #lobby :during {i}")
        # Acknowledged (echoed) = committed: these must reach alice, live or by gap fill.
        await bob.expect("PRIVMSG", lambda m: m.params[1] == "during 4")
        await alice.expect("status", lambda e: e["state"] == "connected", timeout=20)
        await bob.send("PRIVMSG #lobby :after")
        await alice.expect("message", lambda e: e["text"] == "after")
        texts = [e["text"] for e in alice.seen if e["type"] == "message"]
        for h in (e for e in alice.seen if e["type"] == "history"):
            texts += [m["text"] for m in h["messages"]]
        for i in range(5):
            assert texts.count(f"during {i}") == 1, texts
        assert texts.count("before") == 1 and texts.count("after") == 1
        await bob.close()
    finally:
        await alice.close()
        await gw.stop()


async def test_a_kill_ends_the_bridge_and_the_browser_learns_why(
    make_server: Callable[..., Awaitable[ChatServer]],
) -> None:
    chat = await make_server(webirc_password=WEBIRC_PASSWORD, oper_password="op-secret")
    gw = await start_gateway(chat.port)
    alice = await WsClient.open(gw.ws_url)
    oper = await RawClient.connect(chat.port)
    try:
        await alice.hello("alice")
        await oper.register("oper")
        await oper.send("OPER admin op-secret")
        await oper.expect("381")
        await oper.send("KILL alice :flooding")
        closed = await alice.expect("status", lambda e: e["state"] == "closed")
        assert "flooding" in closed["reason"]
        with pytest.raises(ConnectionClosed):
            await alice.expect("never")
    finally:
        await alice.close()
        await oper.close()
        await gw.stop()
