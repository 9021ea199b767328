"""The client side of accounts: ``tcpchat connect --account/--password`` logs in with SASL PLAIN
on every (re)connect, ``/register`` makes the nick an account (real server, real sockets)."""

from __future__ import annotations

import pytest

from tcp_client.model import ChatModel
from tcp_client.registration import RegistrationError
from tcp_client.slash import handle_input
from tcpchat.connect import ConnectSettings, make_session

from ..accounts_support import make_account
from ..client_support import is_msg, wait_for


async def test_connect_settings_log_in_to_the_account(acct_server, dial):
    await make_account(dial, "alice", "correct horse")
    settings = ConnectSettings(nick="alice", port=acct_server.port, account="alice", password="correct horse",
                               reconnect=False, history_lines=0)
    session = make_session(settings)
    try:
        await session.start()
        assert session.account == "alice" and session.nick == "alice"
        watcher = await dial()
        await watcher.register("watcher")
        await watcher.send("WHOIS alice")
        assert (await watcher.expect("330")).params[2] == "alice"
    finally:
        await session.close()


async def test_a_wrong_account_password_is_a_fatal_refusal(acct_server, dial, sessions):
    await make_account(dial, "alice", "correct horse")
    session = sessions(acct_server.port, "alice", account=("alice", "wrong horse"), reconnect=False)
    with pytest.raises(RegistrationError) as refused:
        await session.start()
    assert refused.value.numeric == "904" and refused.value.fatal


async def test_slash_register_makes_the_nick_an_account(acct_server, sessions):
    session = sessions(acct_server.port, "bob", reconnect=False)
    await session.start()
    await handle_input(session, ChatModel("bob"), "", "/register correct horse")
    await wait_for(session, is_msg("900"))
    again = sessions(acct_server.port, "bob2", account=("bob", "correct horse"), reconnect=False)
    await again.start()
    assert again.account == "bob"
