"""``tcpchat connect --plain`` as a real child process, driven through pipes, against a real server."""

from __future__ import annotations

import socket

import pytest

from ..client_support import PlainClient
from ..support import RawClient, ServerProcess


@pytest.fixture
async def plain():
    """Start ``tcpchat connect --plain`` children: ``await plain(port, nick, *args)``; killed after the test."""
    started: list[PlainClient] = []

    async def factory(port: int, nick: str, *args: str, env: dict[str, str] | None = None) -> PlainClient:
        client = await PlainClient.start(port, nick, *args, env=env)
        started.append(client)
        return client

    yield factory
    for client in started:
        client.kill()
        await client.proc.wait()


async def test_chat_through_a_pipe(server, connect, plain):
    alice = await plain(server.port, "alice", "--join", "#lobby")
    await alice.expect(r"#lobby -- alice joined #lobby")
    await alice.expect(r"#lobby members: @alice")  # first in: operator
    bob = await connect("bob")
    await bob.join("#lobby")
    await alice.expect(r"#lobby -- bob joined #lobby")
    await alice.send("hello from a pipe")
    got = await bob.expect("PRIVMSG")
    assert got.params == ("#lobby", "hello from a pipe")
    await alice.expect(r"^\S+ #lobby <alice> hello from a pipe$")  # echo-message
    await bob.send("PRIVMSG #lobby :hi alice")
    await alice.expect(r"^\S+ #lobby <bob> hi alice$")
    await bob.send("PRIVMSG alice :a secret")
    await alice.expect(r"^\S+ bob <bob> a secret$")
    await alice.send("/msg bob back at you")
    got = await bob.expect("PRIVMSG")
    assert got.params == ("bob", "back at you")
    await alice.send("/me waves")
    got = await bob.expect("PRIVMSG")
    assert got.params == ("#lobby", "\x01ACTION waves\x01")
    await alice.expect(r"#lobby \* alice waves")
    await alice.send("/nick alicia")
    await alice.expect(r"alice is now known as alicia")
    nick = await bob.expect("NICK")
    assert nick.source.startswith("alice!") and nick.params == ("alicia",)
    await alice.send("/topic plain talk")
    await alice.expect(r"#lobby -- alicia set the topic: plain talk")
    await alice.send("/frobnicate")
    await alice.expect(r"! unknown command /frobnicate")
    await alice.send("/quit gotta go")
    quit_ = await bob.expect("QUIT")
    assert "gotta go" in quit_.params[-1]
    code, err = await alice.finish()
    assert code == 0, err


async def test_end_of_input_quits_cleanly(server, connect, plain):
    bob = await connect("bob")
    await bob.join("#a")
    alice = await plain(server.port, "alice", "--join", "#a")
    await alice.expect(r"alice joined #a")
    await alice.send("last words")
    code, err = await alice.finish()  # closes stdin
    assert code == 0, err
    got = await bob.expect("PRIVMSG")
    assert got.params[-1] == "last words"
    await bob.expect("QUIT")


async def test_server_not_listening_is_a_clear_error(plain):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        client = await plain(sock.getsockname()[1], "alice")
        code, err = await client.finish()
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: cannot connect to 127.0.0.1:")


async def test_nick_in_use_is_refused_with_exit_code(server, connect, plain):
    await connect("alice")
    client = await plain(server.port, "alice")
    await client.send("")  # stdin stays open; the client must exit by itself
    code, err = await client.finish()
    assert code == 3
    assert "433" in err and "in use" in err and err.count("\n") == 1


async def test_long_lines_are_split_or_refused_never_cut(server, connect, plain):
    bob = await connect("bob")
    await bob.join("#a")
    alice = await plain(server.port, "alice", "--join", "#a")
    await alice.expect(r"alice joined #a")
    words = [f"word{i:04d}" for i in range(250)]  # ~2.2 KB: several IRC lines
    await alice.send(" ".join(words))
    await alice.expect(r"long message sent as \d+ lines")
    received: list[str] = []
    while len(received) < len(words):
        received += (await bob.expect("PRIVMSG")).params[-1].split()
    assert received == words
    await alice.send("x" * 5000)  # over --max-input-bytes (4096)
    await alice.expect(r"#a ! line too long")
    await alice.send("still here")
    got = await bob.expect("PRIVMSG")
    assert got.params[-1] == "still here"  # nothing of the refused line was sent


async def test_reconnects_after_server_restart_and_keeps_typed_input():
    proc = ServerProcess("--no-history", "--flood-rate", "0").start()
    alice = None
    try:
        alice = await PlainClient.start(proc.port, "alice", "--join", "#lobby")
        await alice.expect(r"alice joined #lobby")
        proc.stop()
        await alice.expect(r"reconnecting…")
        await alice.send("typed while the server was down")
        proc.start(port=proc.port)
        await alice.expect(r"connected as alice")
        # the queued line went out after the rejoin: the server echoes it back in #lobby
        await alice.expect(r"#lobby <alice> typed while the server was down")
        bob = await RawClient.connect(proc.port)
        await bob.register("bob")
        await bob.join("#lobby")
        await bob.send("PRIVMSG #lobby :welcome back")
        await alice.expect(r"#lobby <bob> welcome back")
        await bob.close()
        await alice.send("/quit")
        code, err = await alice.finish()
        assert code == 0, err
    finally:
        if alice is not None:
            alice.kill()
        proc.stop()


