"""Operators manage accounts over real sockets: ACCOUNTADMIN RESETPASS / LIST / DISABLE, and
``STATS l`` names each connection's account (the admin page's account column)."""

from __future__ import annotations

import logging

import pytest

from ..accounts_support import ACCOUNTS, register_account, sasl_plain
from ..support import RawClient


@pytest.fixture
async def dial(make_server, tmp_path):
    srv = await make_server(data_dir=tmp_path, oper_password="opw", **ACCOUNTS)
    opened: list[RawClient] = []

    async def factory() -> RawClient:
        opened.append(await RawClient.connect(srv.port))
        return opened[-1]

    yield factory
    for c in opened:
        await c.close()


async def oper(dial, nick: str = "root", caps: str = "") -> RawClient:
    c = await dial()
    await c.register(nick, caps)
    await c.send("OPER admin opw")
    await c.expect("381")
    return c


async def test_resetpass_replaces_the_password_and_is_never_logged(dial, caplog):
    caplog.set_level(logging.DEBUG)
    alice = await dial()
    await register_account(alice, "alice", "old password")
    root = await oper(dial)
    await root.send("ACCOUNTADMIN RESETPASS alice :brand new secret")
    await root.expect("NOTICE", lambda m: m.params[-1] == "resetpass alice: done")
    assert await sasl_plain(await dial(), "alice1", "alice", "old password") == "904"
    assert await sasl_plain(await dial(), "alice2", "alice", "brand new secret") == "903"
    assert "brand new secret" not in caplog.text and "old password" not in caplog.text


async def test_resetpass_of_an_unknown_account_or_weak_password_is_refused(dial):
    root = await oper(dial)
    await root.send("ACCOUNTADMIN RESETPASS nobody :long enough password")
    await root.expect("NOTICE", lambda m: m.params[-1] == "resetpass nobody: no such account")
    await root.send("ACCOUNTADMIN RESETPASS nobody :x")
    await root.expect("NOTICE", lambda m: m.params[-1].startswith("resetpass nobody: use at least"))


async def test_resetpass_needs_an_operator(dial):
    alice = await dial()
    await register_account(alice, "alice", "old password")
    await alice.send("ACCOUNTADMIN RESETPASS alice :brand new secret")
    await alice.expect("481")


async def test_list_counts_connections_and_disable_refuses_logins(dial):
    alice = await dial()
    await register_account(alice, "alice", "correct horse")
    root = await oper(dial)
    await root.send("ACCOUNTADMIN LIST")
    line = await root.expect("NOTICE", lambda m: m.params[-1].startswith("alice "))
    assert line.params[-1] == "alice verified connections=1"
    await root.expect("NOTICE", lambda m: m.params[-1] == "End of account list")
    await root.send("ACCOUNTADMIN DISABLE alice")
    await root.expect("NOTICE", lambda m: m.params[-1] == "disable alice: done")
    assert await sasl_plain(await dial(), "alice2", "alice", "correct horse") == "904"


async def test_stats_l_carries_each_connections_account(dial):
    alice = await dial()
    await register_account(alice, "alice", "correct horse")
    guest = await dial()
    await guest.register("guest")
    root = await oper(dial, caps="message-tags")
    await root.send("STATS l")
    accounts = {}
    while True:
        msg = await root.recv()
        assert msg is not None
        if msg.command == "219":
            break
        if msg.command == "211":
            accounts[msg.tags["tcpchat.example/nick"]] = msg.tags["tcpchat.example/account"]
    assert accounts["alice"] == "alice" and accounts["guest"] == "" and accounts["root"] == ""
