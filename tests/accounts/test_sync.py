"""The store side of account sync: drop, one channel, a full reload, and PostgreSQL NOTIFY
between two stores on one database (what cluster nodes share)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tcp_server.accounts import Account, AccountStore, ChannelRecord, hash_password, scram_keys
from tcp_server.accounts.base import ACCOUNT_CHANGED, ALL_CHANGED, CHANNEL_CHANGED
from tcp_server.accounts.sqlite import SQLiteAccountStore

from ..postgres import fresh_pg_url

TRIES = 300


def _account(name: str) -> Account:
    return Account(name, name.lower(), hash_password("pw", 1024), scram_keys("pw", 4096), int(time.time() * 1e6))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request, tmp_path):
    """An open store on a fresh database (SQLite file or PostgreSQL database)."""
    if request.param == "sqlite":
        opened: AccountStore = SQLiteAccountStore(tmp_path / "history.db")
    else:
        from tcp_server.accounts.postgres import PostgresAccountStore

        opened = PostgresAccountStore(await fresh_pg_url(request.getfixturevalue("pg_socket_dir")))
    await opened.start()
    yield opened
    await opened.close()


async def test_drop_account_removes_it_with_certificates_and_markers(store):
    def work() -> None:
        assert store.create(_account("Bob"), certfp="cd" * 32)
        store.set_marker("bob", "#x", 5)
        store.save_channel(ChannelRecord("#X", "#x", "bob", topic="t"))
        assert store.drop_account("bob")
        assert not store.drop_account("bob")
        assert store.get("bob") is None and store.by_certfp("cd" * 32) is None and store.markers("bob") == {}
        assert store.get_channel("#x").topic == "t"  # a channel outlives its founder's account
        assert store.get_channel("#nope") is None
        loaded = store.load()
        assert loaded.names == set() and set(loaded.channels) == {"#x"}
        assert store.create(_account("Bob"))  # the name is free again

    await asyncio.to_thread(work)


async def _heard(log: list[tuple[str, str]], count: int) -> list[tuple[str, str]]:
    for _ in range(TRIES):
        if len(log) >= count:
            break
        await asyncio.sleep(0.01)
    return log


@pytest.mark.postgres
async def test_postgres_stores_on_one_database_hear_each_others_changes(pg_socket_dir):
    from tcp_server.accounts.postgres import PostgresAccountStore

    url = await fresh_pg_url(pg_socket_dir)
    one, two = PostgresAccountStore(url, sync_retry=0.05), PostgresAccountStore(url, sync_retry=0.05)
    await one.start()
    await two.start()
    heard_one: list[tuple[str, str]] = []
    heard_two: list[tuple[str, str]] = []
    one.on_change = lambda kind, folded: heard_one.append((kind, folded))
    two.on_change = lambda kind, folded: heard_two.append((kind, folded))
    try:
        def writes() -> None:
            assert one.create(_account("Carol"))
            one.save_channel(ChannelRecord("#c", "#c", "carol"))
            assert one.set_flags("carol", disabled=True)
            one.drop_channel("#c")
            assert one.drop_account("carol")

        await asyncio.to_thread(writes)
        assert await _heard(heard_two, 5) == [
            (ACCOUNT_CHANGED, "carol"), (CHANNEL_CHANGED, "#c"), (ACCOUNT_CHANGED, "carol"),
            (CHANNEL_CHANGED, "#c"), (ACCOUNT_CHANGED, "carol"),
        ]
        assert heard_one == []  # a store does not hear its own writes
        import asyncpg

        sock, port = pg_socket_dir  # the database ends two's listening connection: it listens again
        con = await asyncpg.connect(host=sock, port=port, user="postgres", database=url.split("/")[3].split("?")[0])
        try:
            killed = await con.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
            )
        finally:
            await con.close()
        assert killed == 2
        assert (await _heard(heard_two, 6))[5] == (ALL_CHANGED, "")  # changes may have been missed
        await asyncio.to_thread(lambda: one.create(_account("Dave")))
        assert (await _heard(heard_two, 7))[6] == (ACCOUNT_CHANGED, "dave")
    finally:
        await one.close()
        await two.close()
