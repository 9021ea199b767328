"""Multi-target KICK, NAMES and WHOWAS (announced by TARGMAX) and LIST's ELIST C/T time filters,
over real sockets. Each test names the irctest case that used to skip for want of it."""

from __future__ import annotations

from ..support import RawClient, sync
from .test_extensions import welcome_tokens


def targmax(tokens: list[str]) -> dict[str, str]:
    """The TARGMAX entries of a 005 burst, command -> limit ('' = no limit)."""
    value = next(t for t in tokens if t.startswith("TARGMAX="))[len("TARGMAX="):]
    return dict(item.split(":", 1) for item in value.split(","))


async def test_targmax_announces_the_query_target_limit(make_server):
    server = await make_server(max_query_targets=3)
    client = await RawClient.connect(server.port)
    limits = targmax(await welcome_tokens(client, "alice"))
    assert limits["KICK"] == limits["NAMES"] == limits["WHOWAS"] == "3"
    await client.close()


async def test_kick_takes_several_nicks_or_channel_nick_pairs(connect):
    """irctest kick.py testDoubleKickMessages (both forms)."""
    op = await connect("op")
    await op.join("#a")
    await op.join("#b")
    bar, baz, qux = await connect("bar"), await connect("baz"), await connect("qux")
    for c in (bar, baz, qux):
        await c.join("#a")
    await baz.join("#b")
    await sync(op)
    await sync(qux)
    await op.send("KICK #a bar,baz :bye")
    kicks = [m for m in await sync(qux) if m.command == "KICK"]
    assert sorted(m.params[1] for m in kicks) == ["bar", "baz"]
    assert all(m.params[0] == "#a" and m.params[2] == "bye" for m in kicks)
    await sync(op)
    await op.send("KICK #a,#b qux,baz :pairs")
    got = [m for m in await sync(op) if m.command == "KICK"]
    assert [(m.params[0], m.params[1]) for m in got] == [("#a", "qux"), ("#b", "baz")]


async def test_kick_refuses_mismatched_pairs_and_too_many_nicks(make_server):
    server = await make_server(max_query_targets=2)
    op = await RawClient.connect(server.port)
    await op.register("op")
    await op.join("#a")
    await op.send("KICK #a,#b x,y,z")
    assert [m.command for m in await sync(op)] == ["461"]
    await op.send("KICK #a x,y,z")
    assert [m.command for m in await sync(op)] == ["407"]
    await op.close()


async def test_kick_without_privileges_answers_once_per_channel(connect):
    op = await connect("op")
    await op.join("#a")
    bar, baz = await connect("bar"), await connect("baz")
    await bar.join("#a")
    await baz.join("#a")
    await sync(bar)
    await bar.send("KICK #a op,baz")
    assert [m.command for m in await sync(bar)] == ["482"]
    await bar.send("KICK #a,#nowhere baz,op")  # #a is still refused; #nowhere does not exist
    assert [m.command for m in await sync(bar)] == ["482", "403"]


async def test_names_of_several_channels_ends_once_with_the_list_as_asked(connect):
    """irctest names.py testNamesMultipleChannels2812."""
    alice = await connect("alice")
    await alice.join("#one")
    await alice.join("#two")
    await sync(alice)
    await alice.send("NAMES #one,#missing,#two")
    got = [m for m in await sync(alice) if m.command in ("353", "366")]
    assert [(m.command, m.params[-2]) for m in got] == [
        ("353", "#one"), ("353", "#two"), ("366", "#one,#missing,#two")
    ]
    await alice.send("NAMES #missing")  # one channel: its own end marker, as before
    assert [(m.command, m.params[1]) for m in await sync(alice)] == [("366", "#missing")]


async def test_whowas_of_several_nicks_is_newest_first_whatever_the_order(connect):
    """irctest whowas.py testWhowasMultiTarget (both orders)."""
    asker = await connect("asker")
    for nick in ("old", "new"):
        gone = await connect(nick)
        await gone.send("QUIT")
        await gone.read_until_closed()
    for targets in ("old,new,never", "never,new,old"):
        await asker.send(f"WHOWAS {targets}")
        got = await sync(asker)
        assert [m.params[1] for m in got if m.command == "314"] == ["new", "old"]
        assert [m.params[1] for m in got if m.command == "406"] == ["never"]
        assert (got[-1].command, got[-1].params[1]) == ("369", targets)
    await asker.send("WHOWAS new,old 1")  # the count is per nick
    assert len([m for m in await sync(asker) if m.command == "314"]) == 2


async def test_list_filters_by_creation_and_topic_time(server, connect):
    """irctest list.py testListCreationTime and testListTopicTime (ages set on the state
    instead of waiting minutes)."""
    alice = await connect("alice")
    for name in ("#old", "#new", "#bare"):
        await alice.join(name)
    await alice.send("TOPIC #old :old topic", "TOPIC #new :new topic")
    await sync(alice)
    old, new, bare = (server.state.get_channel(n) for n in ("#old", "#new", "#bare"))
    old.created -= 180
    old.topic_at -= 180
    new.created -= 60
    bare.created -= 60

    async def listed(terms: str) -> set[str]:
        await alice.send(f"LIST {terms}")
        return {m.params[1] for m in await sync(alice) if m.command == "322"}

    assert await listed("C>2") == {"#old"}
    assert await listed("C<2") == {"#new", "#bare"}
    assert await listed("C<0") == set()
    assert await listed("C>0") == {"#old", "#new", "#bare"}
    assert await listed("T>2") == {"#old"}
    assert await listed("T<2") == {"#new"}  # no topic: no topic time to match
    assert await listed("T<10,C>2") == {"#old"}
