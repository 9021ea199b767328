"""Channel commands in memory: JOIN, PART, TOPIC, NAMES, LIST, KICK, INVITE and channel modes."""

from __future__ import annotations

from tcp_server.commands import dispatch
from tcp_server.protocol import parse_line

from ..support import MemoryServer


def cmds(msgs):
    return [m.command for m in msgs]


def names_of(msgs):
    return [n for m in msgs if m.command == "353" for n in m.params[-1].split()]


def room(*nicks, channel="#room", caps=""):
    """A server where every nick joined ``channel`` in order (the first is op); output drained."""
    srv = MemoryServer()
    conns = [srv.connect(n, caps=caps) for n in nicks]
    for c in conns:
        c.send(f"JOIN {channel}")
    for c in conns:
        c.take()
    return srv, conns


def test_join_creates_channel_creator_is_op_and_gets_names():
    srv = MemoryServer()
    alice = srv.connect("alice")
    out = alice.send("JOIN #Lobby")
    assert out[0].command == "JOIN" and out[0].params == ("#Lobby",)
    assert names_of(out) == ["@alice"]
    assert out[-1].command == "366"
    bob = srv.connect("bob")
    out = bob.send("JOIN #lobby")
    assert out[0].params == ("#Lobby",)  # the channel keeps its first spelling
    assert sorted(names_of(out)) == ["@alice", "bob"]
    assert [m.command for m in alice.take()] == ["JOIN"]


def test_join_several_channels_and_join_zero_leaves_all():
    srv = MemoryServer()
    alice = srv.connect("alice")
    out = alice.send("JOIN #a,#b,&c")
    assert [m.params[0] for m in out if m.command == "JOIN"] == ["#a", "#b", "&c"]
    out = alice.send("JOIN 0")
    assert sorted(m.params[0] for m in out if m.command == "PART") == ["#a", "#b", "&c"]
    assert srv.state.channels == {}


def test_join_bad_name_403_and_too_many_channels_405():
    srv = MemoryServer(max_channels_per_client=2)
    alice = srv.connect("alice")
    assert cmds(alice.send("JOIN lobby")) == ["403"]
    alice.send("JOIN #a,#b")
    out = alice.send("JOIN #c")
    assert cmds(out) == ["405"]


def test_join_twice_is_silent():
    _, (alice,) = room("alice")
    assert alice.send("JOIN #room") == []


def test_part_errors_and_broadcast():
    srv, (alice, bob) = room("alice", "bob")
    assert cmds(bob.send("PART #nope")) == ["403"]
    srv.connect("carol").send("JOIN #other")
    assert cmds(bob.send("PART #other")) == ["442"]
    out = bob.send("PART #room :see you")
    assert out[0].command == "PART" and out[0].params == ("#room", "see you")
    assert alice.take()[0].params == ("#room", "see you")
    assert bob.client.channels == {}


def test_last_member_leaving_destroys_the_channel():
    srv, (alice,) = room("alice")
    alice.send("PART #room")
    assert srv.state.get_channel("#room") is None


def test_topic_query_set_and_plus_t():
    srv, (alice, bob) = room("alice", "bob")
    assert cmds(bob.send("TOPIC #room")) == ["331"]
    assert cmds(bob.send("TOPIC #room :mine")) == ["482"]  # +t by default
    out = alice.send("TOPIC #room :Welcome all")
    assert out[0].command == "TOPIC" and out[0].params == ("#room", "Welcome all")
    assert bob.take()[0].params == ("#room", "Welcome all")
    out = bob.send("TOPIC #room")
    assert cmds(out) == ["332", "333"] and out[0].params[-1] == "Welcome all"
    assert out[1].params[2].startswith("alice!")
    alice.send("MODE #room -t")
    bob.take()
    assert bob.send("TOPIC #room :bob's now")[0].command == "TOPIC"
    carol = srv.connect("carol")
    assert cmds(carol.send("TOPIC #room :x")) == ["442"]
    assert cmds(carol.send("TOPIC #none")) == ["403"]
    joined = carol.send("JOIN #room")
    assert "332" in cmds(joined)


def test_topic_is_truncated_to_topiclen():
    srv = MemoryServer(topic_len=5)
    alice = srv.connect("alice")
    alice.send("JOIN #a")
    assert alice.send("TOPIC #a :abcdefgh")[0].params[1] == "abcde"


