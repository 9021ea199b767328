"""The gateway speaks the IRCv3 extensions for the page (issue 14): multi-line text as one
``draft/multiline`` message (a native client gets the batch), replies, reactions, typing and
REDACT, through a real gateway and server with SQLite history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from web_gateway.commands import Send, to_messages

from ..browser import WEBIRC_PASSWORD, start_gateway
from ..gateway_support import WsClient
from ..support import RawClient

CAPS = "message-tags server-time echo-message batch draft/multiline draft/message-redaction"


@pytest.fixture
async def stack(make_server: Any, tmp_path: Path) -> AsyncIterator[tuple[Any, Any]]:
    chat = await make_server(webirc_password=WEBIRC_PASSWORD, history=True, data_dir=tmp_path)
    gw = await start_gateway(chat.port)
    yield chat, gw
    await gw.stop()


async def browser(gw: Any, nick: str, room: str) -> WsClient:
    ws = await WsClient.open(gw.ws_url)
    await ws.hello(nick)
    await ws.join(room)
    return ws


def test_without_the_capability_lines_go_one_by_one() -> None:
    plain = to_messages(Send("#r", "one\ntwo", reply="abc"))
    assert [(m.command, m.params[1], dict(m.tags)) for m in plain] == [
        ("PRIVMSG", "one", {"+draft/reply": "abc"}), ("PRIVMSG", "two", {})]
    batch = to_messages(Send("#r", "one\n\ntwo " + "x" * 400, reply="abc"), {"draft/multiline", "batch"})
    assert [m.command for m in batch] == ["BATCH"] + ["PRIVMSG"] * 4 + ["BATCH"]
    assert batch[0].tags == {"+draft/reply": "abc"}
    assert "".join(m.params[1] for m in batch[1:-1]) == "one" + "two " + "x" * 400
    assert ["draft/multiline-concat" in m.tags for m in batch[1:-1]] == [False, False, False, True]


async def test_multiline_text_is_one_message_for_everyone(stack: tuple[Any, Any]) -> None:
    chat, gw = stack
    alice = await browser(gw, "alice", "#ml")
    bob = await browser(gw, "bob", "#ml")
    irc = await (await RawClient.connect(chat.port)).register("carol", caps=CAPS)
    await irc.join("#ml")
    await alice.send(type="send", room="#ml", text="first line\nsecond line\n\nafter a blank")
    echo = await alice.expect("message", lambda e: e["self"])
    assert echo["text"] == "first line\nsecond line\n\nafter a blank"
    seen = await bob.expect("message")
    assert (seen["text"], seen["id"]) == (echo["text"], echo["id"])
    start = await irc.expect("BATCH")
    assert start.params[1:] == ("draft/multiline", "#ml") and start.tags["msgid"] == echo["id"]
    lines = [(await irc.expect("PRIVMSG")).params[1] for _ in range(4)]
    assert lines == ["first line", "second line", "", "after a blank"]
    assert not [e for e in bob.seen if e["type"] == "message" and e["text"] == "second line"]


async def test_reply_react_typing_and_redact(stack: tuple[Any, Any]) -> None:
    chat, gw = stack
    alice = await browser(gw, "alice", "#x")
    bob = await browser(gw, "bob", "#x")
    irc = await (await RawClient.connect(chat.port)).register("carol", caps=CAPS)
    await irc.join("#x")
    await alice.send(type="send", room="#x", text="question?")
    original = await bob.expect("message")
    await bob.send(type="send", room="#x", text="answer", reply=original["id"])
    answer = await alice.expect("message", lambda e: e["text"] == "answer")
    assert answer["reply"] == original["id"]
    relayed = await irc.expect("PRIVMSG", lambda m: m.params[1] == "answer")
    assert relayed.tags["+draft/reply"] == original["id"]

    await bob.send(type="react", room="#x", msgid=original["id"], emoji="👍")
    react = await alice.expect("react")
    assert (react["room"], react["from"], react["msgid"], react["emoji"], react["self"]) == (
        "#x", "bob", original["id"], "👍", False)
    assert (await bob.expect("react"))["self"] is True  # echoed: the page counts it then

    await bob.send(type="typing", room="#x", state="active")
    typing = await alice.expect("typing")
    assert (typing["from"], typing["state"]) == ("bob", "active")
    await bob.send(type="typing", room="#x", state="sideways")
    assert (await bob.expect("error"))["code"] == "bad_field"

    await alice.send(type="redact", room="#x", msgid=answer["id"])  # not hers, not an op? she is
    await alice.expect("redact", lambda e: e["msgid"] == answer["id"])  # alice opened #x: op
    gone = await bob.expect("redact")
    assert (gone["room"], gone["msgid"], gone["by"]) == ("#x", answer["id"], "alice")
    await bob.send(type="redact", room="#x", msgid=original["id"])
    refused = await bob.expect("error")
    assert refused["code"] == "REDACT_FORBIDDEN"
    await bob.send(type="history", room="#x", limit=10)
    history = await bob.expect("history")
    assert [m["text"] for m in history["messages"]] == ["question?"]


async def test_history_gives_a_multiline_message_back_whole(stack: tuple[Any, Any]) -> None:
    chat, gw = stack
    alice = await browser(gw, "alice", "#hist")
    long_row = "y" * 900  # more than one IRC line: comes back as concat pieces
    await alice.send(type="send", room="#hist", text=f"top\n\n{long_row}\nend")
    echo = await alice.expect("message", lambda e: e["self"])
    irc = await (await RawClient.connect(chat.port)).register("carol", caps=CAPS + " draft/chathistory")
    await irc.join("#hist")
    await irc.send("CHATHISTORY LATEST #hist * 10")
    outer = await irc.expect("BATCH", lambda m: m.param(1) == "chathistory")
    inner = await irc.expect("BATCH", lambda m: m.param(1) == "draft/multiline")
    assert inner.tags["batch"] == outer.params[0][1:] and inner.tags["msgid"] == echo["id"]
    rows: list[str] = []
    while (m := await irc.recv()) is not None and m.command == "PRIVMSG":
        rows.append(m.params[1]) if "draft/multiline-concat" not in m.tags else rows.__setitem__(-1, rows[-1] + m.params[1])
    assert rows == ["top", "", long_row, "end"]
    bob = await browser(gw, "bob", "#hist")  # the page's history on join: one message, rows kept
    history = await bob.expect("history")
    assert [m["text"] for m in history["messages"]] == [f"top\n\n{long_row}\nend"]


def test_the_decoder_puts_a_multiline_batch_back_together() -> None:
    from tcp_client.decode import EventDecoder
    from tcp_client.events import ChatMessage, History
    from tcp_server.protocol import parse_line

    decoder = EventDecoder(lambda: "me")
    src = ":bob!b@h"
    lines = [
        f"@time=2026-01-01T00:00:00.000Z;msgid=m1;+draft/reply=r0 {src} BATCH +a draft/multiline #r",
        f"@batch=a {src} PRIVMSG #r :one", f"@batch=a {src} PRIVMSG #r :", f"@batch=a {src} PRIVMSG #r :two ",
        f"@batch=a;draft/multiline-concat {src} PRIVMSG #r :halves", f"{src} BATCH -a",
        ":srv BATCH +h chathistory #r",  # the same message inside a history batch
        f"@batch=h;time=2026-01-01T00:00:00.000Z;msgid=m1 {src} BATCH +b draft/multiline #r",
        f"@batch=b {src} PRIVMSG #r :one", f"@batch=b {src} PRIVMSG #r :two", f"{src} BATCH -b",
        ":srv BATCH -h",
    ]
    events = [e for line in lines for e in decoder.feed(parse_line(line))]
    live, history = events
    assert isinstance(live, ChatMessage) and isinstance(history, History)
    assert (live.text, live.msgid, live.sender, live.msg.tags["+draft/reply"]) == ("one\n\ntwo halves", "m1", "bob", "r0")
    assert [(m.text, m.msgid) for m in history.messages] == [("one\ntwo", "m1")]
