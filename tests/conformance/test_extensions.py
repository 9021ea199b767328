"""SETNAME, bot mode, HELP, STATUSMSG, WALLOPS, UTF8ONLY, ELIST, cap-notify, invite-notify,
no-implicit-names and standard replies, over real sockets."""

from __future__ import annotations

from ..support import RawClient, sync


async def welcome_tokens(client: RawClient, nick: str, caps: str = "") -> list[str]:
    if caps:
        await client.send("CAP LS 302", f"CAP REQ :{caps}")
        await client.expect("CAP", lambda m: m.param(1) == "ACK")
    await client.send(f"NICK {nick}", f"USER {nick} 0 * :{nick}", *(["CAP END"] if caps else []))
    tokens: list[str] = []
    while (msg := await client.recv()).command != "376":
        if msg.command == "005":
            tokens += msg.params[1:-1]
    client.nick = nick
    return tokens


async def test_isupport_advertises_the_new_features(server):
    c = await RawClient.connect(server.port)
    tokens = await welcome_tokens(c, "alice")
    for token in ("BOT=B", "UTF8ONLY", "ELIST=CMNTU", "STATUSMSG=@+", "NAMELEN=100", "WHOX"):
        assert token in tokens, token
    await c.send("CAP LS 302")
    offered = (await c.expect("CAP")).params[-1].split()
    for cap in ("setname", "cap-notify", "invite-notify", "no-implicit-names"):
        assert cap in offered, cap
    await c.close()


async def test_setname_reaches_self_and_setname_peers_and_rejects_empty(connect):
    alice = await connect("alice", caps="setname")
    bob = await connect("bob", caps="setname")
    carol = await connect("carol")
    for c in (alice, bob, carol):
        await c.join("#c")
    await alice.send("SETNAME :Alice Liddell")
    mine = await alice.expect("SETNAME")
    theirs = await bob.expect("SETNAME")
    assert mine.params == theirs.params == ("Alice Liddell",) and theirs.source.startswith("alice!")
    assert not [m for m in await sync(carol) if m.command == "SETNAME"]
    await carol.send("WHOIS alice")
    assert (await carol.expect("311")).params[-1] == "Alice Liddell"
    await alice.send("SETNAME :" + "x" * 101)
    fail = await alice.expect("FAIL")
    assert fail.params[:2] == ("SETNAME", "INVALID_REALNAME")


async def test_bot_mode_tags_messages_and_shows_in_whois_and_who(connect):
    bot = await connect("robo")
    alice = await connect("alice", caps="message-tags")
    await bot.send("MODE robo +B")
    assert (await bot.expect("MODE")).params == ("robo", "+B")
    await bot.send("PRIVMSG alice :beep")
    msg = await alice.expect("PRIVMSG")
    assert "bot" in msg.tags and msg.tags["msgid"]
    await alice.send("WHOIS robo")
    assert (await alice.expect("335")).params[1] == "robo"
    await alice.send("WHO robo")
    assert "B" in (await alice.expect("352")).params[6]


async def test_help_lists_commands_and_explains_one_or_524(connect):
    alice = await connect("alice")
    await alice.send("HELP")
    got = await sync(alice)
    assert [m.command for m in got][0] == "704" and got[-1].command == "706"
    assert "PRIVMSG" in " ".join(m.params[-1] for m in got)
    await alice.send("HELPOP monitor")
    got = await sync(alice)
    assert got[0].command == "704" and got[0].params[1] == "MONITOR" and got[-1].command == "706"
    await alice.send("HELP nosuchthing")
    assert (await alice.expect("524")).params[1] == "NOSUCHTHING"


async def test_statusmsg_reaches_only_channel_operators(connect):
    alice = await connect("alice")
    bob = await connect("bob")
    carol = await connect("carol")
    for c in (alice, bob, carol):
        await c.join("#c")
    await carol.send("PRIVMSG @#c :ops only")
    got = await alice.expect("PRIVMSG")
    assert got.params == ("@#c", "ops only")
    assert not [m for m in await sync(bob) if m.command == "PRIVMSG"]


async def test_wallops_goes_to_plus_w_users_from_operators_only(make_server):
    server = await make_server(oper_password="hunter2")
    oper = await RawClient.connect(server.port)
    await oper.register("oper")
    watcher = await RawClient.connect(server.port)
    await watcher.register("watcher")
    other = await RawClient.connect(server.port)
    await other.register("other")
    await other.send("WALLOPS :hi")
    await other.expect("481")
    await watcher.send("MODE watcher +w")
    await watcher.expect("MODE")
    await oper.send("OPER admin hunter2")
    await oper.expect("381")
    await oper.send("WALLOPS :server restarting")
    got = await watcher.expect("WALLOPS")
    assert got.params == ("server restarting",) and got.source.startswith("oper!")
    assert not [m for m in await sync(other) if m.command == "WALLOPS"]
    for c in (oper, watcher, other):
        await c.close()


async def test_list_elist_filters_by_user_count_and_masks(connect):
    alice = await connect("alice")
    bob = await connect("bob")
    await alice.send("JOIN #big,#small,#test-1")
    await sync(alice)
    await bob.join("#big")
    await alice.send("LIST >1")
    assert [m.params[1] for m in await sync(alice) if m.command == "322"] == ["#big"]
    await alice.send("LIST <2")
    assert sorted(m.params[1] for m in await sync(alice) if m.command == "322") == ["#small", "#test-1"]
    await alice.send("LIST #*,!#test*")
    assert sorted(m.params[1] for m in await sync(alice) if m.command == "322") == ["#big", "#small"]


async def test_invite_notify_and_no_implicit_names(connect):
    alice = await connect("alice")
    bob = await connect("bob", caps="invite-notify")
    carol = await connect("carol", caps="no-implicit-names")
    await alice.join("#c")
    await bob.join("#c")
    await alice.send("INVITE carol #c")
    seen = await bob.expect("INVITE")
    assert seen.source.startswith("alice!") and seen.params == ("carol", "#c")
    await carol.expect("INVITE")
    await carol.send("JOIN #c")
    got = await sync(carol)
    assert "JOIN" in [m.command for m in got]
    assert not {"353", "366"} & {m.command for m in got}


def test_standard_replies_share_one_shape():
    """Every FAIL names its command, then an upper-case code, context, and human text last."""
    from ..support import MemoryServer

    srv = MemoryServer()
    alice = srv.connect("alice", caps="batch draft/multiline setname")
    srv.connect("bob")
    lines = [
        "SETNAME :",
        "MARKREAD",
        "MARKREAD #c notatime",
        "REDACT #nowhere abc",
        "REDACT bob abc",
        "BATCH -nothing",
        "BATCH +x draft/multiline #c",
        "@batch=x PRIVMSG #d :wrong target",
        "BATCH -x",
    ]
    fails = []
    for line in lines:
        fails += [m for m in alice.send(line) if m.command == "FAIL"]
    assert [(f.params[0], f.params[1]) for f in fails] == [
        ("SETNAME", "INVALID_REALNAME"),
        ("MARKREAD", "NEED_MORE_PARAMS"),
        ("MARKREAD", "INVALID_PARAMS"),
        ("REDACT", "INVALID_TARGET"),
        ("REDACT", "UNKNOWN_MSGID"),  # no history store: nothing to redact
        ("BATCH", "MULTILINE_INVALID"),
        ("BATCH", "MULTILINE_INVALID_TARGET"),
    ]
    for f in fails:
        assert f.source == srv.state.name and f.params[1].isupper() and " " in f.params[-1]