def test_names_multi_prefix():
    _, (alice, bob) = room("alice", "bob", caps="multi-prefix")
    alice.send("MODE #room +v alice")
    assert sorted(names_of(bob.send("NAMES #room"))) == ["@+alice", "bob"]
    bob.send("CAP REQ :-multi-prefix")
    assert sorted(names_of(bob.send("NAMES #room"))) == ["@alice", "bob"]
    assert cmds(bob.send("NAMES #nothing")) == ["366"]


def test_list_shows_counts_and_topics_hides_secret_channels():
    srv, (alice, bob) = room("alice", "bob")
    alice.send("TOPIC #room :chat here", "JOIN #hidden", "MODE #hidden +s")
    carol = srv.connect("carol")
    out = carol.send("LIST")
    assert cmds(out) == ["321", "322", "323"]
    assert out[1].params[1:] == ("#room", "2", "chat here")
    assert [m.params[1] for m in alice.send("LIST") if m.command == "322"] == ["#room", "#hidden"]


def test_kick_by_op_and_its_errors():
    srv, (alice, bob, carol) = room("alice", "bob", "carol")
    assert cmds(bob.send("KICK #room carol")) == ["482"]
    assert cmds(alice.send("KICK #room nobody")) == ["441"]
    assert cmds(alice.send("KICK #none carol")) == ["403"]
    outsider = srv.connect("dave")
    assert cmds(outsider.send("KICK #room carol")) == ["442"]
    out = alice.send("KICK #room carol :behave")
    assert out[0].command == "KICK" and out[0].params == ("#room", "carol", "behave")
    assert bob.take()[0].params == ("#room", "carol", "behave")
    assert carol.take()[0].command == "KICK"
    assert "#room" not in carol.client.channels
    assert cmds(carol.send("PRIVMSG #room :hi")) == ["404"]


def test_invite_lets_a_user_into_an_invite_only_channel_once():
    srv, (alice, bob) = room("alice", "bob")
    alice.send("MODE #room +i")
    bob.take()
    carol = srv.connect("carol")
    assert cmds(carol.send("JOIN #room")) == ["473"]
    assert cmds(bob.send("INVITE carol #room")) == ["482"]  # +i: ops only
    assert cmds(alice.send("INVITE nobody #room")) == ["401"]
    assert cmds(alice.send("INVITE bob #room")) == ["443"]
    assert cmds(carol.send("INVITE alice #room")) == ["442"]
    out = alice.send("INVITE carol #room")
    assert out[0].command == "341" and out[0].params[1:] == ("carol", "#room")
    got = carol.take()
    assert got[0].command == "INVITE" and got[0].params == ("carol", "#room")
    assert carol.send("JOIN #room")[0].command == "JOIN"
    carol.send("PART #room")
    assert cmds(carol.send("JOIN #room")) == ["473"]  # the invite was used up


def test_mode_key_475():
    srv, (alice,) = room("alice")
    out = alice.send("MODE #room +k sekrit")
    assert out[0].command == "MODE" and out[0].params == ("#room", "+k", "sekrit")
    bob = srv.connect("bob")
    assert cmds(bob.send("JOIN #room")) == ["475"]
    assert cmds(bob.send("JOIN #room wrong")) == ["475"]
    assert bob.send("JOIN #room sekrit")[0].command == "JOIN"
    assert bob.send("MODE #room")[0].params[1:] == ("#room", "+ntk", "sekrit")
    alice.take()
    assert alice.send("MODE #room -k")[0].params == ("#room", "-k", "*")


def test_mode_query_shows_key_only_to_members():
    srv, (alice,) = room("alice")
    alice.send("MODE #room +kl sekrit 5")
    out = alice.send("MODE #room")
    assert out[0].command == "324" and out[0].params[1:] == ("#room", "+ntlk", "5", "sekrit")
    assert out[1].command == "329"
    assert srv.connect("bob").send("MODE #room")[0].params[-1] == "*"


def test_mode_limit_471():
    srv, (alice,) = room("alice")
    alice.send("MODE #room +l 1")
    assert cmds(srv.connect("bob").send("JOIN #room")) == ["471"]
    alice.send("MODE #room -l")
    assert srv.connect("carol").send("JOIN #room")[0].command == "JOIN"


def test_mode_moderated_and_voice():
    _, (alice, bob) = room("alice", "bob")
    alice.send("MODE #room +m")
    bob.take()
    assert cmds(bob.send("PRIVMSG #room :hi")) == ["404"]
    out = alice.send("MODE #room +v bob")
    assert out[0].params == ("#room", "+v", "bob")
    bob.take()
    assert bob.send("PRIVMSG #room :now I can") == []
    assert alice.take()[0].params == ("#room", "now I can")


