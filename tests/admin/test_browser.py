"""The admin page in a real headless Chromium: log in, watch a raw TCP client appear with its
address, kill it, see the row go and the client's socket closed with the reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tcp_server.server import ChatServer

from ..admin_harness import ADMIN_PASSWORD, start_stack, stop_stack
from ..browser import launch_browser, new_page, requires_chromium, screenshot
from ..support import RawClient

pytestmark = [pytest.mark.browser, requires_chromium]
WAIT_MS = 10_000


async def test_login_watch_and_kill_in_the_browser(make_server: Callable[..., Awaitable[ChatServer]]) -> None:
    stack = await start_stack(make_server, admin_poll_interval=0.3)
    try:
        async with launch_browser() as browser:
            page = await new_page(browser, stack.url + "/admin")
            assert page.url.endswith("/admin/login")
            await page.fill("#password", "wrong")
            await page.click("#login-button")
            assert "Wrong user or password" in await page.text_content("#login-error")
            await page.fill("#password", ADMIN_PASSWORD)
            await page.click("#login-button")
            await page.wait_for_selector("#connections", timeout=WAIT_MS)
            await screenshot(page, "admin.png")

            # a client that connects after the page loaded shows up by itself (polling)
            victim = await (await RawClient.connect(stack.chat.port)).register("victim")
            await victim.join("#lobby")
            port = victim.writer.get_extra_info("sockname")[1]
            row = page.locator('#connections tr[data-nick="victim"]')
            await row.wait_for(timeout=WAIT_MS)
            assert f"127.0.0.1:{port}" in await row.locator("td.address").text_content()
            assert "#lobby" in await row.text_content()
            room = page.locator('#rooms tr[data-room="#lobby"]')
            await room.wait_for(timeout=WAIT_MS)
            # the rooms view: members, modes, message count and (after two samples) a rate
            await victim.send("TOPIC #lobby :release day", *[f"PRIVMSG #lobby :m{i}" for i in range(3)])
            cells = room.locator("td")
            for _ in range(100):
                texts = await cells.all_text_contents()
                if texts[4] == "3" and texts[5] != "…":
                    break
                await page.wait_for_timeout(100)
            assert texts[:5] == ["#lobby", "1", "release day", "+nt", "3"]
            assert float(texts[5]) == 3.0  # a room younger than a minute: all its messages (not 0)
            await screenshot(page, "admin-list.png")

            # ...and one that leaves by itself goes away by itself
            leaver = await (await RawClient.connect(stack.chat.port)).register("leaver")
            leaving = page.locator('#connections tr[data-nick="leaver"]')
            await leaving.wait_for(timeout=WAIT_MS)
            await leaver.send("QUIT :done")
            await leaver.read_until_closed()
            await leaving.wait_for(state="detached", timeout=WAIT_MS)

            # the filter narrows the list as the operator types
            await page.fill("#filter", "vict")
            assert await page.locator("#connections tbody tr:visible").count() == 1
            await page.fill("#filter", "")
            assert await page.locator("#connections tbody tr:visible").count() == 2

            # the kill reason is readable in full, and Kill asks before it kills
            assert await page.evaluate(
                "() => { const i = document.getElementById('kill-reason'); return i.scrollWidth <= i.clientWidth; }")
            await page.fill("#kill-reason", "bye from the admin page")
            await row.locator("button", has_text="Kill").click()
            await row.locator("button", has_text="Kill victim?").wait_for(timeout=WAIT_MS)
            await page.wait_for_timeout(700)  # a refresh redraws the table: the question stays
            await row.locator("button", has_text="Cancel").click()
            await row.locator("button", has_text="Kill victim?").wait_for(state="detached", timeout=WAIT_MS)
            await row.locator("button", has_text="Kill").click()
            await row.locator("button", has_text="Kill victim?").click()
            await row.wait_for(state="detached", timeout=WAIT_MS)
            lines = await victim.read_until_closed()
            errors = [m for m in lines if m.command == "ERROR"]
            assert errors and "bye from the admin page" in errors[0].params[0]

            # it stays gone after the next refreshes
            await page.wait_for_timeout(800)
            assert await page.locator('#connections tr[data-nick="victim"]').count() == 0
            assert await page.locator("#problem").is_hidden()
            # no script errors (failed resource loads are the 401 login and the absent favicon)
            errors = [e for e in page.console_errors if not e.startswith("Failed to load resource")]  # type: ignore[attr-defined]
            assert errors == []
    finally:
        await stop_stack(stack)


async def test_logged_out_browser_goes_back_to_login(make_server: Callable[..., Awaitable[ChatServer]]) -> None:
    stack = await start_stack(make_server, admin_poll_interval=0.3)
    try:
        async with launch_browser() as browser:
            page = await new_page(browser, stack.url + "/admin/login")
            await page.fill("#password", ADMIN_PASSWORD)
            await page.click("#login-button")
            await page.wait_for_selector("#connections", timeout=WAIT_MS)
            await page.click("#logout")
            await page.wait_for_url("**/admin/login", timeout=WAIT_MS)
            await page.goto(stack.url + "/admin")
            assert page.url.endswith("/admin/login")
    finally:
        await stop_stack(stack)
