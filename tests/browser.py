"""Shared harness for gateway and browser tests: a real uvicorn gateway in the test's event loop, and
headless Debian Chromium driven by Playwright.

``playwright install`` cannot download browsers here, so the harness launches ``/usr/bin/chromium``
(installed by ``scripts/system-deps``); tests that need it are skipped when it is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from web_gateway.serve import uvicorn_config
from web_gateway.settings import GatewaySettings

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("TCPCHAT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WEBIRC_PASSWORD = "test-webirc-secret"
"""Shared by the test server (``webirc_password``) and the test gateway."""
GATEWAY_TEST_DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "webirc_password": WEBIRC_PASSWORD,
    "use_uvloop": False,
    "reconnect_initial": 0.2,
    "reconnect_max": 1.0,
    "connect_timeout": 5.0,
    "log_level": "WARNING",
}


class RunningGateway:
    """A uvicorn server running ``create_app(settings)`` on a free loopback port."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        config = uvicorn_config(settings, log_level="warning")
        self.app = config.app
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> RunningGateway:
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(500):
            if self.server.started:
                break
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        else:
            raise RuntimeError("gateway did not start")
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self.task, 10)


async def start_gateway(irc_port: int, **overrides: Any) -> RunningGateway:
    """Start a gateway in this event loop, talking to the chat server on ``irc_port``."""
    settings = GatewaySettings(**{**GATEWAY_TEST_DEFAULTS, "irc_port": irc_port, **overrides})
    return await RunningGateway(settings).start()


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


requires_chromium = pytest.mark.skipif(not chromium_available(), reason="Debian chromium not installed")


@contextlib.asynccontextmanager
async def launch_browser() -> AsyncIterator[Any]:
    """A headless Chromium (Playwright ``Browser``), closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Any, url: str, *, width: int = 1100, height: int = 700, **context: Any) -> Any:
    """A page in a fresh context (own cookies and sessionStorage) that records console errors;
    ``context`` goes to Playwright's ``new_context`` (``bypass_csp``, ``color_scheme``...)."""
    context = await browser.new_context(viewport={"width": width, "height": height}, **context)
    page = await context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    await page.goto(url)
    return page


async def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot under tests/artifacts/ (git-ignored) for a human to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    await page.screenshot(path=str(path), full_page=True)
    return path
