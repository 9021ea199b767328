"""Accounts over real sockets: REGISTER, SASL PLAIN / SCRAM-SHA-256, PASS, wrong passwords,
and identity on the wire (900, 330, account-tag, account-notify, extended-join)."""

from __future__ import annotations

import base64
import logging

from scramp import ScramClient

from ..accounts_support import (
    b64,
    finish,
    make_account,
    register_account,
    sasl_end,
    sasl_plain,
    sasl_start,
)


async def test_register_logs_in_and_whois_shows_the_account(dial):
    alice = await dial()
    loggedin = await register_account(alice, "alice", "correct horse")
    assert loggedin.params[2] == "alice" and loggedin.params[1].startswith("alice!")
    bob = await dial()
    await bob.register("bob")
    await bob.send("WHOIS alice")
    line = await bob.expect("330")
    assert line.params[1:3] == ("alice", "alice")


async def test_register_refuses_taken_names_weak_passwords_and_other_nicks(dial):
    alice = await dial()
    await register_account(alice, "alice", "correct horse")
    other = await dial()
    await other.register("mallory")
    await other.send("REGISTER * * :short")
    assert (await other.expect("FAIL")).params[1] == "WEAK_PASSWORD"
    await other.send("REGISTER alice * :long enough password")
    assert (await other.expect("FAIL")).params[1] == "ACCOUNT_NAME_MUST_BE_NICK"
    await alice.send("REGISTER * * :another password")
    assert (await alice.expect("FAIL")).params[1] == "ALREADY_AUTHENTICATED"


async def test_cap_ls_302_lists_sasl_mechanisms(dial):
    c = await dial()
    await c.send("CAP LS 302")
    ls = await c.expect("CAP")
    caps = dict(item.partition("=")[::2] for item in ls.params[-1].split())
    assert caps["sasl"].split(",") == ["PLAIN", "SCRAM-SHA-256"]  # EXTERNAL needs tls_client_ca
    assert "account-tag" in caps and "extended-join" in caps and "account-notify" in caps
    assert caps["draft/account-registration"] == "before-connect"


async def test_sasl_plain_logs_in_before_registration_and_logs_no_secret(dial, caplog):
    caplog.set_level(logging.DEBUG)
    await make_account(dial, "alice", "correct horse")
    again = await dial()
    assert await sasl_plain(again, "alice", "alice", "correct horse") == "903"
    assert any(m.command == "900" and m.params[2] == "alice" for m in again.seen)
    await finish(again)
    wrong = await dial()
    assert await sasl_plain(wrong, "bob", "alice", "battery staple") == "904"
    assert "login id=" in caplog.text  # the log does speak about logins...
    for secret in ("correct horse", "battery staple", b64("alice\0alice\0correct horse")):
        assert secret not in caplog.text  # ...but never of passwords


async def test_sasl_plain_wrong_password_and_unknown_account_fail(dial):
    await make_account(dial, "alice", "correct horse")
    wrong = await dial()
    assert await sasl_plain(wrong, "alice", "alice", "wrong horse") == "904"
    unknown = await dial()
    assert await sasl_plain(unknown, "nobody", "nobody", "whatever pw") == "904"
    # after a failure the client can still register, as a guest
    await finish(unknown)


async def test_sasl_unknown_mechanism_gets_908_and_abort_gets_906(dial):
    c = await dial()
    await c.send("CAP LS 302", "CAP REQ sasl")
    await c.expect("CAP", lambda m: m.param(1) == "ACK")
    await c.send("AUTHENTICATE DIGEST-MD5")
    mechs = await c.expect("908")
    assert "PLAIN" in mechs.params[1]
    await c.expect("904")
    await c.send("AUTHENTICATE PLAIN")
    await c.expect("AUTHENTICATE")
    await c.send("AUTHENTICATE *")
    await c.expect("906")


