"""Fixtures of the history tests: ``backend`` runs a test once per store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ..postgres import fresh_pg_url
from .support import Backend


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Stores of one kind: SQLite in ``tmp_path``, or a fresh database in the module's PostgreSQL."""
    if request.param == "sqlite":
        b = Backend("sqlite", str(tmp_path / "sub" / "history.db"))
    else:
        pg = request.getfixturevalue("pg_socket_dir")
        b = Backend("postgres", await fresh_pg_url(pg))
    yield b
    for store in b.opened:
        await store.close()
