"""Three nodes on one real redis-server: rooms, private messages and nicks shared across nodes."""

from __future__ import annotations

import asyncio

import pytest

from ..support import sync
from .support import until_known

pytestmark = pytest.mark.redis


async def test_channel_messages_cross_nodes_in_one_order(cluster, users):  # noqa: F811
    nodes = [await cluster() for _ in range(3)]
    clients = [await users(nodes[i % 3], f"u{i}") for i in range(6)]
    for c in clients:
        await c.join("#room")
    for c in clients:  # everyone sees the five others join (JOINs cross nodes)
        await sync(c)
    per_sender = 20
    await asyncio.gather(*(
        c.send(*(f"PRIVMSG #room :{c.nick}-{k}" for k in range(per_sender))) for c in clients[:3]
    ))
    seen: dict[str, list[str]] = {}
    for c in clients[3:]:  # the listeners (no echo-message): all 60 lines, in one order
        texts: list[str] = []
        while len(texts) < 3 * per_sender:
            msg = await c.expect("PRIVMSG")
            texts.append(msg.params[1])
        seen[c.nick] = texts
    orders = list(seen.values())
    assert all(o == orders[0] for o in orders), "members on different nodes saw different orders"
    assert sorted(orders[0]) == sorted(f"u{i}-{k}" for i in range(3) for k in range(per_sender))
    for i in range(3):  # and each sender's lines in the order it sent them
        mine = [t for t in orders[0] if t.startswith(f"u{i}-")]
        assert mine == [f"u{i}-{k}" for k in range(per_sender)]


async def test_names_and_who_show_members_on_other_nodes(cluster, users):  # noqa: F811
    a, b = await cluster(), await cluster()
    alice = await users(a, "alice")
    await alice.join("#x")
    bob = await users(b, "bob")
    await bob.send("JOIN #x")
    join = await alice.expect("JOIN")
    assert join.source.startswith("bob!")
    names = await bob.expect("353")
    assert set(names.params[-1].split()) == {"@alice", "bob"}
    await bob.send("WHO #x")
    who = []
    while True:
        msg = await bob.recv()
        if msg.command == "315":
            break
        if msg.command == "352":
            who.append(msg.params[5])
    assert sorted(who) == ["alice", "bob"]


async def test_private_messages_reach_other_nodes(cluster, users):  # noqa: F811
    a, _, c = await cluster(), await cluster(), await cluster()
    alice, bob = await users(a, "alice"), await users(c, "bob")
    await until_known(alice, "bob")
    await alice.send("PRIVMSG bob :hi from node 1")
    msg = await bob.expect("PRIVMSG")
    assert msg.source.startswith("alice!") and msg.params == ("bob", "hi from node 1")
    await bob.send("PRIVMSG Alice :and back")
    assert (await alice.expect("PRIVMSG")).params == ("alice", "and back")
    await alice.send("PRIVMSG nobody :x")
    assert (await alice.expect("401")).params[1] == "nobody"


async def test_nick_collision_across_nodes_answers_433(cluster, users):  # noqa: F811
    a, b = await cluster(), await cluster()
    await users(a, "Taken")
    late = await users(b, "late")
    await late.send("NICK taken")
    assert (await late.expect("433")).params[1] == "taken"
    from ..support import RawClient

    fresh = await RawClient.connect(b.port)
    await fresh.send("NICK TAKEN", "USER x 0 * :x")
    assert (await fresh.expect("433")).params[1] == "TAKEN"
    await fresh.send("NICK other")
    await fresh.expect("376")
    await fresh.close()


async def test_part_kick_topic_nick_quit_cross_nodes(cluster, users):  # noqa: F811
    a, b, c = await cluster(), await cluster(), await cluster()
    op = await users(a, "op")
    await op.join("#r")
    bob, carol = await users(b, "bob"), await users(c, "carol")
    await bob.join("#r")
    await carol.join("#r")
    await sync(op)
    await op.send("TOPIC #r :cluster topic")
    for u in (bob, carol):
        t = await u.expect("TOPIC")
        assert t.params == ("#r", "cluster topic") and t.source.startswith("op!")
    await bob.send("NICK bobby")
    for u in (op, carol):
        n = await u.expect("NICK")
        assert n.source.startswith("bob!") and n.params[0] == "bobby"
    await op.send("KICK #r bobby :out")
    for u in (op, bob, carol):
        k = await u.expect("KICK")
        assert k.params[:2] == ("#r", "bobby")
    await carol.send("PART #r :bye")
    for u in (op, carol):
        p = await u.expect("PART")
        assert p.source.startswith("carol!")
    await carol.join("#r")
    await op.expect("JOIN")
    await carol.send("QUIT :done")
    q = await op.expect("QUIT")
    assert q.source.startswith("carol!") and q.params[0] == "Quit: done"
    dave = await users(c, "dave")  # a later joiner on a third node sees the topic and who is left
    await dave.send("JOIN #r")
    assert (await dave.expect("332")).params[-1] == "cluster topic"
    assert set((await dave.expect("353")).params[-1].split()) == {"@op", "dave"}


