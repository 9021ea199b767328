"""Helpers of the account tests (also used by the admin and gateway tests): the settings of a server
with accounts on (real SQLite), REGISTER and SASL over RawClient. The ``acct_server`` and ``dial``
fixtures are in ``tests/accounts/conftest.py``."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from tcp_server.protocol import Message

from .support import RawClient

ACCOUNTS = {"history": True, "account_scrypt_n": 1024, "history_commit_interval": 0}
"""Accounts need the database; a cheap scrypt keeps the tests fast (the bench measures the real cost)."""


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode() or "+"


async def register_account(client: RawClient, nick: str, password: str, caps: str = "") -> Message:
    """Connect as ``nick``, finish registration, REGISTER the nick; returns the 900 line."""
    await client.register(nick, caps)
    await client.send(f"REGISTER * * :{password}")
    await client.expect("REGISTER", lambda m: m.params[0] == "SUCCESS")
    return await client.expect("900")


async def sasl_start(client: RawClient, mechanism: str, nick: str, caps: str = "sasl") -> None:
    """CAP LS 302 + REQ sasl (and ``caps``), NICK/USER, ``AUTHENTICATE <mechanism>`` -> ``+``."""
    await client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :{nick}", f"CAP REQ :{caps}")
    await client.expect("CAP", lambda m: m.param(1) == "ACK")
    await client.send(f"AUTHENTICATE {mechanism}")
    await client.expect("AUTHENTICATE", lambda m: m.params == ("+",))
    client.nick = nick


async def sasl_plain(client: RawClient, nick: str, account: str, password: str, caps: str = "sasl") -> str:
    """A whole PLAIN login; returns the numeric that ended it (903 or 904)."""
    await sasl_start(client, "PLAIN", nick, caps)
    creds = "\0".join((account, account, password))
    await client.send(f"AUTHENTICATE {b64(creds)}")
    return await sasl_end(client)


async def sasl_end(client: RawClient) -> str:
    """Read until the numeric that ends a SASL exchange; returns it."""
    while True:
        msg = await client.recv()
        assert msg is not None, "closed during SASL"
        if msg.command in ("903", "904", "905", "906", "907"):
            return msg.command


async def finish(client: RawClient) -> RawClient:
    """CAP END and wait for the welcome burst."""
    await client.send("CAP END")
    await client.expect("376")
    return client


def kwargs(**extra: Any) -> dict[str, Any]:
    return {**ACCOUNTS, **extra}


async def make_account(dial: Callable[..., Awaitable[RawClient]], nick: str, password: str) -> None:
    """Register account ``nick`` on a connection that then quits (freeing the nick)."""
    client = await dial()
    await register_account(client, nick, password)
    await client.send("QUIT")
    await client.read_until_closed()
