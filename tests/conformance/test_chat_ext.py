"""The IRCv3 extensions a chat page uses: draft/multiline, draft/message-redaction,
draft/read-marker and the client-only tags +typing, +draft/reply, +draft/react (real sockets)."""

from __future__ import annotations

import asyncio

import pytest

from tcp_server.protocol import parse_line

from ..support import RawClient, sync

ML = "batch draft/multiline message-tags echo-message server-time draft/chathistory labeled-response"


@pytest.fixture
async def hist(make_server, tmp_path):
    server = await make_server(history=True, data_dir=tmp_path / "data", multiline_max_lines=5,
                               multiline_max_bytes=600)
    opened: list[RawClient] = []

    async def open_(nick: str, caps: str = "") -> RawClient:
        c = await RawClient.connect(server.port)
        opened.append(c)
        return await c.register(nick, caps)

    yield server, open_
    for c in opened:
        await c.close()


async def read_batch(client: RawClient) -> list:
    """The messages of the next batch, its opening BATCH line first."""
    start = await client.expect("BATCH", lambda m: m.params[0].startswith("+"))
    ref = start.params[0][1:]
    out = [start]
    while True:
        msg = await client.recv()
        assert msg is not None
        if msg.command == "BATCH" and msg.params[0] == "-" + ref:
            return out
        assert msg.tags.get("batch") == ref
        out.append(msg)


async def test_multiline_is_relayed_as_one_message_and_stored_as_one(hist):
    server, open_ = hist
    alice = await open_("alice", ML)
    bob = await open_("bob", ML)
    carol = await open_("carol", "message-tags")
    for c in (alice, bob, carol):
        await c.join("#c")
    await sync(alice)
    await alice.send(
        "@label=ml1;+draft/reply=x1 BATCH +b1 draft/multiline #c",
        "@batch=b1 PRIVMSG #c :hello",
        "@batch=b1 PRIVMSG #c :",
        "@batch=b1 PRIVMSG #c :how is ",
        "@batch=b1;draft/multiline-concat PRIVMSG #c :everyone?",
        "BATCH -b1",
    )
    got = await read_batch(bob)
    assert got[0].params[1:] == ("draft/multiline", "#c")
    msgid = got[0].tags["msgid"]
    assert got[0].tags["+draft/reply"] == "x1"
    assert [m.params[1] for m in got[1:]] == ["hello", "", "how is ", "everyone?"]
    assert "draft/multiline-concat" in got[4].tags and "msgid" not in got[1].tags
    echo = await read_batch(alice)
    assert echo[0].tags["msgid"] == msgid and echo[0].tags["label"] == "ml1"
    fallback = [await carol.expect("PRIVMSG") for _ in range(3)]  # no blank line for them
    assert [m.params[1] for m in fallback] == ["hello", "how is ", "everyone?"]
    assert fallback[0].tags["msgid"] == msgid and "msgid" not in fallback[1].tags
    await alice.send("CHATHISTORY LATEST #c * 10")
    outer = await alice.expect("BATCH", lambda m: m.param(1) == "chathistory")
    inner = await read_batch(alice)  # one stored message, given back as the batch it was sent as
    assert inner[0].tags["batch"] == outer.params[0][1:] and inner[0].tags["msgid"] == msgid
    assert [m.params[1] for m in inner[1:]] == ["hello", "", "how is everyone?"]
    assert (await alice.expect("BATCH")).params[0] == "-" + outer.params[0][1:]
    await carol.send("CAP REQ :batch draft/chathistory")
    await carol.expect("CAP")
    await carol.send("CHATHISTORY LATEST #c * 10")
    rows = [m for m in await read_batch(carol) if m.command == "PRIVMSG"]  # without draft/multiline
    # its rows as plain lines, as the live relay sent them (no blank one), the msgid on the first
    assert [(m.params[1], m.tags.get("msgid")) for m in rows] == [("hello", msgid), ("how is everyone?", None)]
    assert all("time" in m.tags for m in rows)


