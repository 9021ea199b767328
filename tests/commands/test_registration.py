"""Registration in memory (no sockets): CAP, NICK/USER, PASS, WEBIRC, welcome burst, nick rules."""

from __future__ import annotations

from ..support import MemoryServer


def cmds(msgs):
    return [m.command for m in msgs]


def test_plain_registration_sends_welcome_burst_lusers_and_motd():
    srv = MemoryServer(motd="hello\nworld")
    out = srv.connect().send("NICK alice", "USER alice 0 * :Alice A")
    seq = cmds(out)
    assert seq[:5] == ["001", "002", "003", "004", "005"]
    for code in ("251", "252", "253", "254", "255", "375", "372", "376"):
        assert code in seq
    assert out[0].params[0] == "alice"
    assert "alice!~alice@127.0.0.1" in out[0].params[-1]
    motd = [m.params[-1] for m in out if m.command == "372"]
    assert motd == ["- hello", "- world"]


def test_isupport_advertises_the_limits_and_one_casemapping():
    srv = MemoryServer(nick_len=20, channel_len=50, topic_len=300)
    out = srv.connect().send("NICK alice", "USER alice 0 * :A")
    tokens = {t for m in out if m.command == "005" for t in m.params[1:-1]}
    for token in ("CASEMAPPING=rfc1459", "CHANTYPES=#&", "NICKLEN=20", "CHANNELLEN=50", "TOPICLEN=300"):
        assert token in tokens
    assert any(t.startswith("PREFIX=") for t in tokens)


def test_no_motd_gives_422():
    out = MemoryServer(motd="").connect().send("NICK a", "USER a 0 * :a")
    assert "422" in cmds(out) and "375" not in cmds(out)


def test_cap_negotiation_holds_registration_until_end():
    conn = MemoryServer().connect()
    ls = conn.send("CAP LS 302")
    assert ls[0].command == "CAP" and ls[0].params[1] == "LS"
    offered = ls[0].params[-1].split()
    for cap in ("message-tags", "server-time", "echo-message", "multi-prefix", "away-notify", "batch"):
        assert cap in offered
    assert conn.send("NICK bob", "USER bob 0 * :Bob") == []
    ack = conn.send("CAP REQ :server-time echo-message")
    assert ack[0].params[1:] == ("ACK", "server-time echo-message")
    assert conn.send("CAP LIST")[0].params[-1].split() == ["echo-message", "server-time"]
    out = conn.send("CAP END")
    assert out[0].command == "001"
    assert conn.client.caps == {"server-time", "echo-message"}


def test_cap_req_unknown_is_naked_as_a_whole():
    conn = MemoryServer().connect()
    out = conn.send("CAP REQ :server-time bogus-cap")
    assert out[0].params[1:] == ("NAK", "server-time bogus-cap")
    assert conn.client.caps == set()


def test_cap_req_minus_removes_a_cap():
    conn = MemoryServer().connect("amy", caps="server-time message-tags")
    conn.send("CAP REQ :-message-tags")
    assert conn.client.caps == {"server-time"}


def test_invalid_cap_subcommand_410():
    out = MemoryServer().connect().send("CAP FOO")
    assert out[0].command == "410"


def test_commands_before_registration_get_451():
    conn = MemoryServer().connect()
    for line in ("JOIN #a", "PRIVMSG x :y", "FROBNICATE"):
        out = conn.send(line)
        assert cmds(out) == ["451"], line


def test_unknown_command_after_registration_421():
    out = MemoryServer().connect("amy").send("FROBNICATE x")
    assert out[0].command == "421" and out[0].params[1] == "FROBNICATE"


def test_missing_parameters_461():
    conn = MemoryServer().connect()
    out = conn.send("USER onlyone 0")
    assert out[0].command == "461" and out[0].params[1] == "USER"
    registered = MemoryServer().connect("amy")
    for line in ("JOIN", "KICK #a", "INVITE bob", "OPER admin", "WHOIS", "TOPIC"):
        out = registered.send(line)
        assert cmds(out) == ["461"], line


def test_user_and_pass_after_registration_462():
    conn = MemoryServer().connect("amy")
    assert cmds(conn.send("USER a 0 * :b")) == ["462"]
    assert cmds(conn.send("PASS secret")) == ["462"]