async def test_modes_cross_nodes(cluster, users):  # noqa: F811
    a, b, c = await cluster(), await cluster(), await cluster()
    op = await users(a, "op")
    await op.join("#m")
    bob, carol = await users(b, "bob"), await users(c, "carol")
    await bob.join("#m")
    await carol.join("#m")
    await sync(op)
    await op.send("MODE #m +mo bob")
    for u in (bob, carol):
        m = await u.expect("MODE")
        assert m.params == ("#m", "+mo", "bob")
    await carol.send("PRIVMSG #m :muted?")  # +m is known on carol's node
    assert (await carol.expect("404")).params[1] == "#m"
    await bob.send("KICK #m carol :remote op")  # bob's node knows he is an operator now
    for u in (op, carol):
        assert (await u.expect("KICK")).params[:2] == ("#m", "carol")
    await bob.send("NAMES #m")
    assert set((await bob.expect("353")).params[-1].split()) == {"@op", "@bob"}


async def test_stats_l_lists_every_node_and_kill_reaches_other_nodes(cluster, users):  # noqa: F811
    a, b = await cluster(oper_password="pw"), await cluster()
    admin = await users(a, "admin", "message-tags")
    bob, carol = await users(b, "bob"), await users(b, "carol")
    await bob.join("#k")
    await carol.join("#k")
    await until_known(admin, "bob")
    await until_known(admin, "carol")
    await admin.send("OPER admin pw")
    await admin.expect("381")
    await admin.send("STATS l")
    nodes = {}
    while (msg := await admin.recv()).command != "219":
        if msg.command == "211":
            nodes[msg.tags["tcpchat.example/nick"]] = msg.tags["tcpchat.example/node"]
    assert nodes == {"admin": "n1", "bob": "n2", "carol": "n2"}
    await admin.send("KILL bob :bye")
    error = await bob.expect("ERROR")
    assert "Killed (admin (bye))" in error.params[0]
    kills = [m for m in bob.seen if m.command in ("KILL", "ERROR")]  # as a local kill: KILL first
    assert [m.command for m in kills] == ["KILL", "ERROR"]
    assert kills[0].source.startswith("admin!") and kills[0].params == ("bob", "bye")
    quit_ = await carol.expect("QUIT")
    assert quit_.source.startswith("bob!")


async def test_relay_after_commit_is_refused_in_cluster_mode(cluster):  # noqa: F811
    from tcp_server.server import StartupError

    with pytest.raises(StartupError, match="relay_after_commit"):
        await cluster(relay_after_commit=True)


async def test_away_setname_tagmsg_statusmsg_cross_nodes(cluster, users):  # noqa: F811
    a, b, c = await cluster(), await cluster(), await cluster()
    alice = await users(a, "alice", "message-tags setname")
    await alice.join("#r")
    bob = await users(b, "bob", "away-notify setname")  # no message-tags
    carol = await users(c, "carol", "message-tags")
    await bob.join("#r")
    await carol.join("#r")
    await sync(alice)
    await alice.send("MODE #r +o carol")  # alice (creator) and carol are operators, bob is not
    await carol.expect("MODE")
    await alice.send("AWAY :lunch")
    assert (await bob.expect("AWAY")).params == ("lunch",)
    await bob.send("PRIVMSG alice :there?")
    assert (await bob.expect("301")).params[-1] == "lunch"
    await alice.send("SETNAME :Alice Liddell")
    assert (await bob.expect("SETNAME")).params == ("Alice Liddell",)
    await alice.send("@+typing=active TAGMSG #r", "PRIVMSG @#r :ops only")
    tag = await carol.expect("TAGMSG")
    assert tag.tags.get("+typing") == "active"
    assert (await carol.expect("PRIVMSG")).params == ("@#r", "ops only")
    await alice.send("PRIVMSG #r :for all")
    seen = []
    while not seen or seen[-1] != "PRIVMSG #r for all":  # channel order: what came before it is here
        msg = await bob.recv()
        seen.append(msg.command + " " + " ".join(msg.params))
    assert not any("TAGMSG" in s or "ops only" in s for s in seen)  # bob: no tags, not an operator


