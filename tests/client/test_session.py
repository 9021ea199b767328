"""ClientSession against the real server: registration, events, requests, limits.

Reconnects and lost links are in ``test_session_reconnect.py``.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from tcp_client.events import History
from tcp_client.session import (
    LineError,
    RegistrationError,
    SessionClosed,
    SessionStatus,
    WebIrc,
)
from tcp_server.protocol import Message

from ..client_support import chat_lines, is_msg, is_status, wait_for
from ..support import RawClient


async def test_registers_and_negotiates_offered_caps(server, sessions):
    s = sessions(server.port, "alice")
    await s.start()
    assert s.connected and s.nick == "alice"
    assert {"message-tags", "echo-message", "server-time", "batch"} <= s.caps
    assert "draft/chathistory" not in s.caps  # the test server runs without history
    assert s.isupport["CASEMAPPING"] == "rfc1459"
    first = await s.next_event(timeout=5)
    assert first == SessionStatus("connecting", "alice")
    await wait_for(s, is_msg("001"))
    await wait_for(s, is_status("connected"))


async def test_join_message_roundtrip_with_raw_client(server, sessions, connect):
    s = sessions(server.port, "alice")
    await s.start()
    await s.join("#Lobby")
    await wait_for(s, is_msg("366"))
    assert s.channels == {"#Lobby"}
    bob = await connect("bob")
    await bob.join("#lobby")
    await s.privmsg("#lobby", "hello bob")
    got = await bob.expect("PRIVMSG")
    assert got.params == ("#Lobby", "hello bob") and got.source.startswith("alice!")
    echo = await wait_for(s, is_msg("PRIVMSG", "hello bob"))
    assert echo.own and echo.msgid and echo.time
    await bob.send("PRIVMSG #lobby :hi alice")
    await wait_for(s, is_msg("PRIVMSG", "hi alice"))
    await bob.send("PRIVMSG alice :psst")
    await wait_for(s, lambda ev: is_msg("PRIVMSG", "psst")(ev) and ev.target == "alice" and not ev.own)


async def test_nick_change_part_and_topic_are_tracked(server, sessions, connect):
    s = sessions(server.port, "alice")
    await s.start()
    await s.join("#a")
    await wait_for(s, is_msg("366"))
    await s.topic("#a", "new topic")
    await wait_for(s, is_msg("TOPIC", "new topic"))
    await s.set_nick("alicia")
    await wait_for(s, is_msg("NICK"))
    assert s.nick == "alicia"
    await s.part("#a", "bye")
    await wait_for(s, is_msg("PART"))
    assert s.channels == set()


async def test_auto_pong_keeps_the_session_alive(make_server, sessions):
    srv = await make_server(ping_interval=0.2, ping_timeout=0.5)
    s = sessions(srv.port, "alice")
    await s.start()
    await wait_for(s, is_msg("PING"))  # PING is visible to the consumer...
    await wait_for(s, is_msg("PING"))
    await asyncio.sleep(0.8)
    assert s.connected  # ...and was answered, or the server would have dropped us
    await s.send("PING :still-here")
    await wait_for(s, lambda ev: is_msg("PONG")(ev) and ev.params[-1] == "still-here")


async def test_request_collects_reply_lines_up_to_the_end_marker(server, sessions, connect):
    s = sessions(server.port, "alice")
    await s.start()
    for nick in ("bob", "carol"):
        c = await connect(nick)
        await c.join("#room")
    await s.join("#room")
    await wait_for(s, is_msg("366"))
    replies = await s.request(
        Message("NAMES", ("#room",)), until=lambda m: m.command == "366", timeout=5,
        match=lambda m: m.command == "353",
    )
    assert [m.command for m in replies] == ["353", "366"]
    assert set(replies[0].params[-1].replace("@", "").split()) == {"alice", "bob", "carol"}
    with pytest.raises(TimeoutError):
        await s.request("LIST", until=lambda m: False, timeout=0.3)


async def test_nick_in_use_falls_back_or_raises(server, sessions, connect):
    await connect("alice")
    s = sessions(server.port, "alice")
    await s.start()
    assert s.nick == "alice_"
    strict = sessions(server.port, "alice", nick_fallback=False)
    with pytest.raises(RegistrationError) as info:
        await strict.start()
    assert info.value.numeric == "433"
    assert strict.closed


async def test_password_and_webirc(make_server, sessions, connect):
    srv = await make_server(password="sekrit", webirc_password="gw-pass")
    bad = sessions(srv.port, "mallory", password="wrong")
    with pytest.raises(RegistrationError) as info:
        await bad.start()
    assert info.value.numeric == "464"
    web = sessions(
        srv.port, "webby", password="sekrit", webirc=WebIrc("gw-pass", "tcpchat-web", "host.example", "203.0.113.9")
    )
    await web.start()
    await web.send("WHOIS webby")
    whois = await wait_for(web, is_msg("311"))
    assert "host.example" in whois.params or "203.0.113.9" in whois.params  # a ServerLine


async def test_oper_after_registration(make_server, sessions):
    srv = await make_server(oper_password="opw")
    admin = sessions(srv.port, "admin", oper=("admin", "opw"))
    await admin.start()
    await wait_for(admin, is_msg("381"))
    replies = await admin.request("STATS l", until=lambda m: m.command == "219", timeout=5)
    assert any(m.command == "211" for m in replies)
    denied = sessions(srv.port, "eve", oper=("admin", "nope"))
    with pytest.raises(RegistrationError):
        await denied.start()


async def test_cannot_connect_raises_oserror(sessions):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        s = sessions(port, "alice")
        with pytest.raises(OSError):
            await s.start()
    assert s.closed


async def test_bad_lines_are_refused_not_sent(server, sessions):
    s = sessions(server.port, "alice")
    await s.start()
    with pytest.raises(LineError):
        await s.send("PRIVMSG #a :hi\r\nQUIT :injected")
    with pytest.raises(LineError):
        await s.send(Message("PRIVMSG", ("#a", "x\ny")))
    with pytest.raises(LineError):
        await s.send(Message("PRIVMSG", ("#a", "x" * 600)))
    assert s.connected


async def test_long_text_is_split_not_cut(server, sessions, connect):
    s = sessions(server.port, "alice")
    await s.start()
    bob = await connect("bob")
    words = [f"w{i:04d}é" for i in range(300)]  # ~2 KB with multibyte characters
    await s.privmsg("bob", " ".join(words))
    got: list[str] = []
    while len(" ".join(got).split()) < len(words):
        msg = await bob.expect("PRIVMSG")
        got.append(msg.params[-1])
    assert len(got) > 1
    assert " ".join(got).split() == words


async def test_close_sends_quit_and_ends_the_stream(server, sessions, connect):
    bob = await connect("bob")
    await bob.join("#q")
    s = sessions(server.port, "alice")
    await s.start()
    await s.join("#q")
    await wait_for(s, is_msg("366"))
    await s.close("see you")
    quit_ = await bob.expect("QUIT")
    assert "see you" in quit_.params[-1]
    events = [ev async for ev in s.events()]
    assert events[-1].state == "closed"
    with pytest.raises(SessionClosed):
        await s.send("PING x")


async def test_slow_consumer_overflow_closes_the_session(server, sessions, connect):
    s = sessions(server.port, "alice", queue_size=50)
    await s.start()
    bob = await connect("bob")
    for i in range(120):
        await bob.send(f"PRIVMSG alice :flood {i}")
    ev = await wait_for(s, is_status("closed"))
    assert ev.reason == "event queue overflow"
    assert s.closed and not s.connected


async def test_history_on_join_replays_recent_messages(make_server, sessions, tmp_path):
    srv = await make_server(history=True, data_dir=tmp_path)
    bob = await RawClient.connect(srv.port)
    await bob.register("bob", caps="echo-message")
    await bob.join("#old")
    for i in range(60):
        await bob.send(f"PRIVMSG #old :old {i}")
    await bob.expect("PRIVMSG", lambda m: m.params[-1] == "old 59")
    s = sessions(srv.port, "alice", history_on_join=50)
    await s.start()
    await s.join("#old")
    texts: list[str] = []
    async with asyncio.timeout(10):
        while len(texts) < 50:
            ev = await s.next_event()
            for line in chat_lines(ev):
                assert isinstance(ev, History) and line.msgid  # the history batch, with msgids
                texts.append(line.text)
    assert texts == [f"old {i}" for i in range(10, 60)]
    await bob.close()


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A throwaway self-signed certificate for 127.0.0.1 (openssl CLI)."""
    import subprocess

    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


async def test_tls_verifies_by_default_and_insecure_skips(make_server, sessions, self_signed):
    import ssl

    cert, key = self_signed
    srv = await make_server(tls_port=0, tls_cert=cert, tls_key=key)
    tls_port = next(p for _, p, kind in srv.addresses if kind == "tls")
    strict = sessions(tls_port, "alice", tls=True)
    with pytest.raises(ssl.SSLCertVerificationError):
        await strict.start()
    loose = sessions(tls_port, "alice", tls=True, tls_verify=False)
    await loose.start()
    assert {c.transport for c in srv.state.clients.values()} == {"tls"}
