"""Helpers of the chat-page browser tests: the steps a user takes (sign in, say something, wait for
a line). The fixtures (server child process, gateway, Chromium) are in ``tests/page/conftest.py``."""

from __future__ import annotations

from typing import Any

WAIT_MS = 15_000
OPER_PASSWORD = "test-oper-secret"


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
