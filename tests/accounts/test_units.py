"""The account store and the password/SCRAM pieces, in memory and on a real SQLite file."""

from __future__ import annotations

import asyncio
import base64
import sqlite3

import pytest

from tcp_server.accounts import (
    Account,
    AccountStore,
    ChannelRecord,
    hash_password,
    scram_keys,
    verify_password,
)
from tcp_server.accounts.passwords import SCRAM, ScramKeys
from tcp_server.accounts.sqlite import SQLiteAccountStore

from ..postgres import fresh_pg_url

# RFC 7677 section 3: user "user", password "pencil"
CLIENT_FIRST = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
SERVER_FIRST = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
CLIENT_FINAL = (
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_password_hash_is_salted_and_verifies():
    a, b = hash_password("pencil", 1024), hash_password("pencil", 1024)
    assert a != b and "pencil" not in a
    assert verify_password("pencil", a) and not verify_password("pencil!", a)
    assert not verify_password("pencil", "garbage")


def test_scram_keys_hide_the_password():
    keys = scram_keys("pencil", 4096)
    assert keys.iterations == 4096 and len(keys.salt) >= 16
    assert b"pencil" not in keys.stored_key + keys.server_key


def _account(name: str, password: str, keys: ScramKeys) -> Account:
    return Account(name, name.lower(), hash_password(password, 1024), keys, 1)


async def test_rfc7677_vector_with_keys_read_back_from_the_store(tmp_path):
    store = SQLiteAccountStore(tmp_path / "history.db")
    loaded = await store.start()
    assert loaded.names == set() and loaded.channels == {}
    salt, stored, server_key, iterations = SCRAM.make_auth_info("pencil", iteration_count=4096, salt=SALT)
    assert await asyncio.to_thread(store.create, _account("user", "pencil", ScramKeys(salt, stored, server_key, 4096)))
    keys = (await asyncio.to_thread(store.get, "user")).scram
    server = SCRAM.make_server(lambda _user: keys.auth_info(), s_nonce=SERVER_NONCE)
    server.set_client_first(CLIENT_FIRST)
    assert server.get_server_first() == SERVER_FIRST
    server.set_client_final(CLIENT_FINAL)
    assert server.get_server_final() == SERVER_FINAL
    await store.close()
    raw = sqlite3.connect(tmp_path / "history.db")
    row = raw.execute("SELECT * FROM accounts").fetchone()
    assert not any("pencil" in str(v) for v in row)  # neither the hash nor the SCRAM keys keep it


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def opener(request, tmp_path):
    """Opens account stores on one database (SQLite file, or a fresh PostgreSQL database)."""
    if request.param == "sqlite":
        where = tmp_path / "history.db"

        def make() -> AccountStore:
            return SQLiteAccountStore(where)
    else:
        from tcp_server.accounts.postgres import PostgresAccountStore

        url = await fresh_pg_url(request.getfixturevalue("pg_socket_dir"))

        def make() -> AccountStore:
            return PostgresAccountStore(url)

    return make


async def test_store_reopens_with_names_channels_markers_and_certificates(opener):
    store = opener()
    await store.start()
    keys = scram_keys("pw", 4096)

    def first_session() -> None:  # the store blocks: the server calls it from worker threads
        assert store.create(_account("Alice", "pw", keys), certfp="ab" * 32)
        assert not store.create(_account("ALICE", "pw", keys))
        assert store.by_certfp("ab" * 32).name == "Alice"
        assert not store.add_certfp("bob", "ab" * 32)  # someone else's certificate
        store.save_channel(ChannelRecord("#Room", "#room", "alice", topic="hi", modes="nst", key="k", ops=["alice"]))
        assert store.set_marker("alice", "#room", 5) == 5 and store.set_marker("alice", "#room", 3) == 5

    await asyncio.to_thread(first_session)
    await store.close()
    again = opener()
    loaded = await again.start()
    assert loaded.names == {"alice"}
    record = loaded.channels["#room"]
    assert (record.topic, record.modes, record.key, record.ops) == ("hi", "nst", "k", ["alice"])

    def second_session() -> None:
        assert again.get_marker("alice", "#room") == 5
        assert again.set_flags("alice", disabled=True) and again.get("alice").disabled
        assert [a.name for a in again.list_accounts()] == ["Alice"]
        fresh = scram_keys("new", 4096)
        assert again.set_password("alice", "scrypt$new", fresh) and not again.set_password("bob", "x", fresh)
        changed = again.get("alice")
        assert (changed.password, changed.scram) == ("scrypt$new", fresh)

    await asyncio.to_thread(second_session)
    await again.close()


async def test_sqlite_account_schema_is_versioned_apart_from_history(tmp_path):
    path = tmp_path / "history.db"
    for _ in range(2):
        store = SQLiteAccountStore(path)
        await store.start()
        await store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM tcpchat_accounts_schema").fetchall() == [(1,)]
    assert db.execute("PRAGMA user_version").fetchone() == (0,)  # history's counter is left alone
