"""The SQLite history store's own behaviour: its file (WAL, mode, schema version, all-or-nothing
migration) and its writer process (replaced when it dies, deaf to Ctrl-C, a death mid-batch fails
that batch only, an unclosed store does not keep the process alive).

The interface suite that runs against SQLite and PostgreSQL alike is ``test_store.py``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tcp_server.history.base import HistoryError
from tcp_server.history.sqlite import MIGRATIONS, SQLiteStore

from .support import append_all, msg, texts


async def test_sqlite_file_is_wal_private_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "history.db"
    store = SQLiteStore(path)
    await store.start()
    await store.close()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        db.execute("PRAGMA user_version = 99")
    newer = SQLiteStore(path)
    with pytest.raises(HistoryError, match="newer"):
        await newer.start()
    await newer.close()


async def test_sqlite_migration_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tcp_server.history import sqlite as sqlite_store

    path = tmp_path / "history.db"
    broken = [(*sqlite_store.MIGRATIONS[0], "CREATE TABLE oops (")]  # fails after the real DDL
    monkeypatch.setattr(sqlite_store, "MIGRATIONS", broken)
    with pytest.raises(HistoryError):
        await SQLiteStore(path).start()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        assert db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == []
    monkeypatch.undo()
    store = SQLiteStore(path)  # a later start migrates cleanly
    await store.start()
    await store.close()


def test_a_process_that_dies_without_closing_the_store_still_exits(tmp_path: Path) -> None:
    code = (
        "import asyncio, pathlib, sys\n"
        "from tcp_server.history.sqlite import SQLiteStore\n"
        "async def main():\n"
        f"    sys.modules['__main__'].store = SQLiteStore(pathlib.Path({str(tmp_path / 'h.db')!r}))\n"
        "    await sys.modules['__main__'].store.start()\n"
        "    raise SystemExit(3)  # an unexpected exit, store still open and referenced\n"
        "asyncio.run(main())\n"
    )
    from ..support import ROOT

    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=30)
    assert proc.returncode == 3, proc.stderr


async def test_a_dead_sqlite_writer_process_is_replaced(tmp_path: Path) -> None:
    import signal

    store = SQLiteStore(tmp_path / "h.db")
    await store.start()
    try:
        assert await append_all(store, [msg(0)]) == [None]
        child = store._process._proc  # type: ignore[attr-defined]
        os.kill(child.pid, signal.SIGKILL)
        await child.wait()
        assert await append_all(store, [msg(1)]) == [None]  # a new writer took over
        assert store._process._proc.pid != child.pid  # type: ignore[attr-defined]
        assert texts(await store.select("#room", (), 10, False)) == ["message 0", "message 1"]
    finally:
        await store.close()


async def test_sqlite_writer_process_ignores_ctrl_c_and_exits_when_the_server_closes(tmp_path: Path) -> None:
    import signal

    store = SQLiteStore(tmp_path / "h.db")
    await store.start()
    assert await append_all(store, [msg(0)]) == [None]  # the writer is up and serving
    child = store._process._proc  # type: ignore[attr-defined]
    os.kill(child.pid, signal.SIGINT)  # a Ctrl-C reaches the whole process group
    os.kill(child.pid, signal.SIGTERM)
    assert await append_all(store, [msg(1)]) == [None]
    await store.close()
    assert child.returncode == 0


async def test_a_writer_process_dying_mid_batch_fails_that_batch_only(tmp_path: Path) -> None:
    import signal

    store = SQLiteStore(tmp_path / "h.db")
    await store.start()
    try:
        assert await append_all(store, [msg(0)]) == [None]
        child = store._process._proc  # type: ignore[attr-defined]
        os.kill(child.pid, signal.SIGSTOP)  # the batch below reaches a writer that never answers
        loop = asyncio.get_running_loop()
        pending = loop.create_future()
        store.append(msg(1), pending.set_result)
        await asyncio.sleep(0.1)
        assert not pending.done()  # no acknowledgement without a commit
        os.kill(child.pid, signal.SIGKILL)
        error = await asyncio.wait_for(pending, 10)
        assert isinstance(error, HistoryError) and "died" in str(error)
        assert await append_all(store, [msg(2)]) == [None]
        assert texts(await store.select("#room", (), 10, False)) == ["message 0", "message 2"]
    finally:
        await store.close()
