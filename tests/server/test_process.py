"""The server as a real child process (SIGTERM shutdown) and the TLS listener."""

from __future__ import annotations

import asyncio
import shutil
import signal
import ssl
import subprocess

import pytest

from ..support import RawClient, ServerProcess


async def test_sigterm_sends_every_client_closing_link_and_exits_0():
    proc = ServerProcess("--no-history", "--flood-rate", "0").start()
    try:
        alice = await RawClient.connect(proc.port)
        await alice.register("alice")
        bob = await RawClient.connect(proc.port)
        await bob.register("bob")
        for c in (alice, bob):
            await c.join("#room")
        lurker = await RawClient.connect(proc.port)
        await lurker.send("NICK lurker")  # not registered yet
        await lurker.send("PING :ready")
        await lurker.expect("PONG")
        proc.proc.send_signal(signal.SIGTERM)
        for c in (alice, bob, lurker):
            tail = await c.read_until_closed()
            errors = [m for m in tail if m.command == "ERROR"]
            assert len(errors) == 1 and errors[0].params[0].startswith("Closing Link")
            assert tail[-1].command == "ERROR"
            await c.close()
        code = await asyncio.to_thread(proc.proc.wait, 10)
        assert code == 0
    finally:
        proc.stop()


async def test_sigint_also_exits_cleanly():
    proc = ServerProcess("--no-history").start()
    client = await RawClient.connect(proc.port)
    await client.register("x")
    proc.proc.send_signal(signal.SIGINT)
    tail = await client.read_until_closed()
    assert tail[-1].command == "ERROR"
    await client.close()
    assert proc.stop() == 0


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is not installed (scripts/system-deps installs it)")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_listener_with_verified_self_signed_cert(make_server, self_signed):
    cert, key = self_signed
    server = await make_server(tls_port=0, tls_cert=cert, tls_key=key)
    tls_port = next(p for _, p, kind in server.addresses if kind == "tls")
    ctx = ssl.create_default_context(cafile=str(cert))
    reader, writer = await asyncio.open_connection("127.0.0.1", tls_port, ssl=ctx)
    secure = RawClient(reader, writer)
    await secure.register("secure")
    plain = await RawClient.connect(server.port)
    await plain.register("plain")
    await secure.join("#room")
    await plain.join("#room")
    await secure.send("PRIVMSG #room :over tls")
    assert (await plain.expect("PRIVMSG")).params == ("#room", "over tls")
    await plain.send("PRIVMSG secure :back")
    assert (await secure.expect("PRIVMSG")).params == ("secure", "back")
    assert {c.transport for c in server.state.clients.values()} == {"tls", "tcp"}
    await secure.send("QUIT :done")
    tail = await secure.read_until_closed()
    assert tail[-1].command == "ERROR"
    for c in (secure, plain):
        await c.close()


async def test_plaintext_on_tls_port_is_dropped_without_crashing(make_server, self_signed):
    cert, key = self_signed
    server = await make_server(tls_port=0, tls_cert=cert, tls_key=key)
    tls_port = next(p for _, p, kind in server.addresses if kind == "tls")
    bad = await RawClient.connect(tls_port)
    await bad.send("NICK oops", "USER a 0 * :a")
    with pytest.raises((AssertionError, ConnectionError, ValueError)):
        await bad.expect("001", timeout=3)
    await bad.close()
    ok = await RawClient.connect(server.port)
    await ok.register("fine")
    await ok.close()


async def test_tls_client_that_never_handshakes_is_closed(make_server, self_signed):
    cert, key = self_signed
    server = await make_server(tls_port=0, tls_cert=cert, tls_key=key, registration_timeout=0.3)
    tls_port = next(p for _, p, kind in server.addresses if kind == "tls")
    reader, writer = await asyncio.open_connection("127.0.0.1", tls_port)
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed well before the 60 s default
    writer.close()


async def test_tls_listener_of_the_real_process_on_uvloop(self_signed):
    cert, key = self_signed
    proc = ServerProcess(
        "--no-history", "--tls-port", "0", "--tls-cert", str(cert), "--tls-key", str(key)
    ).start()
    try:
        line = await asyncio.to_thread(proc.proc.stdout.readline)
        assert line.startswith("listening on 127.0.0.1:") and line.rstrip().endswith("(tls)")
        tls_port = int(line.split(":")[1].split()[0])
        ctx = ssl.create_default_context(cafile=str(cert))
        reader, writer = await asyncio.open_connection("127.0.0.1", tls_port, ssl=ctx)
        client = RawClient(reader, writer)
        await client.register("secure")
        await client.join("#tls")
        await client.send("QUIT :done")
        assert (await client.read_until_closed())[-1].command == "ERROR"
        await client.close()
    finally:
        assert proc.stop() == 0
