"""Accounts and registered channels shared by nodes on one PostgreSQL database.

A change made through one node (REGISTER, ACCOUNTADMIN DROP, CS REGISTER/UNREGISTER, a topic
or mode saved to a registered channel) reaches the other nodes through PostgreSQL LISTEN/NOTIFY
and each reloads that one record: nick protection, ``@`` on JOIN and logins follow at once,
without a restart.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tcp_server.server import ChatServer

from ..accounts_support import register_account
from ..postgres import fresh_pg_url
from ..support import RawClient, sync

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
NODE = {"history": True, "account_scrypt_n": 1024, "history_commit_interval": 0, "oper_password": "opw",
        "nick_enforce_timeout": 30}
PW = "hunter22pw"
TRIES = 200


async def _nodes(cluster, pg_socket_dir, tmp_path: Path, count: int = 2) -> list[ChatServer]:
    url = await fresh_pg_url(pg_socket_dir)
    return [await cluster(database_url=url, data_dir=tmp_path / f"n{i}", **NODE) for i in range(count)]


async def _pass_login(node: ChatServer, nick: str, account: str, password: str = PW) -> tuple[RawClient, str]:
    """Connect with ``PASS account:password``; returns the client and 900 or 464."""
    client = await RawClient.connect(node.port)
    await client.send(f"PASS {account}:{password}", f"NICK {nick}", f"USER {nick} 0 * :{nick}")
    while True:
        msg = await client.recv()
        assert msg is not None, "closed before an answer to PASS"
        if msg.command in ("900", "464"):
            client.nick = nick
            return client, msg.command


async def _until(client: RawClient, line: str, answer: str, tries: int = TRIES) -> list[str]:
    """Send ``line`` until a NOTICE containing ``answer`` comes back (bounded); all notices seen."""
    seen: list[str] = []
    for _ in range(tries):
        await client.send(line)
        notices = [m.params[-1] for m in await sync(client) if m.command == "NOTICE"]
        seen += notices
        if any(answer in n for n in notices):
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"{line!r} never answered {answer!r}: {seen[-3:]}")


async def test_account_registered_on_one_node_is_known_on_another_at_once(
    cluster, users, pg_socket_dir, tmp_path: Path
) -> None:
    a, b = await _nodes(cluster, pg_socket_dir, tmp_path)
    alice = await RawClient.connect(a.port)
    await register_account(alice, "alice", PW)
    second, answer = await _pass_login(b, "alice_web", "alice")  # right after, on the other node
    assert answer == "900"
    await second.close()
    await alice.send("QUIT :bye")
    taker = await users(b, "taker")
    for _ in range(TRIES):  # bounded: until A's QUIT freed the nick in Redis
        await taker.send("NICK alice")
        got = await sync(taker)
        if any(m.command == "NICK" for m in got):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the nick alice was never freed")
    notices = [m.params[-1] for m in got if m.command == "NOTICE"]
    assert any("belongs to an account" in n for n in notices), got  # B protects the new account's nick


async def test_registered_channel_keeps_ops_topic_and_modes_on_another_node(
    cluster, users, pg_socket_dir, tmp_path: Path
) -> None:
    a, b = await _nodes(cluster, pg_socket_dir, tmp_path)
    alice = await RawClient.connect(a.port)
    await register_account(alice, "alice", PW)
    await alice.join("#reg")
    await alice.send("CS REGISTER #reg")
    await alice.expect("NOTICE", lambda m: "is registered" in m.params[-1])
    await alice.send("TOPIC #reg :kept across nodes", "MODE #reg +s", "MODE #reg +b evil!*@*")
    await alice.expect("MODE", lambda m: m.params[1] == "+b")
    await alice.send("PART #reg")
    await alice.expect("PART")
    bob = await users(b, "bob")
    await _until(bob, "CS INFO #reg", "founder=alice")  # B heard of the registration
    await bob.send("JOIN #reg")
    assert (await bob.expect("332")).params[-1] == "kept across nodes"
    assert (await bob.expect("353")).params[-1] == "bob"  # first in, yet no @: not in its ops list
    await bob.send("MODE #reg")
    assert "s" in (await bob.expect("324")).params[2]
    evil = await users(b, "evil")
    await evil.send("JOIN #reg")  # the stored ban list came back with the channel
    assert (await evil.expect("474")).params[1] == "#reg"
    al, answer = await _pass_login(b, "al", "alice")
    assert answer == "900"
    await al.send("JOIN #reg")
    assert set((await al.expect("353")).params[-1].split()) == {"@al", "bob"}  # the founder's account
    await alice.send("JOIN #reg")  # node A sees the same member modes (no @ for bob there either)
    assert set((await alice.expect("353")).params[-1].split()) == {"@al", "bob", "@alice"}
    await alice.send("CS UNREGISTER #reg")
    await alice.expect("NOTICE", lambda m: "no longer registered" in m.params[-1])
    await _until(bob, "CS INFO #reg", "is not registered")
    await al.close()


async def test_account_dropped_on_one_node_is_refused_and_logged_out_on_another(
    cluster, users, pg_socket_dir, tmp_path: Path
) -> None:
    a, b = await _nodes(cluster, pg_socket_dir, tmp_path)
    alice = await RawClient.connect(a.port)
    await register_account(alice, "alice", PW)
    web, answer = await _pass_login(b, "alice_web", "alice")
    assert answer == "900"
    oper = await users(a, "oper")
    await oper.send("OPER admin opw")
    await oper.expect("381")
    await oper.send("ACCOUNTADMIN DROP alice")
    assert (await oper.expect("NOTICE", lambda m: m.params[-1].startswith("drop"))).params[-1] == "drop alice: done"
    assert (await alice.expect("901")).params[-1] == "You are now logged out"  # on A at once
    assert (await web.expect("901")).params[-1] == "You are now logged out"  # on B when PostgreSQL says
    late, answer = await _pass_login(b, "late", "alice")
    assert answer == "464"
    await oper.send("ACCOUNTADMIN DROP alice")
    assert (await oper.expect("NOTICE", lambda m: m.params[-1].startswith("drop"))).params[-1] == (
        "drop alice: no such account"
    )
    for c in (alice, web, late):
        await c.close()


async def test_protected_nick_rename_claims_the_guest_nick_cluster_wide(
    cluster, users, pg_socket_dir, tmp_path: Path
) -> None:
    url = await fresh_pg_url(pg_socket_dir)
    a, b = [await cluster(database_url=url, data_dir=tmp_path / f"n{i}", **{**NODE, "nick_enforce_timeout": 0.3})
            for i in range(2)]
    alice = await RawClient.connect(a.port)
    await register_account(alice, "alice", PW)
    await alice.send("QUIT :bye")
    taker = await users(b, "taker")
    for _ in range(TRIES):  # bounded: until A's QUIT freed the nick in Redis
        await taker.send("NICK alice")
        if any(m.command == "NICK" for m in await sync(taker)):
            break
        await asyncio.sleep(0.02)
    renamed = await taker.expect("NICK", lambda m: m.source.startswith("alice!"))
    guest = renamed.params[0]
    assert guest.startswith("Guest")
    other = await users(a, "other")
    await other.send(f"NICK {guest}")  # the guest nick is claimed in Redis, not only on B
    assert (await other.expect("433")).params[1] == guest
    await other.send("NICK alice")  # and alice is free again for its owner
    await other.expect("NICK")


async def test_changes_missed_while_a_node_was_not_listening_are_reloaded(
    cluster, users, pg_socket_dir, tmp_path: Path
) -> None:
    import asyncpg

    url = await fresh_pg_url(pg_socket_dir)
    a, b = [await cluster(database_url=url, data_dir=tmp_path / f"n{i}", **{**NODE, "account_sync_retry": 2.0})
            for i in range(2)]
    sock, port = pg_socket_dir
    con = await asyncpg.connect(host=sock, port=port, user="postgres", database=url.split("/")[3].split("?")[0])
    try:  # PostgreSQL ends every node's listening connection; b misses what a writes meanwhile
        await con.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")
    finally:
        await con.close()
    alice = await RawClient.connect(a.port)
    await register_account(alice, "alice", PW)
    assert b.state.accounts is not None and "alice" not in b.state.accounts.names
    for _ in range(TRIES):  # bounded: b listens again and reloads everything
        if "alice" in b.state.accounts.names:
            break
        await asyncio.sleep(0.02)
    assert "alice" in b.state.accounts.names
    assert b.state.accounts.store.watch.reconnects == 1  # type: ignore[attr-defined]
    await alice.close()
