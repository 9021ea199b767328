"""labeled-response over real sockets: ACK, single labelled lines, batches, delayed echoes."""

from __future__ import annotations

from ..support import RawClient, sync

CAPS = "labeled-response batch message-tags"


async def test_labelled_single_reply_ack_and_batch(connect):
    me = await connect("me", caps=CAPS)
    other = await connect("bob")
    await me.join("#room")
    await other.join("#room")
    await me.send("@label=p1 PING :x")
    pong = await me.expect("PONG")
    assert pong.tags == {"label": "p1"}

    await me.send("@label=m1 PRIVMSG #room :no echo here")
    ack = await me.expect("ACK")
    assert ack.tags == {"label": "m1"}
    assert not (await other.expect("PRIVMSG")).tags.get("label")

    await me.send("@label=w1 WHOIS bob")
    start = await me.expect("BATCH")
    assert start.tags == {"label": "w1"} and start.params[1] == "labeled-response"
    batch_id = start.params[0][1:]
    inside = []
    while (msg := await me.recv()).command != "BATCH":
        inside.append(msg)
    assert msg.params == (f"-{batch_id}",)
    assert [m.command for m in inside][0] == "311" and inside[-1].command == "318"
    assert all(m.tags.get("batch") == batch_id for m in inside)

    await me.send("@label=e1 PRIVMSG nobody :x")
    err = await me.expect("401")
    assert err.tags == {"label": "e1"}


async def test_labelled_echo_message(connect):
    me = await connect("me", caps=CAPS + " echo-message")
    await me.join("#room")
    await me.send("@label=x9 PRIVMSG #room :hello")
    echo = await me.expect("PRIVMSG")
    assert echo.tags["label"] == "x9" and echo.tags["msgid"]
    assert [m for m in await sync(me) if m.command == "ACK"] == []


async def test_labels_ignored_without_the_cap_and_when_too_long(connect):
    plain = await connect("plain", caps="message-tags")
    await plain.send("@label=zz PING :y")
    assert (await plain.expect("PONG")).tags == {}
    capped = await connect("capped", caps=CAPS)
    await capped.send("@label=" + "a" * 65 + " PING :y")
    assert (await capped.expect("PONG")).tags == {}


async def test_labelled_echo_waits_for_history_commit(make_server, tmp_path):
    server = await make_server(history=True, data_dir=tmp_path)
    me = await RawClient.connect(server.port)
    await me.register("me", caps=CAPS + " echo-message")
    await me.join("#room")
    await me.send("@label=h1 PRIVMSG #room :stored first")
    got = []
    while True:
        msg = await me.recv()
        got.append(msg)
        if msg.command == "PRIVMSG":
            break
    assert got[-1].tags["label"] == "h1"
    assert [m.command for m in got if m.tags.get("label")] == ["PRIVMSG"]  # no ACK before it
    await me.close()


async def test_labelled_chathistory_labels_the_batch_not_an_ack(make_server, tmp_path):
    server = await make_server(history=True, data_dir=tmp_path)
    me = await RawClient.connect(server.port)
    await me.register("me", caps=CAPS + " echo-message draft/chathistory")
    await me.join("#room")
    await me.send("PRIVMSG #room :one", "PRIVMSG #room :two")
    await me.expect("PRIVMSG", lambda m: m.params[1] == "two")
    await me.send("@label=ch1 CHATHISTORY LATEST #room * 10")
    start = await me.expect("BATCH")
    assert start.tags == {"label": "ch1"} and start.params[1] == "chathistory"
    texts = []
    while (msg := await me.recv()).command != "BATCH":
        texts.append(msg.params[1])
    assert texts == ["one", "two"]
    await me.send("@label=ch2 CHATHISTORY LATEST #nowhere * 10")  # refused before the fetch
    fail = await me.expect("FAIL")
    assert fail.tags == {"label": "ch2"}
    assert [m for m in me.seen if m.command == "ACK"] == []
    await me.close()
