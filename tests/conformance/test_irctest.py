"""What the external irctest suite found, pinned down over real sockets (our own tests, not theirs).

Each test names the irctest case it stands for; the README's conformance section lists the rest.
"""

from __future__ import annotations

import pytest

from ..support import RawClient, sync

ML = "batch draft/multiline message-tags echo-message server-time labeled-response"


@pytest.fixture
async def opened(server):
    """``await opened('alice', 'caps')``: a registered client on the test server, closed after."""
    clients: list[RawClient] = []

    async def open_(nick: str, caps: str = "") -> RawClient:
        client = await RawClient.connect(server.port)
        clients.append(client)
        return await client.register(nick, caps)

    yield open_
    for c in clients:
        await c.close()


async def test_monitor_is_silent_when_a_watched_nick_only_changes_case(opened):
    """irctest monitor.py testNickChange: ``qux`` -> ``QUX`` is the same nick, still online."""
    bar = await opened("bar")
    await bar.send("MONITOR + qux")
    await bar.expect("731")
    baz = await opened("baz")
    await baz.send("NICK qux")
    await baz.expect("NICK")
    await bar.expect("730")
    await baz.send("NICK QUX")
    await baz.expect("NICK")
    assert not [m for m in await sync(bar) if m.command in ("730", "731")]
    await baz.send("NICK other")
    offline = await bar.expect("731")
    assert offline.params[1] == "QUX"  # the nick as it was last used


async def test_tagmsg_to_oneself_is_delivered_and_echoed_with_one_label(opened):
    """irctest labeled_responses.py testLabeledTagMsgResponsesToSelf: as PRIVMSG to oneself,
    the sender gets the delivery and the echo, and only the echo carries the label."""
    foo = await opened("foo", "message-tags echo-message batch labeled-response")
    await foo.send("@label=l1;+draft/react=x TAGMSG foo")
    got = [m for m in await sync(foo) if m.command == "TAGMSG"]
    assert len(got) == 2
    assert [m.tags.get("label") for m in got].count("l1") == 1
    assert all(m.tags.get("+draft/react") == "x" for m in got)


async def test_multiline_concat_tag_on_a_blank_line_fails_the_batch(opened):
    """irctest multiline.py testInvalidBlankConcatTag: the spec forbids it to clients."""
    alice = await opened("alice", ML)
    bob = await opened("bob", ML)
    await alice.join("#c")
    await bob.join("#c")
    await sync(bob)
    await alice.send(
        "BATCH +b draft/multiline #c",
        "@batch=b PRIVMSG #c :hi",
        "@batch=b;draft/multiline-concat PRIVMSG #c :",
        "BATCH -b",
    )
    fail = await alice.expect("FAIL")
    assert fail.params[:2] == ("BATCH", "MULTILINE_INVALID")
    assert not [m for m in await sync(bob) if m.command in ("BATCH", "PRIVMSG")]


async def test_multiline_fallback_lines_keep_client_tags_and_only_the_first_has_the_msgid(opened):
    """irctest multiline.py testBlankLines: a client without multiline gets the non-blank lines,
    each with the client-only tags of the opening BATCH; the msgid stays on the first."""
    alice = await opened("alice", ML)
    carol = await opened("carol", "message-tags")
    await alice.join("#c")
    await carol.join("#c")
    await sync(carol)
    await alice.send(
        "@+client-only-tag BATCH +b draft/multiline #c",
        "@batch=b PRIVMSG #c :",
        "@batch=b PRIVMSG #c :#how is ",
        "@batch=b;draft/multiline-concat PRIVMSG #c :everyone?",
        "BATCH -b",
    )
    lines = [await carol.expect("PRIVMSG") for _ in range(2)]
    assert [m.params[1] for m in lines] == ["#how is ", "everyone?"]
    assert all("+client-only-tag" in m.tags for m in lines)
    assert "msgid" in lines[0].tags and "msgid" not in lines[1].tags


