"""Fixtures and helpers of the chat-page browser tests: a server child process, a gateway in the
test's loop, a Chromium, and the steps a user takes (sign in, say something, wait for a line)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from .browser import WEBIRC_PASSWORD, RunningGateway, launch_browser, start_gateway
from .support import ServerProcess

WAIT_MS = 15_000
OPER_PASSWORD = "test-oper-secret"


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


async def sign_in(page: Any, nick: str, room: str = "#lobby") -> None:
    await page.fill("#nick-input", nick)
    await page.fill("#login-room", room)
    await page.press("#nick-input", "Enter")


async def wait_in_room(page: Any, room: str) -> None:
    await page.wait_for_function(
        "room => document.getElementById('room-title').textContent === room", arg=room, timeout=WAIT_MS
    )


async def say(page: Any, text: str) -> None:
    await page.fill("#message-input", text)
    await page.press("#message-input", "Enter")


async def wait_text(page: Any, text: str, selector: str = "#messages .message .text") -> None:
    await page.wait_for_function(
        """([sel, text]) => [...document.querySelectorAll(sel)].some(n => n.textContent.includes(text))""",
        arg=[selector, text],
        timeout=WAIT_MS,
    )


async def texts(page: Any, selector: str = "#messages .message .text") -> list[str]:
    return await page.eval_on_selector_all(selector, "ns => ns.map(n => n.textContent)")  # type: ignore[no-any-return]
