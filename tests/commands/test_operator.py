"""Operator commands in memory: OPER, KILL (by nick and id), STATS l with vendor tags; dispatch safety."""

from __future__ import annotations

import logging

from tcp_server.commands import COMMANDS

from ..support import MemoryServer

VENDOR = "tcpchat.example/"


def cmds(msgs):
    return [m.command for m in msgs]


def opered(caps=""):
    srv = MemoryServer(oper_name="root", oper_password="hunter2")
    admin = srv.connect("admin", caps=caps)
    out = admin.send("OPER root hunter2")
    assert cmds(out) == ["381", "MODE"]
    return srv, admin


def test_oper_good_and_bad_password():
    srv = MemoryServer(oper_name="root", oper_password="hunter2")
    user = srv.connect("user")
    assert cmds(user.send("OPER root wrong")) == ["464"]
    assert cmds(user.send("OPER admin hunter2")) == ["464"]
    assert not user.client.is_oper
    out = user.send("OPER root hunter2")
    assert out[0].command == "381" and out[1].params == ("user", "+o")
    assert user.client.is_oper


def test_oper_password_is_not_kept_in_clear():
    srv = MemoryServer(oper_password="hunter2")
    salt, digest = srv.state._oper_hash
    assert b"hunter2" not in digest and len(digest) >= 32


def test_oper_disabled_without_password():
    assert cmds(MemoryServer().connect("x").send("OPER admin anything")) == ["464"]


def test_kill_needs_oper_481():
    srv = MemoryServer()
    srv.connect("victim")
    assert cmds(srv.connect("user").send("KILL victim :bye")) == ["481"]
    assert cmds(srv.connect("other").send("STATS l")) == ["481"]


def test_kill_by_nick_tells_victim_and_peers(caplog):
    srv, admin = opered()
    victim, peer = srv.connect("victim"), srv.connect("peer")
    victim.send("JOIN #a")
    peer.send("JOIN #a")
    victim.take()
    with caplog.at_level(logging.INFO, logger="tcpchat.server"):
        admin.send("KILL victim :spamming")
    got = victim.take()
    assert got[0].command == "KILL" and got[0].params == ("victim", "spamming")
    assert b"Killed (admin (spamming))" in victim.closed
    quits = [m for m in peer.take() if m.command == "QUIT"]
    assert len(quits) == 1 and "spamming" in quits[0].params[0]
    assert srv.state.find_nick("victim") is None
    kill_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("kill ")]
    assert len(kill_lines) == 1 and "addr=127.0.0.1:" in kill_lines[0] and "spamming" in kill_lines[0]


def test_kill_by_connection_id_reaches_unregistered_connections():
    srv, admin = opered()
    lurker = srv.connect()
    out = admin.send(f"KILL id={lurker.client.id} :idle")
    assert out == []
    assert lurker.closed and lurker.client.id not in srv.state.clients
    assert cmds(admin.send("KILL id=99999")) == ["401"]
    assert cmds(admin.send("KILL id=abc")) == ["401"]
    assert cmds(admin.send("KILL nobody")) == ["401"]


def test_stats_l_lists_every_connection():
    srv, admin = opered()
    srv.connect("bob").send("JOIN #x")
    srv.connect()
    out = admin.send("STATS l")
    assert cmds(out) == ["211", "211", "211", "219"]
    assert {m.params[1].split("[")[0] for m in out[:3]} == {"admin", "bob", "*"}
    assert all(not m.tags for m in out)  # vendor tags only with message-tags


def test_stats_l_vendor_tags_for_message_tags_opers():
    srv, admin = opered(caps="message-tags")
    web = srv.connect(ip="10.1.2.3", transport="web")
    web.send("NICK webby", "USER w 0 * :w", "JOIN #x,#y")
    out = admin.send("STATS l")
    rows = {m.tags[VENDOR + "nick"]: m.tags for m in out if m.command == "211"}
    row = rows["webby"]
    assert row[VENDOR + "id"] == str(web.client.id)
    assert row[VENDOR + "transport"] == "web" and row[VENDOR + "ip"] == "10.1.2.3"
    assert row[VENDOR + "channels"] == "#x,#y"
    assert row[VENDOR + "registered"] == "1" and rows["admin"][VENDOR + "oper"] == "1"
    for key in ("idle", "signon", "sendq", "bytes-in", "bytes-out", "port", "gateway"):
        assert VENDOR + key in row


def test_stats_other_letters_end_cleanly():
    srv = MemoryServer()
    conn = srv.connect("x")
    assert cmds(conn.send("STATS u")) == ["242", "219"]
    assert cmds(conn.send("STATS q")) == ["219"]


def test_handler_exception_does_not_escape_dispatch_table_lookup():
    """Unknown verbs go to a real handler: a KeyError inside a handler is not a 421."""
    assert "FROB" not in COMMANDS
    assert cmds(MemoryServer().connect("x").send("FROB")) == ["421"]
