"""ADMIN, LINKS, LUSERS and the WHOX host a user sees of itself, in memory (found with irssi and WeeChat:
``/admin`` and ``/links`` printed "Unknown command"; their join-time WHOX showed the user its real
host while 001 and JOIN showed the cloak; irssi, +i on every connect, read "0 invisible")."""

from __future__ import annotations

from tcp_server.protocol import numerics as N

from ..support import MemoryServer

NAME = "tcpchat.local"


def test_admin_answers_with_the_configured_contact():
    server = MemoryServer(admin_location="Run by the example club", admin_email="ops@example.org")
    amy = server.connect("amy")
    out = amy.send("ADMIN")
    assert [m.command for m in out] == [N.RPL_ADMINME, N.RPL_ADMINLOC1, N.RPL_ADMINLOC2, N.RPL_ADMINEMAIL]
    assert out[0].params[1] == NAME
    assert out[1].params[-1] == "Run by the example club"
    assert out[3].params[-1] == "ops@example.org"
    assert amy.send(f"ADMIN {NAME}")[0].command == N.RPL_ADMINME
    assert amy.send("ADMIN amy")[0].command == N.RPL_ADMINME  # a nick names the server it is on


def test_admin_without_contact_says_so_and_a_foreign_server_is_unknown():
    server = MemoryServer()
    amy = server.connect("amy")
    (none,) = amy.send("ADMIN")
    assert none.command == N.ERR_NOADMININFO and none.params[1] == NAME
    (unknown,) = amy.send("ADMIN irc.elsewhere.example")
    assert unknown.command == N.ERR_NOSUCHSERVER and unknown.params[1] == "irc.elsewhere.example"


def test_links_lists_this_server_when_the_mask_matches():
    amy = MemoryServer().connect("amy")
    link, end = amy.send("LINKS")
    assert link.command == N.RPL_LINKS and link.params[1:] == (NAME, NAME, "0 tcpchat")
    assert end.command == N.RPL_ENDOFLINKS and end.params[1] == "*"
    assert [m.command for m in amy.send("LINKS *.LOCAL")] == [N.RPL_LINKS, N.RPL_ENDOFLINKS]
    (only_end,) = amy.send("LINKS *.example.org")
    assert only_end.command == N.RPL_ENDOFLINKS and only_end.params[1] == "*.example.org"
    (unknown,) = amy.send("LINKS irc.elsewhere.example *")
    assert unknown.command == N.ERR_NOSUCHSERVER


def test_the_server_description_is_what_links_and_whois_show():
    server = MemoryServer(server_description="the class server")
    amy = server.connect("amy")
    server.connect("bob")
    link, _ = amy.send("LINKS")
    assert link.params[-1] == "0 the class server"
    whois_server = [m for m in amy.send("WHOIS bob") if m.command == N.RPL_WHOISSERVER]
    assert [m.params[-1] for m in whois_server] == ["the class server"]


def test_whox_shows_a_user_its_cloak_like_join_does():
    server = MemoryServer(cloak_hosts=True)
    amy = server.connect("amy")
    joined = amy.send("JOIN #room")[0]
    cloak = joined.source.split("@", 1)[1]
    assert cloak != "127.0.0.1"
    replies = [m for m in amy.send("WHO #room %tcuihnfar,743") if m.command == N.RPL_WHOSPCRPL]
    token, channel, user, ip, host, nick = replies[0].params[1:7]
    assert (token, channel, nick) == ("743", "#room", "amy")
    assert host == cloak  # the host irssi/WeeChat file for themselves is the one others see
    assert ip == "127.0.0.1"  # the real address still goes to the user itself


def test_lusers_counts_invisible_users():
    server = MemoryServer()
    amy = server.connect("amy")
    bob = server.connect("bob")
    bob.send("MODE bob +i")  # what irssi does on every connect
    bob.send("MODE bob +i")  # setting it twice counts once

    def luserclient() -> str:
        return next(m for m in amy.send("LUSERS") if m.command == N.RPL_LUSERCLIENT).params[-1]

    assert luserclient() == "There are 1 users and 1 invisible on 1 servers"
    bob.send("MODE bob -i")
    assert luserclient() == "There are 2 users and 0 invisible on 1 servers"
    bob.send("MODE bob +i")
    bob.send("QUIT :bye")
    assert luserclient() == "There are 1 users and 0 invisible on 1 servers"
