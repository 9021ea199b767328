"""SASL guessing is limited per address, per connection and per account (counted before the
hash runs, the hash off the event loop), and the limits do not lock out other addresses."""

from __future__ import annotations

import asyncio

from ..accounts_support import ACCOUNTS, b64, finish, make_account, sasl_end, sasl_plain, sasl_start
from ..support import RawClient


async def _dial(port: int, opened: list[RawClient], source_ip: str = "127.0.0.1") -> RawClient:
    client = await RawClient.connect(port, source=source_ip)
    opened.append(client)
    return client


async def _last_904(client: RawClient) -> str:
    assert await sasl_end(client) == "904"
    return [m for m in client.seen if m.command == "904"][-1].params[-1]


async def test_parallel_wrong_logins_from_one_address_get_at_most_the_limit_checked(make_server, tmp_path):
    srv = await make_server(data_dir=tmp_path, auth_attempts_per_ip=5, **ACCOUNTS)
    opened: list[RawClient] = []
    try:
        await make_account(lambda: _dial(srv.port, opened), "alice", "correct horse")
        guessers = [await _dial(srv.port, opened) for _ in range(20)]
        for i, g in enumerate(guessers):
            await sasl_start(g, "PLAIN", f"guess{i}")
        for g in guessers:  # all at once
            await g.send(f"AUTHENTICATE {b64(chr(0).join(('alice', 'alice', 'wrong guess')))}")
        texts = await asyncio.gather(*(_last_904(g) for g in guessers))
        refused = [t for t in texts if "too many attempts" in t]
        assert len(texts) - len(refused) <= 5  # checked: no more than the per-address limit
        assert len(refused) >= 15
        other = await _dial(srv.port, opened, "127.0.0.2")  # another address is not locked out
        assert await sasl_plain(other, "alice", "alice", "correct horse") == "903"
        await finish(other)
    finally:
        for c in opened:
            await c.close()


async def test_a_connection_that_keeps_failing_is_dropped(make_server, tmp_path):
    srv = await make_server(data_dir=tmp_path, auth_failures_per_connection=3, **ACCOUNTS)
    opened: list[RawClient] = []
    try:
        await make_account(lambda: _dial(srv.port, opened), "alice", "correct horse")
        c = await _dial(srv.port, opened)
        await c.send("CAP LS 302", "NICK guesser", "USER g 0 * :g", "CAP REQ sasl")
        await c.expect("CAP", lambda m: m.param(1) == "ACK")
        for n in range(3):  # one attempt at a time, as a client does: each waits for its 904
            await c.send("AUTHENTICATE PLAIN")
            await c.expect("AUTHENTICATE")
            await c.send(f"AUTHENTICATE {b64(chr(0).join(('alice', 'alice', f'guess {n}')))}")
            if n < 2:
                await c.expect("904")
        rest = await c.read_until_closed()
        assert any(m.command == "ERROR" and "failed password" in m.params[-1] for m in rest)
    finally:
        for c in opened:
            await c.close()


async def test_failures_against_one_account_from_many_addresses_are_limited(make_server, tmp_path):
    srv = await make_server(data_dir=tmp_path, auth_failures_per_account=3, **ACCOUNTS)
    opened: list[RawClient] = []
    try:
        await make_account(lambda: _dial(srv.port, opened), "alice", "correct horse")
        for n in range(3):
            g = await _dial(srv.port, opened, f"127.0.1.{n + 1}")
            assert await sasl_plain(g, f"g{n}", "alice", f"wrong {n}") == "904"
        late = await _dial(srv.port, opened, "127.0.2.1")
        assert await sasl_plain(late, "late", "alice", "correct horse") == "904"
        assert "too many attempts" in [m for m in late.seen if m.command == "904"][-1].params[-1]
    finally:
        for c in opened:
            await c.close()
