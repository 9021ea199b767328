"""Channel bans and exceptions (+b, +e, +I): masks, lists, 474/404, MAXLIST; sockets and memory."""

from __future__ import annotations

from tcp_server.state.masks import normalize_mask

from ..support import MemoryServer, sync


def cmds(msgs):
    return [m.command for m in msgs]


def test_masks_are_completed_to_nick_user_host():
    assert normalize_mask("bob") == "bob!*@*"
    assert normalize_mask("*@evil.example") == "*!*@evil.example"
    assert normalize_mask("b*!u") == "b*!u@*"
    assert normalize_mask("$a:acct") == "$a:acct"


async def test_banned_user_cannot_join_and_lists_show_entries(connect):
    alice = await connect("alice")
    bob = await connect("bob")
    await alice.join("#c")
    await alice.send("MODE #c +b B?B")  # wildcard, and case-insensitive
    mode = await alice.expect("MODE")
    assert mode.params == ("#c", "+b", "B?B!*@*")
    await bob.send("JOIN #c")
    err = await bob.expect("474")
    assert err.params[1] == "#c"
    await alice.send("MODE #c +b")
    item = await alice.expect("367")
    assert item.params[1:3] == ("#c", "B?B!*@*") and item.params[3].startswith("alice!")
    await alice.expect("368")
    await alice.send("MODE #c +e bob!*@*")
    await alice.expect("MODE")
    await bob.send("JOIN #c")  # the exception overrides the ban
    await bob.expect("366")
    await alice.send("MODE #c e")
    assert (await alice.expect("348")).params[2] == "bob!*@*"
    await alice.expect("349")


async def test_banned_member_cannot_speak_404_but_voiced_can(connect):
    alice = await connect("alice")
    bob = await connect("bob")
    await alice.join("#c")
    await bob.join("#c")
    await alice.send("MODE #c +b *!*@*")
    await bob.expect("MODE")
    await bob.send("PRIVMSG #c :hello")
    assert (await bob.expect("404")).params[1] == "#c"
    assert not [m for m in await sync(alice) if m.command == "PRIVMSG"]
    await alice.send("MODE #c +v bob")
    await bob.expect("MODE")
    await bob.send("PRIVMSG #c :voiced")
    assert (await alice.expect("PRIVMSG")).params[1] == "voiced"


async def test_invite_exception_lets_a_matching_user_past_plus_i(connect):
    alice = await connect("alice")
    bob = await connect("bob")
    carol = await connect("carol")
    await alice.join("#c")
    await alice.send("MODE #c +iI bob!*@*")
    await alice.expect("MODE")
    await carol.send("JOIN #c")
    await carol.expect("473")
    await bob.send("JOIN #c")
    await bob.expect("366")
    await alice.send("MODE #c +I")
    assert (await alice.expect("346")).params[2] == "bob!*@*"
    await alice.expect("347")


async def test_maxlist_is_advertised_and_enforced(make_server):
    from ..support import RawClient

    server = await make_server(max_list_entries=2)
    alice = await RawClient.connect(server.port)
    await alice.send("NICK alice", "USER a 0 * :A")
    tokens = []
    while (msg := await alice.recv()).command != "376":
        if msg.command == "005":
            tokens += msg.params[1:-1]
    assert "MAXLIST=beI:2" in tokens and "EXCEPTS=e" in tokens and "INVEX=I" in tokens
    assert any(t.startswith("CHANMODES=beI,") for t in tokens)
    await alice.send("JOIN #c", "MODE #c +b a", "MODE #c +b b", "MODE #c +b c")
    err = await alice.expect("478")
    assert err.params[1:3] == ("#c", "b")
    await alice.close()


def test_channel_op_masks_match_the_cloak_and_oper_masks_the_real_address():
    srv = MemoryServer(cloak_hosts=True)
    alice = srv.connect("alice")
    oper = srv.connect("oper")
    bob = srv.connect("bob", ip="10.1.2.3")
    alice.send("JOIN #c")
    alice.send("MODE #c +b *!*@10.1.2.3")  # a channel operator cannot ban by real address
    assert cmds(bob.send("JOIN #c"))[0] == "JOIN"
    bob.send("PART #c")
    srv.state.set_oper(oper.client, True)
    oper.send("MODE #c +b *!*@10.1.*")  # an IRC operator can
    assert cmds(bob.send("JOIN #c")) == ["474"]
    alice.send("MODE #c -b *!*@10.1.*")
    cloak = bob.client.host
    alice.send(f"MODE #c +b *!*@{cloak.upper()}")  # the cloak matches, in any case
    assert cmds(bob.send("JOIN #c")) == ["474"]


def test_list_changes_need_channel_operator_and_removal_echoes_the_stored_mask():
    srv = MemoryServer()
    alice = srv.connect("alice")
    bob = srv.connect("bob")
    alice.send("JOIN #c")
    bob.send("JOIN #c")
    assert cmds(bob.send("MODE #c +b x")) == ["482"]
    assert cmds(bob.send("MODE #c +b")) == ["368"]  # anyone may read the list
    alice.send("MODE #c +b Evil")
    out = alice.send("MODE #c -b EVIL!*@*")
    assert out[0].params == ("#c", "-b", "Evil!*@*")
    assert alice.send("MODE #c -b evil") == []  # already gone: no change, no echo