@pytest.mark.parametrize("history", [False, True], ids=["no-history", "history"])
async def test_labelled_privmsg_to_several_targets_echoes_in_one_labelled_batch(make_server, tmp_path, history):
    """irctest labeled_responses.py testLabeledPrivmsgResponsesToMultipleClients: several echoes
    (each sent after its commit when history is on) form one ``labeled-response`` batch."""
    server = await make_server(history=history, data_dir=tmp_path / "data")
    clients = [await RawClient.connect(server.port) for _ in range(3)]
    try:
        foo = await clients[0].register("foo", "echo-message batch labeled-response")
        await clients[1].register("bar")
        await clients[2].register("carl")
        await foo.send("@label=12345 PRIVMSG bar,carl,nobody :hi")
        got = await sync(foo)
        assert got[0].command == "BATCH" and got[0].params[1] == "labeled-response"
        assert got[0].tags.get("label") == "12345"
        ref = got[0].params[0][1:]
        assert got[-1].command == "BATCH" and got[-1].params == (f"-{ref}",)
        inner = got[1:-1]
        assert [m.command for m in inner] == ["PRIVMSG", "PRIVMSG", "401"]
        assert all(m.tags.get("batch") == ref and "label" not in m.tags for m in inner)
    finally:
        for c in clients:
            await c.close()


async def test_invalid_utf8_is_relayed_replaced_and_the_sender_warned(opened, server):
    """irctest utf8.py testUtf8Validation: with UTF8ONLY advertised, a line that is not UTF-8 is
    relayed with U+FFFD (never raw bytes) and its sender gets ``WARN PRIVMSG INVALID_UTF8``."""
    foo = await opened("foo")
    bar = await opened("bar")
    await foo.send(b"PRIVMSG bar :hi\xaa")
    warn = await foo.expect("WARN")
    assert warn.params[:2] == ("PRIVMSG", "INVALID_UTF8")
    got = await bar.expect("PRIVMSG")
    assert got.params == ("bar", "hi\ufffd")
    await foo.send("PRIVMSG bar :caf\u00e9 \ufffd")  # valid UTF-8, even a U+FFFD typed: no warning
    assert (await bar.expect("PRIVMSG")).params[1] == "caf\u00e9 \ufffd"
    assert not [m for m in await sync(foo) if m.command == "WARN"]


async def test_a_bad_line_inside_a_run_of_channel_lines_still_warns_its_sender(opened):
    """Lines read together to one channel are relayed as one run (commands/chatrun.py); a line
    that is not UTF-8 in the middle of such a read is still relayed replaced and warned about."""
    foo = await opened("foo")
    bar = await opened("bar")
    for c in (foo, bar):
        await c.join("#r")
    await sync(foo)
    await foo.send(b"PRIVMSG #r :one\r\nPRIVMSG #r :tw\xffo\r\nPRIVMSG #r :three\r\n")
    warn = await foo.expect("WARN")
    assert warn.params[:2] == ("PRIVMSG", "INVALID_UTF8")
    got = [(await bar.expect("PRIVMSG")).params[1] for _ in range(3)]
    assert got == ["one", "tw\ufffdo", "three"]


async def test_extended_monitor_watchers_with_account_notify_see_a_login(make_server, tmp_path):
    """irctest monitor.py testExtendedMonitorAccountNotify (run with the ratified cap name
    ``extended-monitor``): a monitored user who logs in after registering is announced with
    ``ACCOUNT`` to watchers that enabled extended-monitor and account-notify, and to no other."""
    server = await make_server(history=True, data_dir=tmp_path / "data", account_min_password=1,
                               account_scrypt_n=16)
    clients = [await RawClient.connect(server.port) for _ in range(3)]
    try:
        reg = await clients[0].register("jilles")
        await reg.send("REGISTER * * :sesame")
        await reg.expect("REGISTER")
        await reg.send("QUIT")
        foo = await clients[1].register("foo", "extended-monitor account-notify")
        plain = await clients[2].register("plain", "account-notify")
        for watcher in (foo, plain):
            await watcher.send("MONITOR + bar")
            await watcher.expect("731")
        bar = await RawClient.connect(server.port)
        clients.append(bar)
        await bar.register("bar", "sasl")
        await foo.expect("730")
        await bar.send("AUTHENTICATE PLAIN")
        await bar.expect("AUTHENTICATE")
        await bar.send("AUTHENTICATE amlsbGVzAGppbGxlcwBzZXNhbWU=")  # jilles / sesame
        await bar.expect("900")
        account = await foo.expect("ACCOUNT")
        assert account.source.startswith("bar!") and account.params == ("jilles",)
        assert not [m for m in await sync(plain) if m.command == "ACCOUNT"]
    finally:
        for c in clients:
            await c.close()
