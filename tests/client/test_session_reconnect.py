"""ClientSession across lost links: reconnect after a server restart with rejoin and typed-ahead
lines, gap fill after a dropped link, a stale connection holding the nick, no reconnect after KILL."""

from __future__ import annotations

import asyncio

import pytest

from tcp_client.session import LineError

from ..client_support import chat_lines, is_msg, is_status, wait_for
from ..support import Proxy, RawClient, ServerProcess


async def test_kill_by_operator_does_not_reconnect(make_server, sessions, connect):
    srv = await make_server(oper_password="opw")
    s = sessions(srv.port, "victim")
    await s.start()
    op = await RawClient.connect(srv.port)
    await op.register("op")
    await op.send("OPER admin opw")
    await op.expect("381")
    await op.send("KILL victim :spam")
    ev = await wait_for(s, is_status("closed"))
    assert "killed" in ev.reason
    await op.close()


async def test_reconnects_after_server_restart_and_rejoins(tmp_path, sessions):
    proc = ServerProcess("--no-history", "--flood-rate", "0").start()
    try:
        s = sessions(proc.port, "alice")
        await s.start()
        await s.join("#lobby")
        await wait_for(s, is_msg("366"))
        proc.stop()
        ev = await wait_for(s, is_status("reconnecting"))
        assert ev.nick == "alice"
        with pytest.raises(LineError):
            await s.send("bad\nline")
        await s.privmsg("#lobby", "typed while down")  # queued, sent after the rejoin
        proc.start(port=proc.port)
        await wait_for(s, is_status("connected"), timeout=20)
        assert s.connected and s.nick == "alice" and s.channels == {"#lobby"}
        bob = await RawClient.connect(proc.port)
        await bob.register("bob")
        await bob.send("NAMES #lobby")
        names = await bob.expect("353")
        assert "alice" in names.params[-1].replace("@", "").split()
        await bob.close()
        await wait_for(s, is_msg("PRIVMSG", "typed while down"))  # the echo of the queued line
    finally:
        proc.stop()


async def test_gap_after_a_dropped_link_is_filled_once_and_in_order(make_server, sessions, tmp_path):
    srv = await make_server(history=True, data_dir=tmp_path)
    proxy = Proxy(srv.port)
    try:
        s = sessions(await proxy.start(), "alice")
        await s.start()
        assert s.has_history()
        await s.join("#lobby")
        await wait_for(s, is_msg("366"))
        bob = await RawClient.connect(srv.port)
        await bob.register("bob", caps="echo-message")
        await bob.join("#lobby")
        await bob.send("PRIVMSG #lobby :m1")
        await wait_for(s, is_msg("PRIVMSG", "m1"))
        proxy.cut()
        await wait_for(s, is_status("reconnecting"))
        for i in (2, 3, 4):  # said while alice is away; each echo means it is stored
            await bob.send(f"PRIVMSG #lobby :m{i}")
            await bob.expect("PRIVMSG", lambda m, i=i: m.params[-1] == f"m{i}")
        proxy.open = True
        seen: list[str] = []
        async with asyncio.timeout(15):
            while True:
                ev = await s.next_event()
                seen += [line.text for line in chat_lines(ev)]
                if is_status("connected")(ev):
                    break
        assert seen == ["m2", "m3", "m4"]  # the gap, before "connected"
        await bob.send("PRIVMSG #lobby :m5")
        await wait_for(s, is_msg("PRIVMSG", "m5"))
        await bob.close()
    finally:
        await proxy.close()


async def test_stale_connection_holds_the_nick_then_it_is_reclaimed(server, sessions, connect):
    proxy = Proxy(server.port)
    try:
        s = sessions(await proxy.start(), "alice")
        await s.start()
        await s.join("#lobby")
        await wait_for(s, is_msg("366"))
        proxy.cut(ghost=True)  # the server still thinks the old alice is here
        await wait_for(s, is_status("reconnecting"))
        proxy.open = True
        await wait_for(s, is_status("connected"))
        assert s.nick == "alice_" and s.channels == {"#lobby"}
        proxy.bury()  # the stale connection finally drops: its QUIT frees the nick
        await wait_for(s, lambda ev: is_msg("NICK")(ev) and ev.new == "alice" and ev.own)
        assert s.nick == "alice"
        bob = await connect("bob")
        await bob.send("PRIVMSG alice :found you")
        await wait_for(s, is_msg("PRIVMSG", "found you"))
    finally:
        await proxy.close()