async def test_sasl_scram_sha_256_with_a_standard_client(dial):
    await make_account(dial, "alice", "correct horse")
    for password, expected in (("correct horse", "903"), ("wrong horse", "904")):
        c = await dial()
        await sasl_start(c, "SCRAM-SHA-256", "alice")
        scram = ScramClient(["SCRAM-SHA-256"], "alice", password)
        await c.send(f"AUTHENTICATE {b64(scram.get_client_first())}")
        first = await c.expect("AUTHENTICATE")
        scram.set_server_first(base64.b64decode(first.params[0]).decode())
        await c.send(f"AUTHENTICATE {b64(scram.get_client_final())}")
        if expected == "904":
            assert await sasl_end(c) == "904"
            continue
        final = await c.expect("AUTHENTICATE")
        scram.set_server_final(base64.b64decode(final.params[0]).decode())  # checks the server's proof
        await c.send("AUTHENTICATE +")
        assert await sasl_end(c) == "903"
        await finish(c)


async def test_pass_account_password_logs_in_clients_without_sasl(dial):
    await make_account(dial, "alice", "correct horse")
    c = await dial()
    await c.send("PASS :alice:correct horse", "NICK alice", "USER a 0 * :a")
    await c.expect("900")
    await c.expect("376")
    await c.send("PING sync")
    await c.expect("PONG")
    assert not any("belongs to an account" in m.params[-1] for m in c.seen if m.command == "NOTICE")
    bad = await dial()
    await bad.send("PASS :alice:nope nope", "NICK alice2", "USER a 0 * :a")
    await bad.expect("464")
    await bad.expect("376")


async def test_identity_on_the_wire_account_tag_notify_and_extended_join(dial):
    caps = "message-tags account-tag account-notify extended-join"
    watcher = await dial()
    await watcher.register("watcher", caps)
    await watcher.join("#room")
    alice = await dial()
    await alice.register("alice")
    await alice.join("#room")
    joined = await watcher.expect("JOIN", lambda m: m.source.startswith("alice!"))
    assert joined.params[1:] == ("*", "alice test")  # extended-join: not logged in yet
    await alice.send("REGISTER * * :correct horse")
    notify = await watcher.expect("ACCOUNT")
    assert notify.source.startswith("alice!") and notify.params == ("alice",)
    await alice.send("PRIVMSG #room :hello")
    said = await watcher.expect("PRIVMSG")
    assert said.tags.get("account") == "alice"


async def test_admin_verification_waits_for_an_operator(make_server, tmp_path):
    from ..accounts_support import ACCOUNTS
    from ..support import RawClient

    srv = await make_server(data_dir=tmp_path, account_verification="admin", oper_password="opw", **ACCOUNTS)
    opened: list[RawClient] = []

    async def dial_here() -> RawClient:
        opened.append(await RawClient.connect(srv.port))
        return opened[-1]

    try:
        alice = await dial_here()
        await alice.register("alice")
        await alice.send("REGISTER * * :correct horse")
        pending = await alice.expect("REGISTER")
        assert pending.params[0] == "VERIFICATION_REQUIRED"
        await alice.send("QUIT")
        await alice.read_until_closed()
        early = await dial_here()
        assert await sasl_plain(early, "alice", "alice", "correct horse") == "904"
        assert "approval" in [m for m in early.seen if m.command == "904"][-1].params[-1]
        oper = await dial_here()
        await oper.register("root")
        await oper.send("OPER admin opw")
        await oper.expect("381")
        await oper.send("ACCOUNTADMIN APPROVE alice")
        await oper.expect("NOTICE", lambda m: m.params[-1] == "approve alice: done")
        later = await dial_here()
        assert await sasl_plain(later, "alice2", "alice", "correct horse") == "903"
    finally:
        for c in opened:
            await c.close()


async def test_abort_while_the_password_is_checked_does_not_log_in(dial):
    await make_account(dial, "alice", "correct horse")
    c = await dial()
    await sasl_start(c, "PLAIN", "alice")
    creds = b64(chr(0).join(("alice", "alice", "correct horse")))
    await c.send(f"AUTHENTICATE {creds}\r\nAUTHENTICATE *\r\n".encode())  # one write: both in one read
    assert await sasl_end(c) == "906"
    await c.send("PING sync")
    await c.expect("PONG")
    assert not any(m.command in ("900", "903") for m in c.seen)
