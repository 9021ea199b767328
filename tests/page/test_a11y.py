"""An automated accessibility audit (axe-core, vendored in tests/vendor/axe-core) of the login, chat
and admin pages in real Chromium, in both themes: no serious or critical violations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tcp_server.server import ChatServer

from ..admin_harness import ADMIN_PASSWORD, start_stack, stop_stack
from ..browser import RunningGateway, launch_browser, new_page, requires_chromium, screenshot
from ..support import ROOT, RawClient, ServerProcess
from .support import say, sign_in, wait_in_room, wait_text

pytestmark = [pytest.mark.browser, requires_chromium]

AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
"""What the issue asks for; the chat page also has no moderate or minor findings today."""


async def audit(page: Any) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))  # the context bypasses the page's CSP for this
    found = await page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v =>
             ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ': ' + n.failureSummary.split('\\n').pop())}))"""
    )
    blocking = [v for v in found if v["impact"] in BLOCKING]
    for v in blocking:
        print(v)
    return blocking


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_login_and_chat_pages_pass_an_axe_audit(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess, scheme: str
) -> None:
    page = await new_page(browser, gateway.http_url, bypass_csp=True, color_scheme=scheme)
    assert await audit(page) == []  # the login form
    amy = await RawClient.connect(server_proc.port)
    await amy.register("amy")
    await amy.join("#lobby")
    await sign_in(page, "al")
    await wait_in_room(page, "#lobby")
    await amy.send("PRIVMSG #lobby :hi al, see https://example.org/x", "PRIVMSG al :psst",
                   "PRIVMSG #lobby :\x02bold\x02 and \x0304red\x03")
    await say(page, "/me waves")
    await wait_text(page, "red")
    await page.wait_for_selector("#dms button", timeout=10_000)
    assert await audit(page) == []
    await screenshot(page, f"chat-{scheme}.png")  # README's docs/screenshots/chat-light.png, chat-dark.png
    await amy.close()


async def test_admin_page_passes_an_axe_audit(make_server: Callable[..., Awaitable[ChatServer]]) -> None:
    stack = await start_stack(make_server, admin_poll_interval=0.5)
    try:
        async with launch_browser() as b:
            page = await new_page(b, stack.url + "/admin", bypass_csp=True)
            assert await audit(page) == []  # the login page
            await page.fill("#password", ADMIN_PASSWORD)
            await page.click("#login-button")
            await page.wait_for_selector("#connections tbody tr", timeout=10_000)
            assert await audit(page) == []
    finally:
        await stop_stack(stack)