async def test_channel_modes_hold_for_first_joiner_on_another_node(cluster, users):  # noqa: F811
    a, b = await cluster(), await cluster()
    op = await users(a, "op")
    await op.join("#locked")
    await op.send("MODE #locked +k sesame")
    await op.expect("MODE")
    bob = await users(b, "bob")  # nobody on bob's node is in #locked: it learns the key from Redis
    await bob.send("JOIN #locked", "PING :after")
    assert (await bob.expect("475")).params[1] == "#locked"
    assert (await bob.expect("PONG")).params[-1] == "after"  # replies stay in command order
    await bob.send("JOIN #locked,#locked sesame", "PING :again")
    replies = [m.command for m in await sync(bob, "again")]
    assert replies.count("JOIN") == 1 and replies.index("JOIN") < replies.index("366")
    assert "475" not in replies
    await op.expect("JOIN")


async def test_bans_set_on_one_node_hold_on_the_others(cluster, users):  # noqa: F811
    a, b, c = await cluster(), await cluster(), await cluster()
    op = await users(a, "op")
    await op.join("#b")
    bob = await users(b, "bob")
    await bob.join("#b")
    await sync(op)
    await op.send("MODE #b +b mallory!*@*")
    await bob.expect("MODE")
    mallory = await users(c, "mallory")  # on a node that learns the channel from Redis
    await mallory.send("JOIN #b")
    assert (await mallory.expect("474")).params[1] == "#b"
    mallory2 = await users(b, "Mallory2")
    await mallory2.send("NICK mallory_", "JOIN #b")  # not banned: joins on a node that follows #b
    await mallory2.expect("366")
    await bob.send("MODE #b +b bob2!*@*", "MODE #b b")
    bans = []
    while (msg := await bob.recv()).command != "368":
        if msg.command == "367":
            bans.append(msg.params[2])
    assert bans == ["mallory!*@*"]  # bob is no operator: his +b was refused, the list is op's


async def test_invite_reaches_a_user_on_another_node_and_lets_it_in(cluster, users):  # noqa: F811
    a, b, c = await cluster(), await cluster(), await cluster()
    op = await users(a, "op")
    await op.join("#inv")
    await op.send("MODE #inv +i")
    await op.expect("MODE")
    bob, carol = await users(b, "bob"), await users(c, "carol")
    await until_known(op, "bob")
    await op.send("INVITE bob #inv")
    await op.expect("341")
    invite = await bob.expect("INVITE")
    assert invite.source.startswith("op!") and invite.params == ("bob", "#inv")
    await bob.send("JOIN #inv")
    await bob.expect("366")
    await op.expect("JOIN")
    await carol.send("JOIN #inv")
    assert (await carol.expect("473")).params[1] == "#inv"


async def test_an_invitation_is_used_once_cluster_wide(cluster, users):  # noqa: F811
    a, b = await cluster(), await cluster()
    op = await users(a, "op")
    await op.join("#once")
    await op.send("MODE #once +i")
    await op.expect("MODE")
    bob = await users(b, "bob")
    await until_known(op, "bob")
    await op.send("INVITE bob #once")
    await op.expect("341")
    await bob.send("JOIN #once")
    await bob.expect("366")
    await op.expect("JOIN")
    await bob.send("PART #once")  # bob's node follows #once no longer
    await op.expect("PART")
    await bob.send("JOIN #once")  # the invitation was used: +i keeps bob out now
    assert (await bob.expect("473")).params[1] == "#once"


async def test_multiline_batch_reaches_members_on_other_nodes(cluster, users):  # noqa: F811
    from ..conformance.test_chat_ext import read_batch

    caps = "batch draft/multiline message-tags"
    a, b = await cluster(), await cluster()
    alice, amy = await users(a, "alice", caps), await users(a, "amy", caps)
    bob, carol = await users(b, "bob", caps), await users(b, "carol", "message-tags")
    for u in (alice, amy, bob, carol):
        await u.join("#ml")
    for u in (alice, amy, bob, carol):
        await sync(u)
    await alice.send(
        "BATCH +b1 draft/multiline #ml", "@batch=b1 PRIVMSG #ml :hello", "@batch=b1 PRIVMSG #ml :",
        "@batch=b1 PRIVMSG #ml :how is ", "@batch=b1;draft/multiline-concat PRIVMSG #ml :everyone?", "BATCH -b1",
    )
    for member in (amy, bob):  # on the sender's node and on the other: one batch
        got = await read_batch(member)
        assert got[0].source.startswith("alice!") and got[0].params[1:] == ("draft/multiline", "#ml")
        assert [m.params[1] for m in got[1:]] == ["hello", "", "how is ", "everyone?"]
    plain = [await carol.expect("PRIVMSG") for _ in range(3)]  # without the cap: separate lines
    assert [m.params[1] for m in plain] == ["hello", "how is ", "everyone?"]
    assert [m for m in await sync(alice) if m.command in ("BATCH", "PRIVMSG")] == []  # no echo asked