def test_nick_rules_431_432():
    conn = MemoryServer(nick_len=9).connect()
    assert cmds(conn.send("NICK")) == ["431"]
    assert cmds(conn.send("NICK :")) == ["431"]
    for bad in ("1abc", "a!b", "#chan", "toolongnick", "a,b"):
        out = conn.send(f"NICK {bad}")
        assert cmds(out) == ["432"] and out[0].params[1] == bad


def test_nick_in_use_433_is_case_insensitive_rfc1459():
    srv = MemoryServer()
    srv.connect("[alice]")
    conn = srv.connect()
    for taken in ("[alice]", "[ALICE]", "{alice}"):
        out = conn.send(f"NICK {taken}")
        assert cmds(out) == ["433"] and out[0].params[:2] == ("*", taken)


def test_nick_change_seen_by_channel_peers_and_frees_old_nick():
    srv = MemoryServer()
    alice, bob, carol = srv.connect("alice"), srv.connect("bob"), srv.connect("carol")
    alice.send("JOIN #room")
    bob.send("JOIN #room")
    alice.take()
    out = bob.send("NICK robert")
    assert [(m.command, m.source.split("!")[0], m.params) for m in out] == [("NICK", "bob", ("robert",))]
    seen = alice.take()
    assert [(m.command, m.params) for m in seen] == [("NICK", ("robert",))]
    assert carol.take() == []  # shares no channel
    assert cmds(srv.connect().send("NICK bob", "USER b 0 * :b"))[0] == "001"


def test_nick_case_change_of_own_nick_is_allowed():
    conn = MemoryServer().connect("alice")
    out = conn.send("NICK Alice")
    assert out[0].command == "NICK" and out[0].params == ("Alice",)


def test_password_required_wrong_password_closes():
    srv = MemoryServer(password="sesame")
    conn = srv.connect()
    out = conn.send("PASS wrong", "NICK amy", "USER amy 0 * :amy")
    assert "464" in cmds(out) and "001" not in cmds(out)
    assert conn.closed.startswith(b"ERROR :Closing Link")
    assert srv.state.find_nick("amy") is None


def test_password_missing_is_refused_and_right_password_accepted():
    srv = MemoryServer(password="sesame")
    missing = srv.connect()
    assert "464" in cmds(missing.send("NICK amy", "USER amy 0 * :amy"))
    assert missing.closed
    good = srv.connect()
    assert "001" in cmds(good.send("PASS sesame", "NICK amy", "USER amy 0 * :amy"))
    assert not good.closed


def test_ping_pong():
    out = MemoryServer().connect().send("PING :token 1")
    assert out[0].command == "PONG" and out[0].params[-1] == "token 1"


def test_quit_tells_peers_once_and_closes_with_error():
    srv = MemoryServer()
    alice, bob = srv.connect("alice"), srv.connect("bob")
    for c in (alice, bob):
        c.send("JOIN #a", "JOIN #b")
    alice.take()
    bob.send("QUIT :bye now")
    quits = [m for m in alice.take() if m.command == "QUIT"]
    assert len(quits) == 1 and quits[0].params == ("Quit: bye now",)
    assert bob.closed.startswith(b"ERROR :Closing Link") and b"bye now" in bob.closed
    assert srv.state.find_nick("bob") is None
    assert [m.name for m in srv.state.channels.values()] == ["#a", "#b"]


def test_webirc_from_trusted_gateway_records_real_ip_and_web_transport():
    srv = MemoryServer(webirc_password="gw-secret", webirc_hosts="127.0.0.1")
    conn = srv.connect()
    conn.send("WEBIRC gw-secret tcpchat-gw user.example 203.0.113.7", "NICK web", "USER w 0 * :w")
    c = conn.client
    assert c.registered and c.ip == "203.0.113.7" and c.transport == "web"
    assert c.host == "user.example" and c.gateway.endswith("@127.0.0.1")


def test_webirc_from_untrusted_address_or_with_wrong_password_is_refused():
    srv = MemoryServer(webirc_password="gw-secret", webirc_hosts="127.0.0.1")
    untrusted = srv.connect(ip="10.0.0.9")
    untrusted.send("WEBIRC gw-secret gw h 203.0.113.7")
    assert untrusted.closed and untrusted.client.ip == "10.0.0.9"
    wrong = srv.connect()
    wrong.send("WEBIRC nope gw h 203.0.113.7")
    assert wrong.closed and wrong.client.ip == "127.0.0.1"


