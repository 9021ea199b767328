"""Messages and user queries in memory: PRIVMSG/NOTICE/TAGMSG, AWAY, ISON, USERHOST, WHO, WHOIS."""

from __future__ import annotations

from ..support import MemoryServer


def cmds(msgs):
    return [m.command for m in msgs]


def pair(caps_a="", caps_b=""):
    srv = MemoryServer()
    alice, bob = srv.connect("alice", caps=caps_a), srv.connect("bob", caps=caps_b)
    alice.send("JOIN #room")
    bob.send("JOIN #room")
    alice.take()
    return srv, alice, bob


def test_channel_message_reaches_members_not_sender():
    srv, alice, bob = pair()
    carol = srv.connect("carol")
    assert alice.send("PRIVMSG #room :hello") == []
    got = bob.take()
    assert len(got) == 1 and got[0].params == ("#room", "hello")
    assert got[0].source == "alice!~alice@127.0.0.1"
    assert not got[0].tags
    assert carol.take() == []


def test_tags_by_capability_msgid_and_time():
    _, alice, bob = pair(caps_b="message-tags")
    srv2, carol, dave = pair(caps_b="server-time")
    alice.send("PRIVMSG #room :x")
    tagged = bob.take()[0]
    assert set(tagged.tags) == {"msgid", "time"}
    assert tagged.tags["time"].endswith("Z")
    carol.send("PRIVMSG #room :y")
    assert set(dave.take()[0].tags) == {"time"}


def test_msgids_are_unique():
    _, alice, bob = pair(caps_b="message-tags")
    for i in range(50):
        alice.send(f"PRIVMSG #room :{i}")
    ids = [m.tags["msgid"] for m in bob.take()]
    assert len(set(ids)) == 50


def test_echo_message_returns_the_same_message_with_tags():
    _, alice, bob = pair(caps_a="echo-message message-tags")
    echo = alice.send("PRIVMSG #room :hi")
    assert len(echo) == 1 and echo[0].params == ("#room", "hi")
    assert echo[0].source.startswith("alice!")
    assert echo[0].tags["msgid"]


def test_private_message_and_notice():
    _, alice, bob = pair()
    alice.send("PRIVMSG Bob :psst")
    got = bob.take()[0]
    assert got.command == "PRIVMSG" and got.params == ("bob", "psst")
    alice.send("NOTICE bob :fyi")
    assert bob.take()[0].command == "NOTICE"


def test_message_to_several_targets():
    srv, alice, bob = pair()
    carol = srv.connect("carol")
    alice.send("PRIVMSG #room,carol :both")
    assert bob.take()[0].params == ("#room", "both")
    assert carol.take()[0].params == ("carol", "both")


def test_privmsg_errors():
    srv, alice, bob = pair()
    assert cmds(alice.send("PRIVMSG")) == ["411"]
    assert cmds(alice.send("PRIVMSG bob")) == ["412"]
    assert cmds(alice.send("PRIVMSG bob :")) == ["412"]
    out = alice.send("PRIVMSG nobody :x")
    assert cmds(out) == ["401"] and out[0].params[1] == "nobody"
    assert cmds(alice.send("PRIVMSG #nowhere :x")) == ["403"]
    alice.send("JOIN #other", "MODE #other +n")
    alice.take()
    assert cmds(bob.send("PRIVMSG #other :x")) == ["404"]


def test_notice_never_gets_error_replies():
    _, alice, _ = pair()
    for line in ("NOTICE", "NOTICE bob", "NOTICE nobody :x", "NOTICE #nowhere :x"):
        assert alice.send(line) == [], line


def test_client_only_tags_pass_to_message_tags_clients_only():
    srv, alice, bob = pair(caps_a="message-tags", caps_b="message-tags")
    carol = srv.connect("carol")
    carol.send("JOIN #room")
    alice.take(), bob.take()
    alice.send("@+draft/reply=abc;+custom=1;secret=x PRIVMSG #room :re")
    got = bob.take()[0]
    assert got.tags["+draft/reply"] == "abc" and got.tags["+custom"] == "1"
    assert "secret" not in got.tags  # only client-only tags are relayed
    assert carol.take()[0].tags == {}
    alice.send("@+typing=active TAGMSG #room")
    tag = bob.take()[0]
    assert tag.command == "TAGMSG" and tag.tags["+typing"] == "active"
    assert carol.take() == []


