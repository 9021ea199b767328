"""SASL EXTERNAL over the TLS port: a client certificate's fingerprint logs in to its account
(certificates made in the test with trustme)."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from ..accounts_support import ACCOUNTS, finish, register_account, sasl_end
from ..support import RawClient

trustme = pytest.importorskip("trustme")


@pytest.fixture
def pki(tmp_path):
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "ca.pem"
    server_cert.cert_chain_pems[0].write_to_path(cert)
    server_cert.private_key_pem.write_to_path(key)
    ca.cert_pem.write_to_path(ca_file)
    return ca, cert, key, ca_file


async def _tls_client(ca, port: int, cert, opened: list[RawClient]) -> RawClient:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    if cert is not None:
        cert.configure_cert(ctx)
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, limit=2**20)
    client = RawClient(reader, writer)
    opened.append(client)
    return client


async def _external(client: RawClient, nick: str) -> str:
    await client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :{nick}", "CAP REQ sasl")
    await client.expect("CAP", lambda m: m.param(1) == "ACK")
    await client.send("AUTHENTICATE EXTERNAL")
    reply = await client.recv()
    if reply is not None and reply.command == "AUTHENTICATE":
        await client.send("AUTHENTICATE +")
        return await sasl_end(client)
    assert reply is not None
    return reply.command


async def test_external_logs_in_with_the_registered_certificate_only(make_server, tmp_path, pki):
    ca, cert, key, ca_file = pki
    srv = await make_server(
        data_dir=tmp_path, tls_port=0, tls_cert=cert, tls_key=key, tls_client_ca=ca_file, **ACCOUNTS
    )
    tls_port = next(p for _, p, kind in srv.addresses if kind == "tls")
    opened: list[RawClient] = []
    laptop, other = ca.issue_cert("alice-laptop"), ca.issue_cert("someone-else")
    try:
        first = await _tls_client(ca, tls_port, laptop, opened)
        await first.send("CAP LS 302")
        ls = await first.expect("CAP")
        assert "sasl=PLAIN,SCRAM-SHA-256,EXTERNAL" in ls.params[-1].split()
        await first.send("CAP END")
        await register_account(first, "alice", "correct horse")  # over TLS: the cert is registered
        await first.send("QUIT")
        await first.read_until_closed()

        again = await _tls_client(ca, tls_port, laptop, opened)
        assert await _external(again, "alice") == "903"
        await finish(again)
        await again.send("WHOIS alice")
        assert (await again.expect("330")).params[2] == "alice"

        stranger = await _tls_client(ca, tls_port, other, opened)
        assert await _external(stranger, "mallory") == "904"
        bare = await _tls_client(ca, tls_port, None, opened)  # no certificate at all
        assert await _external(bare, "bare") == "904"
    finally:
        for c in opened:
            await c.close()