async def test_a_long_concat_message_comes_back_from_history_in_lines_that_fit(hist):
    """A message longer than one line (a multiline batch of concat lines: what the chat page sends
    for a long text) is stored as one row; history must not give it back as one over-long line,
    which clients drop: it comes back as concat pieces, or as plain lines without draft/multiline."""
    server, open_ = hist
    alice = await open_("alice", ML)
    carol = await open_("carol", "batch draft/chathistory message-tags server-time")
    for c in (alice, carol):
        await c.join("#c")
    await sync(alice)
    long_text = "word " * 110  # 550 bytes: over one line's room, under multiline_max_bytes (600)
    await alice.send("BATCH +b1 draft/multiline #c", "@batch=b1 PRIVMSG #c :" + long_text[:300],
                     "@batch=b1;draft/multiline-concat PRIVMSG #c :" + long_text[300:], "BATCH -b1")
    await read_batch(alice)  # the echo
    await sync(carol)
    await alice.send("CHATHISTORY LATEST #c * 10")
    await alice.expect("BATCH", lambda m: m.param(1) == "chathistory")
    inner = await read_batch(alice)
    assert inner[0].params[1] == "draft/multiline" and len(inner) > 2
    assert "".join(m.params[1] for m in inner[1:]) == long_text
    assert all("draft/multiline-concat" in m.tags for m in inner[2:])
    await carol.send("CHATHISTORY LATEST #c * 10")
    raw: list[bytes] = []
    while not raw or b" BATCH -" not in raw[-1]:
        raw.append(await asyncio.wait_for(carol.reader.readline(), 10))
        assert raw[-1], "connection closed"
    rows = [line for line in raw if b" PRIVMSG " in line]
    bodies = [line.split(b" ", 1)[1] if line.startswith(b"@") else line for line in rows]
    assert len(rows) >= 2 and all(len(body) <= 512 for body in bodies)  # RFC 1459: 512 with CRLF, tags aside
    assert "".join(parse_line(line.rstrip(b"\r\n")).params[1] for line in rows) == long_text


async def test_multiline_limits_and_target_mismatch_fail_the_batch(hist):
    server, open_ = hist
    alice = await open_("alice", ML)
    bob = await open_("bob", ML)
    await alice.join("#c")
    await bob.join("#c")
    await alice.send("CAP LS 302")
    ls = (await alice.expect("CAP")).params[-1].split()
    assert "draft/multiline=max-bytes=600,max-lines=5" in ls
    await alice.send("BATCH +x draft/multiline #c", *["@batch=x PRIVMSG #c :l"] * 6, "BATCH -x")
    fail = await alice.expect("FAIL")
    assert fail.params[:3] == ("BATCH", "MULTILINE_MAX_LINES", "5")
    await alice.send("BATCH +y draft/multiline #c", *["@batch=y PRIVMSG #c :" + "a" * 300] * 3, "BATCH -y")
    assert (await alice.expect("FAIL")).params[:3] == ("BATCH", "MULTILINE_MAX_BYTES", "600")
    await alice.send("BATCH +z draft/multiline #c", "@batch=z PRIVMSG #other :hi", "BATCH -z")
    assert (await alice.expect("FAIL")).params[:4] == ("BATCH", "MULTILINE_INVALID_TARGET", "#c", "#other")
    assert not [m for m in await sync(bob) if m.command in ("PRIVMSG", "BATCH")]


async def test_redact_own_message_reaches_redaction_clients_and_leaves_history(hist):
    server, open_ = hist
    caps = "message-tags echo-message batch draft/chathistory draft/message-redaction"
    alice = await open_("alice", caps)
    bob = await open_("bob", caps)
    carol = await open_("carol", "message-tags")
    for c in (alice, bob, carol):
        await c.join("#c")
    await alice.send("PRIVMSG #c :oops", "PRIVMSG #c :fine")
    first = await alice.expect("PRIVMSG")
    await alice.expect("PRIVMSG")
    await bob.send(f"REDACT #c {first.tags['msgid']}")
    forbidden = await bob.expect("FAIL")
    assert forbidden.params[:2] == ("REDACT", "REDACT_FORBIDDEN")
    await alice.send(f"REDACT #c {first.tags['msgid']} :typo")
    before_pong = await sync(alice)  # the reply keeps the order of alice's commands
    assert [m.params[1] for m in before_pong if m.command == "REDACT"] == [first.tags["msgid"]]
    seen = await bob.expect("REDACT")
    assert seen.params == ("#c", first.tags["msgid"], "typo") and seen.source.startswith("alice!")
    assert not [m for m in await sync(carol) if m.command == "REDACT"]
    await bob.send("CHATHISTORY LATEST #c * 10")
    texts = [m.params[1] for m in await read_batch(bob) if m.command == "PRIVMSG"]
    assert texts == ["fine"]
    await alice.send("REDACT #c nosuchid")
    assert (await alice.expect("FAIL")).params[:2] == ("REDACT", "UNKNOWN_MSGID")