def test_webirc_disabled_without_password():
    conn = MemoryServer().connect()
    conn.send("WEBIRC anything gw h 203.0.113.7")
    assert conn.closed and conn.client.transport == "tcp"


def test_ipv6_address_never_starts_a_parameter_with_a_colon():
    srv = MemoryServer()
    v6 = srv.connect(ip="::1")
    v6.send("NICK six", "USER six 0 * :Six")
    alice = srv.connect("alice")
    whois = alice.send("WHOIS six")[0]
    assert whois.params[1:4] == ("six", "~six", "0::1")
    assert v6.client.prefix == "six!~six@0::1"


def test_webirc_validates_the_address_and_hostname():
    srv = MemoryServer(webirc_password="pw", webirc_hosts="127.0.0.1")
    bad_ip = srv.connect()
    bad_ip.send("WEBIRC pw gw host.example not-an-ip")
    assert bad_ip.closed and bad_ip.client.transport == "tcp"
    odd_host = srv.connect()
    odd_host.send("WEBIRC pw gw weird!host 2001:db8::7")
    assert not odd_host.closed
    assert odd_host.client.ip == "2001:db8::7" and odd_host.client.host == "2001:db8::7"
    v6 = srv.connect()
    v6.send("WEBIRC pw gw bad!name 0::1")
    assert v6.client.host == "0::1"


def test_webirc_users_count_against_max_clients_per_ip_by_their_real_address():
    srv = MemoryServer(webirc_password="pw", webirc_hosts="127.0.0.1", max_clients_per_ip=1)
    first = srv.connect()
    first.send("WEBIRC pw gw h1 203.0.113.5")
    second = srv.connect()
    second.send("WEBIRC pw gw h2 203.0.113.5")
    other = srv.connect()
    other.send("WEBIRC pw gw h3 203.0.113.6")
    assert not first.closed and not other.closed
    assert second.closed and b"Too many connections" in second.closed


def test_hosts_are_cloaked_by_default_operators_and_self_see_the_ip():
    from tcp_server.settings import ServerSettings

    assert ServerSettings().cloak_hosts  # the shipped default (the harness turns it off)
    srv = MemoryServer(oper_password="pw", webirc_password="gw", webirc_hosts="127.0.0.1", cloak_hosts=True)
    web = srv.connect()
    web.send("WEBIRC gw gateway user.example 203.0.113.9", "NICK webby", "USER w 0 * :w")
    same_ip = srv.connect()
    same_ip.send("WEBIRC gw gateway other.example 203.0.113.9", "NICK twin", "USER t 0 * :t")
    peer = srv.connect("peer")
    whois = {m.command: m for m in peer.send("WHOIS webby")}
    host = whois["311"].params[3]
    assert "203.0.113" not in host and "user.example" not in host
    assert "338" not in whois  # the real address is for operators and the user
    assert srv.state.find_nick("twin").host == host  # the same address, the same cloak
    assert "203.0.113.9" not in web.client.prefix
    peer.send("OPER admin pw")
    as_oper = {m.command: m for m in peer.send("WHOIS webby")}
    assert as_oper["338"].params[2] == "203.0.113.9" and as_oper["311"].params[3] == "user.example"
    as_self = {m.command: m for m in web.send("WHOIS webby")}
    assert as_self["338"].params[2] == "203.0.113.9" and as_self["311"].params[3] == "user.example"


def test_cloaks_are_stable_for_a_configured_secret_and_can_be_turned_off():
    a = MemoryServer(cloak_hosts=True, cloak_secret="k").connect("a", ip="198.51.100.4").client.host
    b = MemoryServer(cloak_hosts=True, cloak_secret="k").connect("b", ip="198.51.100.4").client.host
    c = MemoryServer(cloak_hosts=True, cloak_secret="x").connect("c", ip="198.51.100.4").client.host
    assert a == b != c
    assert MemoryServer(cloak_hosts=False).connect("d", ip="198.51.100.4").client.host == "198.51.100.4"