def test_mode_no_external_messages():
    srv, (alice,) = room("alice")
    outsider = srv.connect("bob")
    assert cmds(outsider.send("PRIVMSG #room :hi")) == ["404"]
    alice.send("MODE #room -n")
    assert outsider.send("PRIVMSG #room :hi") == []
    assert alice.take()[0].params == ("#room", "hi")


def test_mode_op_grant_and_errors():
    srv, (alice, bob) = room("alice", "bob")
    assert cmds(bob.send("MODE #room +t")) == ["482"]
    assert cmds(alice.send("MODE #room +o nobody")) == ["401"]  # issue 12: no such nick
    carol = srv.connect("carol")
    assert cmds(alice.send("MODE #room +o carol")) == ["441"]  # exists, not a member
    carol.take()
    assert cmds(alice.send("MODE #room +Z")) == ["472"]
    assert cmds(alice.send("MODE #room +o")) == ["461"]
    assert cmds(alice.send("MODE #none +o bob")) == ["403"]
    out = alice.send("MODE #room +o bob")
    assert out[0].params == ("#room", "+o", "bob")
    bob.take()
    assert bob.send("MODE #room -o alice")[0].params == ("#room", "-o", "alice")
    alice.take()
    assert cmds(alice.send("KICK #room bob")) == ["482"]


def test_mode_changes_combine_and_no_op_changes_are_not_announced():
    _, (alice, bob) = room("alice", "bob")
    out = alice.send("MODE #room +imv-t bob")
    assert out[0].params == ("#room", "+imv-t", "bob")
    assert alice.send("MODE #room +i") == []


def test_ban_list_query_is_answered_with_end_of_list():
    _, (alice,) = room("alice")
    assert cmds(alice.send("MODE #room +b")) == ["368"]


def test_user_modes():
    srv = MemoryServer()
    alice = srv.connect("alice")
    srv.connect("bob")
    assert alice.send("MODE alice")[0].command == "221"
    out = alice.send("MODE alice +i")
    assert out[0].command == "MODE" and out[0].params == ("alice", "+i")
    assert alice.send("MODE alice")[0].params[1] == "+i"
    assert cmds(alice.send("MODE bob +i")) == ["502"]
    assert cmds(alice.send("MODE nobody")) == ["401"]
    assert cmds(alice.send("MODE alice +o")) == []  # cannot make yourself oper
    assert cmds(alice.send("MODE alice +x")) == ["501"]


def test_empty_mode_string_is_a_query():
    _, (alice,) = room("alice")
    assert cmds(alice.send("MODE #room :")) == ["324", "329"]


def raw_replies(conn, line):
    """The raw bytes ``line`` produced (before parsing), for checking sizes on the wire."""
    conn.take()
    dispatch(conn.server.state, conn.client, parse_line(line))
    raw, conn.outbox.sent = conn.outbox.sent, []
    return raw


def test_big_names_reply_is_split_into_lines_within_512_bytes():
    srv = MemoryServer(nick_len=30)
    nicks = [f"member{i:03d}_" + "x" * 18 for i in range(150)]
    conns = [srv.connect(n) for n in nicks]
    for c in conns:
        c.send("JOIN #big")
    raw = raw_replies(conns[0], "NAMES #big")
    lines = [parse_line(b) for b in raw if b" 353 " in b]
    assert len(lines) > 1 and all(len(b) <= 512 for b in raw)
    assert sorted(n.lstrip("@+") for m in lines for n in m.params[-1].split()) == sorted(nicks)


def test_every_line_of_the_welcome_burst_fits_512_bytes():
    srv = MemoryServer(motd="x" * 400)
    conn = srv.connect()
    conn.send("NICK " + "n" * 30)
    raw = raw_replies(conn, "USER u 0 * :" + "r" * 300)
    assert len(raw) > 10 and all(len(b) <= 512 for b in raw)


def test_at_most_four_parameter_modes_per_command_as_advertised():
    srv = MemoryServer()
    users = [srv.connect(n) for n in ("op", "u1", "u2", "u3", "u4", "u5")]
    for u in users:
        u.send("JOIN #room")
    users[0].take()
    out = users[0].send("MODE #room +vvvvv u1 u2 u3 u4 u5")
    assert out[0].params == ("#room", "+vvvv", "u1", "u2", "u3", "u4")


def test_names_from_outside_hides_invisible_members():
    srv, (alice, bob) = room("alice", "bob")
    bob.send("MODE bob +i")
    outsider = srv.connect("carol")
    assert names_of(outsider.send("NAMES #room")) == ["@alice"]
    assert sorted(names_of(alice.send("NAMES #room"))) == ["@alice", "bob"]
