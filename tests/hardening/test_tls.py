"""TLS end to end with certificates made in the test (``trustme``), issue 10: the server's TLS
listener, the gateway reaching the server over TLS (verifying its certificate), a CLI client over
TLS, and a plaintext client on the TLS port closed cleanly without hurting the others."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from ..client_support import PlainClient
from ..support import RawClient
from .hostile_room import TcpUser
from .support import Child, WebUser, gateway_child, log_problems, server_child, settle

ROOM = "#tls"


class Pki:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost, as PEM files."""

    def __init__(self, tmp: Path) -> None:
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = tmp / "ca.pem"
        self.cert_file = tmp / "server.pem"
        self.key_file = tmp / "server.key"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        cert.cert_chain_pems[0].write_to_path(str(self.cert_file))
        for blob in cert.cert_chain_pems[1:]:
            blob.write_to_path(str(self.cert_file), append=True)
        cert.private_key_pem.write_to_path(str(self.key_file))

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx


class TlsStack:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.pki = Pki(tmp)
        self.server: Child = server_child(
            tmp, "--no-history", "--tls-port", "0", "--tls-cert", str(self.pki.cert_file),
            "--tls-key", str(self.pki.key_file), "--registration-timeout", "3", listeners=2,
        )
        self.gateway: Child | None = None

    @property
    def tls_port(self) -> int:
        return self.server.ports["tls"]

    async def tls_user(self, nick: str) -> TcpUser:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", self.tls_port, ssl=self.pki.client_context(), limit=2**20
        )
        client = RawClient(reader, writer)
        await client.register(nick)
        await client.join(ROOM)
        return TcpUser(client, ROOM)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[TlsStack]:
    s = TlsStack(tmp_path)
    await s.server.astart()
    # The gateway trusts the test CA through the standard variable OpenSSL reads.
    s.gateway = await gateway_child(
        tmp_path, s.tls_port, "--irc-tls", env={"SSL_CERT_FILE": str(s.pki.ca_file)}
    ).astart()
    try:
        yield s
    finally:
        for child in (s.gateway, s.server):
            await asyncio.to_thread(child.stop)


async def test_web_tls_and_cli_users_chat_over_tls(stack: TlsStack) -> None:
    assert stack.gateway is not None
    alice = await stack.tls_user("alice")
    carol = await WebUser(f"ws://127.0.0.1:{stack.gateway.port}/ws", "carol", ROOM).start()
    cli = await PlainClient.start(
        stack.tls_port, "cli", "--tls", "--join", ROOM, env={"SSL_CERT_FILE": str(stack.pki.ca_file)}
    )
    try:
        await cli.expect(rf"cli joined {ROOM}")
        await alice.say("over tls")
        await cli.expect(r"<alice> over tls")
        assert await settle(lambda: ("alice", "over tls") in [(e.get("from"), e.get("text")) for e in carol.events])
        await carol.say("from the web, over tls upstream")
        await cli.expect(r"<carol> from the web, over tls upstream")
        assert await settle(lambda: ("carol", "from the web, over tls upstream") in alice.lines)
        await cli.send("from the cli")
        assert await settle(lambda: ("cli", "from the cli") in alice.lines)
        # Every connection of the server came in over TLS (the gateway's included).
        connects = [line for line in stack.server.log_text().splitlines() if " connect id=" in line]
        assert len(connects) >= 3 and all(line.endswith("transport=tls") for line in connects)
    finally:
        cli.kill()
        await cli.proc.wait()
        await carol.close()
        await alice.close()


async def test_the_gateway_refuses_a_server_certificate_it_cannot_verify(tmp_path: Path) -> None:
    s = TlsStack(tmp_path)
    await s.server.astart()
    gateway = await gateway_child(tmp_path, s.tls_port, "--irc-tls", "--connect-timeout", "3").astart()
    try:
        user = WebUser(f"ws://127.0.0.1:{gateway.port}/ws", "carol", ROOM)
        task = asyncio.create_task(user._run())
        assert await settle(lambda: any(e["type"] == "error" and e["code"] == "upstream" for e in user.events))
        upstream = next(e for e in user.events if e["type"] == "error")
        assert "CERTIFICATE_VERIFY_FAILED" in upstream["message"] or "certificate" in upstream["message"]
        assert not any(e["type"] == "status" and e["state"] == "connected" for e in user.events)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        for child in (gateway, s.server):
            await asyncio.to_thread(child.stop)


async def test_plaintext_on_the_tls_port_is_closed_cleanly_and_others_carry_on(stack: TlsStack) -> None:
    assert stack.gateway is not None
    alice = await stack.tls_user("alice")
    carol = await WebUser(f"ws://127.0.0.1:{stack.gateway.port}/ws", "carol", ROOM).start()
    loop = asyncio.get_running_loop()
    try:
        plain = []
        for _ in range(20):
            sock = socket.socket()
            sock.setblocking(False)
            await loop.sock_connect(sock, ("127.0.0.1", stack.tls_port))
            await loop.sock_sendall(sock, b"NICK oops\r\nUSER oops 0 * :oops\r\nJOIN #tls\r\n")
            plain.append(sock)
        answers = []
        for sock in plain:  # each is closed by the server: EOF (or a reset), never an IRC reply
            got = b""
            with contextlib.suppress(ConnectionError, OSError):
                while chunk := await asyncio.wait_for(loop.sock_recv(sock, 4096), 10):
                    got += chunk
            answers.append(got)
            sock.close()
        assert all(b"001" not in a and b"PRIVMSG" not in a for a in answers)
        # The others did not notice.
        await alice.say("still fine")
        assert await settle(lambda: ("alice", "still fine") in [(e.get("from"), e.get("text")) for e in carol.events])
        await carol.say("me too")
        assert await settle(lambda: ("carol", "me too") in alice.lines)
        late = await stack.tls_user("late")  # and the TLS port still accepts
        await late.close()
        assert log_problems(stack.server.log_text()) == []
    finally:
        await carol.close()
        await alice.close()