async def test_channel_operator_may_redact_anyones_message(hist):
    server, open_ = hist
    caps = "message-tags echo-message draft/message-redaction"
    op = await open_("op", caps)
    user = await open_("user", caps)
    await op.join("#c")
    await user.join("#c")
    await user.send("PRIVMSG #c :spam")
    spam = await op.expect("PRIVMSG")
    await op.send(f"REDACT #c {spam.tags['msgid']} :spam")
    assert (await user.expect("REDACT")).params[1] == spam.tags["msgid"]


async def test_markread_sets_only_forward_and_is_sent_on_join(connect):
    alice = await connect("alice", caps="draft/read-marker server-time")
    await alice.send("JOIN #c")
    marker = await alice.expect("MARKREAD")
    assert marker.params == ("#c", "*")
    await alice.expect("366")  # the marker comes before the end of names
    await alice.send("MARKREAD #c timestamp=2026-01-04T14:33:26.123Z")
    assert (await alice.expect("MARKREAD")).params == ("#c", "timestamp=2026-01-04T14:33:26.123Z")
    await alice.send("MARKREAD #c timestamp=2025-01-01T00:00:00.000Z")  # older: ignored
    assert (await alice.expect("MARKREAD")).params[1] == "timestamp=2026-01-04T14:33:26.123Z"
    await alice.send("MARKREAD bob")
    assert (await alice.expect("MARKREAD")).params == ("bob", "*")
    await alice.send("MARKREAD #c yesterday")
    assert (await alice.expect("FAIL")).params[:2] == ("MARKREAD", "INVALID_PARAMS")
    await alice.send("MARKREAD")
    assert (await alice.expect("FAIL")).params[:2] == ("MARKREAD", "NEED_MORE_PARAMS")


async def test_client_only_tags_typing_reply_react_reach_message_tags_clients_only(connect):
    alice = await connect("alice", caps="message-tags")
    bob = await connect("bob", caps="message-tags")
    carol = await connect("carol")
    for c in (alice, bob, carol):
        await c.join("#c")
    await alice.send("@+typing=active TAGMSG #c")
    assert (await bob.expect("TAGMSG")).tags["+typing"] == "active"
    await alice.send("PRIVMSG #c :original")
    original = await bob.expect("PRIVMSG")
    await bob.send(f"@+draft/reply={original.tags['msgid']} PRIVMSG #c :answer")
    reply = await alice.expect("PRIVMSG")
    assert reply.tags["+draft/reply"] == original.tags["msgid"] and reply.params[1] == "answer"
    await bob.send(f"@+draft/react=👍;+draft/reply={original.tags['msgid']} TAGMSG #c")
    react = await alice.expect("TAGMSG")
    assert react.tags["+draft/react"] == "👍" and react.tags["msgid"]
    await bob.send("@+typing=active TAGMSG alice")
    assert (await alice.expect("TAGMSG")).params == ("alice",)
    got = await sync(carol)
    assert "TAGMSG" not in [m.command for m in got]
    assert all(not m.tags for m in got if m.command == "PRIVMSG")


async def test_a_full_multiline_batch_passes_default_flood_control(make_server, tmp_path):
    from tcp_server.settings import ServerSettings

    defaults = ServerSettings()
    assert defaults.multiline_max_lines + 2 <= defaults.flood_burst  # BATCH +, lines, BATCH -
    server = await make_server(flood_rate=defaults.flood_rate, flood_burst=defaults.flood_burst)
    alice = await RawClient.connect(server.port)
    await alice.register("alice", "batch draft/multiline echo-message")
    await alice.join("#c")
    lines = [f"@batch=f PRIVMSG #c :line {i}" for i in range(defaults.multiline_max_lines)]
    await alice.send("BATCH +f draft/multiline #c", *lines, "BATCH -f")
    got = await read_batch(alice)
    assert len(got) == 1 + defaults.multiline_max_lines
    await alice.close()
