"""Fixtures of the chat-page tests: a server child process, a gateway in the test's loop (this
``gateway`` overrides the in-process one of ``tests/conftest.py``), and a headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ..browser import WEBIRC_PASSWORD, RunningGateway, launch_browser, start_gateway
from ..support import ServerProcess
from .support import OPER_PASSWORD


@pytest.fixture
async def server_proc(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(
        "--data-dir", str(tmp_path / "data"),
        env={"TCPCHAT_WEBIRC_PASSWORD": WEBIRC_PASSWORD, "TCPCHAT_FLOOD_RATE": "0",
             "TCPCHAT_OPER_PASSWORD": OPER_PASSWORD,
             "TCPCHAT_USE_UVLOOP": "false", "TCPCHAT_LOG_LEVEL": "WARNING"},
    ).start()
    yield proc
    proc.stop()


@pytest.fixture
async def gateway(server_proc: ServerProcess) -> AsyncIterator[RunningGateway]:
    gw = await start_gateway(server_proc.port)
    yield gw
    await gw.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with launch_browser() as b:
        yield b