def test_away_301_and_away_notify():
    srv, alice, bob = pair(caps_a="away-notify")
    out = bob.send("AWAY :lunch")
    assert cmds(out) == ["306"]
    notify = alice.take()
    assert notify[0].command == "AWAY" and notify[0].params == ("lunch",)
    out = alice.send("PRIVMSG bob :you there?")
    assert cmds(out) == ["301"] and out[0].params[1:] == ("bob", "lunch")
    assert alice.send("NOTICE bob :x") == []  # no 301 for notices
    whois = alice.send("WHOIS bob")
    assert "301" in cmds(whois)
    bob.take()
    assert cmds(bob.send("AWAY")) == ["305"]
    assert alice.take()[0].params == ()
    assert bob.client.away is None


def test_ison_and_userhost():
    srv, alice, bob = pair()
    out = alice.send("ISON bob nobody ALICE")
    assert cmds(out) == ["303"] and out[0].params[1] == "bob alice"
    bob.send("AWAY :gone")
    out = alice.send("USERHOST bob alice nobody")
    assert out[0].command == "302"
    assert out[0].params[1].split() == ["bob=-~bob@127.0.0.1", "alice=+~alice@127.0.0.1"]


def test_who_channel_and_nick():
    srv, alice, bob = pair(caps_a="multi-prefix")
    out = alice.send("WHO #room")
    assert cmds(out) == ["352", "352", "315"]
    rows = {m.params[5]: m for m in out[:2]}
    assert rows["alice"].params[6] == "H@"
    assert rows["bob"].params[1:5] == ("#room", "~bob", "127.0.0.1", srv.state.name)
    assert rows["bob"].params[-1] == "0 bob real"
    out = alice.send("WHO bob")
    assert cmds(out) == ["352", "315"]
    assert cmds(alice.send("WHO nobody")) == ["315"]


def test_whois():
    srv, alice, bob = pair()
    out = alice.send("WHOIS bob")
    seq = cmds(out)
    assert seq[0] == "311" and seq[-1] == "318"
    assert out[0].params[1:] == ("bob", "~bob", "127.0.0.1", "*", "bob real")
    chans = next(m for m in out if m.command == "319")
    assert chans.params[-1] == "#room"
    assert "338" not in seq  # the real IP is for opers and oneself
    out = alice.send("WHOIS nobody")
    assert cmds(out) == ["401", "318"]


def test_lusers_counts():
    srv, alice, bob = pair()
    srv.connect()  # unregistered
    out = alice.send("LUSERS")
    by = {m.command: m for m in out}
    assert "There are 2 users" in by["251"].params[-1]
    assert by["253"].params[1] == "1"
    assert by["254"].params[1] == "1"


def test_too_many_targets_407_and_nothing_sent():
    srv = MemoryServer(max_targets=2)
    alice = srv.connect("alice")
    others = [srv.connect(n) for n in ("b1", "b2", "b3")]
    out = alice.send("PRIVMSG b1,b2,b3 :hi")
    assert cmds(out) == ["407"]
    assert all(o.take() == [] for o in others)
    alice.send("PRIVMSG b1,b2 :ok")
    assert [len(o.take()) for o in others] == [1, 1, 0]


def test_duplicate_targets_deliver_once():
    _, alice, bob = pair()
    alice.send("PRIVMSG #room,#ROOM,bob,BOB :once")
    assert [m.params[0] for m in bob.take()] == ["#room", "bob"]


def test_broadcast_encodes_once_and_shares_the_bytes():
    srv = MemoryServer()
    conns = [srv.connect(n, caps=caps) for n, caps in
             [("alice", ""), ("bob", ""), ("carol", ""), ("dave", "message-tags"), ("erin", "message-tags")]]
    for c in conns:
        c.send("JOIN #room")
    for c in conns:
        c.take()
    conns[0].send("PRIVMSG #room :shared")
    plain = [c.outbox.sent[-1] for c in conns[1:3]]
    tagged = [c.outbox.sent[-1] for c in conns[3:]]
    assert plain[0] is plain[1] and tagged[0] is tagged[1]  # the same object, not equal copies
    assert plain[0] != tagged[0]


def test_unregistered_nick_holders_are_invisible_but_the_nick_is_reserved():
    srv = MemoryServer()
    half = srv.connect()
    half.send("NICK ghost")  # no USER yet
    alice = srv.connect("alice")
    assert cmds(alice.send("PRIVMSG ghost :boo")) == ["401"]
    assert cmds(alice.send("WHOIS ghost")) == ["401", "318"]
    assert alice.send("ISON ghost")[0].params[1] == ""
    assert alice.send("USERHOST ghost")[0].params[1] == ""
    assert half.take() == []
    assert cmds(alice.send("NICK ghost")) == ["433"]
    assert cmds(half.send("USER g 0 * :g"))[0] == "001"
    assert cmds(alice.send("WHOIS ghost"))[0] == "311"