async def test_tls_verified_with_a_trusted_cert_and_refused_without(make_server, plain, tmp_path):
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    srv = await make_server(tls_port=0, tls_cert=cert, tls_key=key)
    tls_port = next(p for _, p, kind in srv.addresses if kind == "tls")
    untrusted = await plain(tls_port, "alice", "--tls")
    code, err = await untrusted.finish()
    assert code == 1 and "certificate verify failed" in err
    # the child trusts our certificate through OpenSSL's standard variable
    trusted = await plain(tls_port, "alice", "--tls", "--join", "#sec", env={"SSL_CERT_FILE": str(cert)})
    await trusted.expect(r"#sec -- alice joined #sec")
    await trusted.send("/quit")
    assert (await trusted.finish())[0] == 0
    insecure = await plain(tls_port, "bob", "--tls", "--insecure", "--join", "#sec")
    await insecure.expect(r"#sec -- bob joined #sec")


async def test_recent_history_is_shown_on_join(make_server, plain, tmp_path):
    srv = await make_server(history=True, data_dir=tmp_path)
    bob = await RawClient.connect(srv.port)
    await bob.register("bob", caps="echo-message")
    await bob.join("#lobby")
    for i in range(55):
        await bob.send(f"PRIVMSG #lobby :earlier {i}")
    await bob.expect("PRIVMSG", lambda m: m.params[-1] == "earlier 54")
    alice = await plain(srv.port, "alice", "--join", "#lobby")
    first = await alice.expect(r"<bob> earlier")
    assert first.endswith("<bob> earlier 5")  # the last 50 of 55
    await alice.expect(r"<bob> earlier 54$")
    await bob.close()


async def test_config_file_settings_with_flags_taking_precedence(server, plain, tmp_path):
    conf = tmp_path / "connect.toml"
    conf.write_text('nick = "fromfile"\njoin = "#fromfile"\n')
    alice = await plain(server.port, "alice", "--config", str(conf))  # --nick alice wins
    await alice.expect(r"#fromfile -- alice joined #fromfile")
    await alice.send("/quit")
    assert (await alice.finish())[0] == 0
    conf.write_text("nick = [broken\n")
    broken = await plain(server.port, "bob", "--config", str(conf))
    code, err = await broken.finish()
    assert code == 2 and err.startswith(f"error: config file {conf}:") and err.count("\n") == 1


async def test_end_of_input_while_reconnecting_still_delivers_typed_lines():
    proc = ServerProcess("--no-history", "--flood-rate", "0").start()
    alice = None
    try:
        alice = await PlainClient.start(proc.port, "alice", "--join", "#lobby")
        await alice.expect(r"alice joined #lobby")
        proc.stop()
        await alice.expect(r"reconnecting…")
        await alice.send("said just before leaving")
        alice.proc.stdin.close()  # end of input while the server is down
        proc.start(port=proc.port)
        await alice.expect(r"#lobby <alice> said just before leaving")  # the server's echo
        code, err = await alice.finish()
        assert code == 0, err
    finally:
        if alice is not None:
            alice.kill()
        proc.stop()


async def test_messages_said_while_disconnected_are_shown_after_reconnect(make_server, plain, tmp_path):
    from ..support import Proxy

    srv = await make_server(history=True, data_dir=tmp_path)
    proxy = Proxy(srv.port)
    try:
        alice = await plain(await proxy.start(), "alice", "--join", "#lobby")
        await alice.expect(r"alice joined #lobby")
        bob = await RawClient.connect(srv.port)
        await bob.register("bob", caps="echo-message")
        await bob.join("#lobby")
        await bob.send("PRIVMSG #lobby :before")
        await alice.expect(r"<bob> before$")
        proxy.cut()
        await alice.expect(r"reconnecting…")
        for text in ("while away 1", "while away 2"):
            await bob.send(f"PRIVMSG #lobby :{text}")
            await bob.expect("PRIVMSG", lambda m, t=text: m.params[-1] == t)  # stored
        proxy.open = True
        await alice.expect(r"#lobby <bob> while away 1$")
        await alice.expect(r"#lobby <bob> while away 2$")
        await alice.expect(r"connected as alice")
        assert sum("<bob> before" in line for line in alice.lines) == 1  # not shown twice
        await bob.close()
    finally:
        await proxy.close()


async def test_query_commands_print_their_replies(server, connect, plain):
    bob = await connect("bob")
    await bob.join("#lobby")
    alice = await plain(server.port, "alice", "--join", "#lobby")
    await alice.expect(r"alice joined #lobby")
    await alice.send("/names")
    await alice.expect(r"#lobby members: @bob alice|#lobby members: alice @bob")
    await alice.send("/list")
    await alice.expect(r"#lobby \(2 users\)")
    await alice.expect(r"end of room list")
    await alice.send("/whois bob")
    await alice.expect(r"bob: ~bob .*bob")
    await alice.send("/away lunch")
    await alice.expect(r"marked as being away")
    await alice.send("/away")
    await alice.expect(r"no longer marked as being away")
    await alice.send("/help")
    await alice.expect(r"/join #room \[key\]")
    await alice.send("/msg")
    await alice.expect(r"! usage: /msg nick text")
    await alice.send("/quote PRIVMSG bob :raw hello")
    got = await bob.expect("PRIVMSG")
    assert got.params == ("bob", "raw hello")
