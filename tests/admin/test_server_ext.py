"""The server-side vendor extensions the admin page reads (in memory, bytes in / messages out)."""

from __future__ import annotations

from ..support import MemoryServer

V = "tcpchat.example/"


def make() -> tuple[MemoryServer, object, object]:
    srv = MemoryServer(oper_password="opw")
    oper = srv.connect("op", caps="message-tags")
    assert any(m.command == "381" for m in oper.send("OPER admin opw"))
    alice = srv.connect("alice")
    alice.send("JOIN #room", "TOPIC #room :hello there", "PRIVMSG #room :one", "PRIVMSG #room :two")
    return srv, oper, alice


def test_list_to_operator_with_message_tags_carries_counter_and_modes() -> None:
    _, oper, _ = make()
    out = oper.send("LIST")
    lines = [m for m in out if m.command == "322"]
    assert len(lines) == 1
    line = lines[0]
    assert line.params[1:] == ("#room", "1", "hello there")
    assert line.tags[V + "messages"] == "2"
    assert line.tags[V + "modes"] == "+nt"
    assert int(line.tags[V + "created"]) > 0
    assert out[-1].command == "323"


def test_list_to_ordinary_client_has_no_vendor_tags() -> None:
    srv, _, _ = make()
    bob = srv.connect("bob", caps="message-tags")
    lines = [m for m in bob.send("LIST") if m.command == "322"]
    assert lines and not any(k.startswith(V) for k in lines[0].tags)


def test_operator_lists_secret_rooms_others_do_not() -> None:
    srv, oper, alice = make()
    alice.send("JOIN #hidden", "MODE #hidden +s")
    bob = srv.connect("bob")
    assert [m.params[1] for m in bob.send("LIST") if m.command == "322"] == ["#room"]
    seen = {m.params[1]: m for m in oper.send("LIST") if m.command == "322"}
    assert set(seen) == {"#room", "#hidden"}
    assert seen["#hidden"].tags[V + "modes"] == "+nst"


def test_stats_l_vendor_tags_describe_every_connection() -> None:
    srv, oper, alice = make()
    srv.connect()  # unregistered connections are listed too
    out = oper.send("STATS l")
    links = [m for m in out if m.command == "211"]
    assert len(links) == 3
    by_nick = {m.tags[V + "nick"]: m.tags for m in links}
    assert by_nick["alice"][V + "channels"] == "#room"
    assert by_nick["alice"][V + "transport"] == "tcp"
    assert by_nick["*"][V + "registered"] == "0"
    assert out[-1].command == "219"