def test_relayed_lines_fit_512_bytes_so_every_client_can_parse_them():
    """A 510-byte PRIVMSG gains the sender's prefix when relayed: the text is cut to fit."""
    srv = MemoryServer(nick_len=30, channel_len=64)
    nick = "n" * 30
    chan = "#" + "c" * 63
    sender, peer = srv.connect(nick, caps="echo-message"), srv.connect("peer")
    sender.send(f"JOIN {chan}")
    peer.send(f"JOIN {chan}")
    sender.take()
    line = f"PRIVMSG {chan} :"
    text = "é" * ((510 - len(line)) // 2)  # a full line of two-byte characters
    echo = sender.send(line + text)
    raw = peer.outbox.sent[-1]
    assert len(raw) <= 512
    got = peer.take()[-1].params[1]
    assert text.startswith(got) and len(got) > 150  # cut at a character boundary, not dropped
    assert echo[-1].params[1] == got  # the echo says what was actually delivered
    for command in (f"TOPIC {chan} :" + "t" * 390, f"KICK {chan} peer :" + "k" * 390, "QUIT :" + "q" * 450):
        sender.send(command)
        assert all(len(b) <= 512 for b in peer.outbox.sent), command
        peer.take()


def test_client_tags_over_4094_bytes_get_417_and_are_not_relayed():
    _, alice, bob = pair(caps_a="message-tags", caps_b="message-tags")
    ok = "+big=" + "v" * 4000
    alice.send(f"@{ok} PRIVMSG #room :fits")
    assert bob.take()[0].tags["+big"] == "v" * 4000
    huge = "+big=" + "v" * 4100
    assert cmds(alice.send(f"@{huge} PRIVMSG #room :too much")) == ["417"]
    assert cmds(alice.send(f"@{huge} TAGMSG #room")) == ["417"]
    assert bob.take() == []


def test_whois_channels_show_prefixes_multi_prefix_aware():
    srv, alice, bob = pair(caps_b="multi-prefix")
    alice.send("MODE #room +v alice")
    assert next(m for m in bob.send("WHOIS alice") if m.command == "319").params[-1] == "@+#room"
    assert next(m for m in alice.send("WHOIS alice") if m.command == "319").params[-1] == "@#room"


def test_quit_nick_and_away_carry_server_time_for_clients_that_asked():
    srv = MemoryServer()
    timed = srv.connect("timed", caps="server-time away-notify")
    plain = srv.connect("plain", caps="away-notify")
    actor = srv.connect("actor")
    for c in (timed, plain, actor):
        c.send("JOIN #room")
    timed.take(), plain.take()
    actor.send("AWAY :brb", "NICK actor2", "QUIT :bye")
    seen_timed, seen_plain = timed.take(), plain.take()
    assert [m.command for m in seen_timed] == ["AWAY", "NICK", "QUIT"] == [m.command for m in seen_plain]
    assert all(m.tags.get("time", "").endswith("Z") for m in seen_timed)
    assert all(not m.tags for m in seen_plain)


def test_who_masks_match_visible_users_only():
    srv = MemoryServer()
    alice = srv.connect("alice")
    srv.connect("alfred")
    hidden = srv.connect("alhidden")
    hidden.send("MODE alhidden +i")
    srv.connect("bob")
    found = [m.params[5] for m in alice.send("WHO al*") if m.command == "352"]
    assert sorted(found) == ["alfred", "alice"]  # +i users are hidden from strangers
    assert [m.params[5] for m in alice.send("WHO alhidden") if m.command == "352"] == ["alhidden"]
    hidden.send("JOIN #x")
    alice.send("JOIN #x")
    assert "alhidden" in [m.params[5] for m in alice.send("WHO al*") if m.command == "352"]
    assert len([m for m in alice.send("WHO *") if m.command == "352"]) == 4
    assert [m.params[5] for m in alice.send("WHO [a]*") if m.command == "352"] == []  # no char classes
    assert [m.params[5] for m in alice.send("WHO b?b") if m.command == "352"] == ["bob"]


def test_tagmsg_errors_and_canonical_target():
    srv, alice, bob = pair(caps_a="message-tags", caps_b="message-tags")
    assert cmds(alice.send("@+typing=active TAGMSG nobody")) == ["401"]
    assert cmds(alice.send("@+typing=active TAGMSG #nowhere")) == ["403"]
    srv.connect("carol").send("JOIN #closed")
    assert cmds(alice.send("@+typing=active TAGMSG #closed")) == ["404"]
    alice.send("@+typing=active TAGMSG #ROOM")
    assert bob.take()[0].params == ("#room",)
    alice.send("@+typing=active TAGMSG BOB")
    assert bob.take()[0].params == ("bob",)
