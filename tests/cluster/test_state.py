"""State shared across nodes beyond messages and membership (real redis-server, PostgreSQL).

The sender's echo in the channel's cluster order; REDACT, WALLOPS, account-notify, MONITOR and
WHOWAS across nodes; LIST and LUSERS counting the whole network; TOPIC, NAMES, MODE and WHO about
a channel whose members are all on other nodes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ..postgres import fresh_pg_url
from ..support import RawClient, sync
from .support import until_known

pytestmark = pytest.mark.redis


async def _texts(client: RawClient, count: int) -> list[str]:
    texts: list[str] = []
    while len(texts) < count:
        msg = await client.expect("PRIVMSG")
        texts.append(msg.params[1])
    return texts


async def _echo_order(nodes: list, users) -> None:  # noqa: F811
    senders = [await users(nodes[i], f"s{i}", "echo-message") for i in range(2)]
    listeners = [await users(nodes[i], f"l{i}") for i in range(2)]
    everyone = senders + listeners
    for c in everyone:
        await c.join("#order")
    for c in everyone:
        await sync(c)
    per_sender = 40
    await asyncio.gather(*(
        s.send(*(f"PRIVMSG #order :{s.nick}-{k}" for k in range(per_sender))) for s in senders
    ))
    seen = {c.nick: await _texts(c, 2 * per_sender) for c in everyone}
    first = seen["l0"]
    assert sorted(first) == sorted(f"s{i}-{k}" for i in range(2) for k in range(per_sender))
    for nick, order in seen.items():  # the senders' echoes sit where every member sees the line
        assert order == first, f"{nick} saw another order"


async def test_senders_echoes_sit_in_the_channel_order_every_member_sees(cluster, users):  # noqa: F811
    await _echo_order([await cluster(), await cluster()], users)


@pytest.mark.postgres
async def test_echo_order_holds_with_history_too(cluster, users, pg_socket_dir, tmp_path: Path):  # noqa: F811
    url = await fresh_pg_url(pg_socket_dir)
    nodes = [await cluster(history=True, database_url=url, data_dir=tmp_path) for _ in range(2)]
    await _echo_order(nodes, users)


async def test_echo_keeps_its_label_and_its_place_among_the_senders_replies(cluster, users):  # noqa: F811
    a, b = await cluster(), await cluster()
    alice = await users(a, "alice", "echo-message labeled-response batch message-tags")
    bob = await users(b, "bob")
    await alice.join("#l")
    await bob.join("#l")
    await sync(alice)
    await alice.send("@label=m1 PRIVMSG #l :labelled", "PING :after")
    echo = await alice.expect("PRIVMSG")
    assert echo.tags.get("label") == "m1" and echo.params == ("#l", "labelled")
    assert (await alice.recv()).command == "PONG"  # the reply to the next command waits behind it
    assert (await bob.expect("PRIVMSG")).params == ("#l", "labelled")


async def test_wallops_reach_plus_w_users_on_every_node(cluster, users):  # noqa: F811
    a, b = await cluster(oper_password="pw"), await cluster()
    oper = await users(a, "oper")
    watcher, quiet = await users(b, "watcher"), await users(b, "quiet")
    await watcher.send("MODE watcher +w")
    await watcher.expect("MODE")
    await until_known(oper, "watcher")
    await oper.send("OPER admin pw")
    await oper.expect("381")
    await oper.send("WALLOPS :servers restart at noon")
    got = await watcher.expect("WALLOPS")
    assert got.source.startswith("oper!") and got.params == ("servers restart at noon",)
    assert not any(m.command == "WALLOPS" for m in await sync(quiet))


async def test_monitor_and_whowas_follow_users_of_other_nodes(cluster, users):  # noqa: F811
    a, b = await cluster(), await cluster()
    alice = await users(a, "alice")
    await alice.send("MONITOR + bob,bobby")
    assert (await alice.expect("731")).params[-1] == "bob,bobby"
    bob = await users(b, "bob")
    assert (await alice.expect("730")).params[-1].startswith("bob!")  # came online on node 2
    await bob.send("NICK bobby")
    assert (await alice.expect("731")).params[-1] == "bob"
    assert (await alice.expect("730")).params[-1].startswith("bobby!")
    await bob.send("QUIT :bye")
    assert (await alice.expect("731")).params[-1] == "bobby"
    await alice.send("WHOWAS bobby", "WHOWAS bob")  # both nicks were left on node 2
    was = await alice.expect("314")
    assert was.params[1] == "bobby" and was.params[-1] == "bob test"
    assert (await alice.expect("369")).params[1] == "bobby"
    assert (await alice.expect("314")).params[1] == "bob"


async def test_list_and_lusers_count_the_whole_network(cluster, users):  # noqa: F811
    a, b, c = await cluster(), await cluster(), await cluster()
    alice, bob = await users(a, "alice"), await users(b, "bob")
    await alice.join("#one")
    await alice.send("TOPIC #one :first room")
    await alice.expect("TOPIC")
    await bob.join("#two")
    await alice.send("JOIN #two")
    await bob.expect("JOIN")
    await bob.join("#hidden")
    await bob.send("MODE #hidden +s")
    await bob.expect("MODE")
    carol = await users(c, "carol")  # on a node without any member of either room
    await until_known(carol, "alice")
    await until_known(carol, "bob")
    await carol.send("LIST")
    listed = {}
    while (msg := await carol.recv()).command != "323":
        if msg.command == "322":
            listed[msg.params[1]] = (msg.params[2], msg.params[3])
    assert listed == {"#one": ("1", "first room"), "#two": ("2", "")}  # not the +s one
    await carol.send("LIST #two,#none")
    assert (await carol.expect("322")).params[1:3] == ("#two", "2")
    assert (await carol.expect("323"))
    for _ in range(100):  # channels and nodes are read with each heartbeat: bounded wait
        await carol.send("LUSERS")
        client_line = (await carol.expect("251")).params[-1]
        channels = (await carol.expect("254")).params[1]
        if client_line == "There are 3 users and 0 invisible on 3 servers" and channels == "3":
            break
        await asyncio.sleep(0.05)
    assert client_line == "There are 3 users and 0 invisible on 3 servers"
    assert channels == "3"
    assert (await carol.expect("255")).params[-1] == "I have 1 clients and 2 servers"


async def test_queries_about_a_channel_whose_members_are_all_on_other_nodes(cluster, users):  # noqa: F811
    a, b = await cluster(), await cluster()
    op = await users(a, "op")
    await op.join("#far")
    await op.send("TOPIC #far :far away", "MODE #far +k sesame", "MODE #far +b troll!*@*")
    await op.expect("MODE", lambda m: m.params[1] == "+b")
    asker = await users(b, "asker", "labeled-response batch message-tags")
    await until_known(asker, "op")
    await asker.send("TOPIC #far", "NAMES #far", "MODE #far", "MODE #far b", "WHO #far")
    replies = await sync(asker, "end")  # what came before the PONG: every answer, in order
    by = {m.command: m for m in replies}
    assert by["332"].params[1:] == ("#far", "far away")
    assert by["353"].params[-1] == "@op"
    assert by["324"].params[1:] == ("#far", "+ntk", "*")  # a non-member does not see the key
    assert by["367"].params[2] == "troll!*@*"
    assert by["352"].params[5] == "op"
    order = [m.command for m in replies if m.command in ("332", "366", "324", "368", "315")]
    assert order == ["332", "366", "324", "368", "315"]  # in the order of the commands
    await asker.send("@label=n1 NAMES #far")
    start = await asker.expect("BATCH")
    assert start.tags.get("label") == "n1" and start.params[1] == "labeled-response"
    assert (await asker.expect("353")).tags.get("batch") == start.params[0][1:]
    await asker.send("TOPIC #nowhere")
    assert (await asker.expect("403")).params[1] == "#nowhere"


@pytest.mark.postgres
async def test_redact_and_account_notify_reach_other_nodes(
    cluster, users, pg_socket_dir, tmp_path: Path  # noqa: F811
) -> None:
    url = await fresh_pg_url(pg_socket_dir)
    a, b = [await cluster(history=True, database_url=url, data_dir=tmp_path) for _ in range(2)]
    caps = "message-tags echo-message draft/message-redaction account-notify"
    alice, bob = await users(a, "alice", caps), await users(b, "bob", caps)
    await alice.join("#red")
    await bob.join("#red")
    await sync(alice)
    await alice.send("PRIVMSG #red :oops")
    msgid = (await bob.expect("PRIVMSG")).tags["msgid"]
    await alice.expect("PRIVMSG")
    await alice.send(f"REDACT #red {msgid} :typo")
    redact = await bob.expect("REDACT")
    assert redact.source.startswith("alice!") and redact.params == ("#red", msgid, "typo")
    await alice.send("PRIVMSG bob :psst")  # a private message to the other node, then its redaction
    private = (await bob.expect("PRIVMSG")).tags["msgid"]
    await alice.expect("PRIVMSG")
    await alice.send(f"REDACT bob {private}")
    assert (await bob.expect("REDACT")).params == ("bob", private)
    carol = await users(b, "carol", "extended-monitor account-notify")  # shares no channel
    await carol.send("MONITOR + alice")
    await carol.expect("730")
    await alice.send("REGISTER * * :hunter2hunter2")
    await alice.expect("REGISTER", lambda m: m.params[0] == "SUCCESS")
    for peer in (bob, carol):  # a channel peer and a monitor watcher on the other node
        account = await peer.expect("ACCOUNT")
        assert account.source.startswith("alice!") and account.params == ("alice",)



async def test_whowas_on_a_node_started_later_knows_nicks_left_before(cluster, users, redis_server):  # noqa: F811
    import redis.asyncio as aioredis

    a = await cluster()
    bob = await users(a, "bob")
    await bob.send("NICK bobby")
    await bob.expect("NICK")
    await bob.send("QUIT :gone")
    await bob.read_until_closed()
    r = aioredis.from_url(redis_server.url)
    for _ in range(100):  # bounded: until node 1 wrote both entries
        if await r.llen("tcpchat:whowas") >= 2:
            break
        await asyncio.sleep(0.02)
    await r.aclose()
    b = await cluster()  # started after bob left
    asker = await users(b, "asker")
    await asker.send("WHOWAS bobby", "WHOWAS bob")
    was = await asker.expect("314")
    assert was.params[1:3] == ("bobby", "~bob") and was.params[-1] == "bob test"
    assert (await asker.expect("314")).params[1] == "bob"
