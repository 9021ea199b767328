"""Unread handling in real Chromium: the "New messages" rule where reading stopped, desktop
notifications for mentions and private messages (asked for on a click), and per-room mute."""

from __future__ import annotations

from typing import Any

import pytest

from ..browser import RunningGateway, new_page, requires_chromium
from ..support import RawClient, ServerProcess
from .support import WAIT_MS, say, sign_in, wait_in_room, wait_text

pytestmark = [pytest.mark.browser, requires_chromium]

RECORD_NOTIFICATIONS = """
// The browser's Notification API, recorded instead of shown (headless Chromium has no desktop).
window.__shown = [];
window.__asked = 0;
class RecordedNotification {
  static permission = "default";
  static async requestPermission() { window.__asked += 1; RecordedNotification.permission = "granted"; return "granted"; }
  constructor(title, options) { window.__shown.push({title, body: options.body, tag: options.tag}); }
  close() {}
}
window.Notification = RecordedNotification;
"""


async def test_new_messages_rule_notifications_and_mute(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    amy = await RawClient.connect(server_proc.port)
    await amy.register("amy")
    await amy.join("#lobby")
    await amy.join("#side")
    context = await browser.new_context(viewport={"width": 1100, "height": 700})
    await context.add_init_script(RECORD_NOTIFICATIONS)
    page = await context.new_page()
    await page.goto(gateway.http_url)
    await sign_in(page, "nia")
    await wait_in_room(page, "#lobby")
    await say(page, "/join #side")
    await wait_in_room(page, "#side")
    await amy.send("PRIVMSG #side :read before")
    await wait_text(page, "read before")
    await page.click("[data-key='room:#lobby']")
    await wait_in_room(page, "#lobby")

    # Nothing is asked on load; the button asks, once clicked.
    assert await page.evaluate("() => window.__asked") == 0
    await page.click("#notify-button")
    await page.wait_for_selector("#notify-button", state="hidden", timeout=WAIT_MS)
    assert await page.evaluate("() => window.__asked") == 1

    await amy.send("PRIVMSG #side :first unseen", "PRIVMSG #side :nia, are you there?", "PRIVMSG nia :psst")
    await page.wait_for_function("() => window.__shown.length === 2", timeout=WAIT_MS)
    shown = await page.evaluate("() => window.__shown")
    assert [(n["title"], n["body"]) for n in shown] == [
        ("amy in #side", "nia, are you there?"), ("amy (private)", "psst")]  # mentions and PMs only

    # Opening the room puts the rule above the first line not seen.
    await page.click("[data-key='room:#side']")
    await wait_text(page, "first unseen")
    ruled = await page.eval_on_selector(".new-rule", "r => r.closest('.message').querySelector('.text').textContent")
    assert ruled == "first unseen"
    await say(page, "yes")  # writing in the room means it has been read
    await page.wait_for_selector(".new-rule", state="detached", timeout=WAIT_MS)

    # A muted room counts nothing and notifies nobody; the mute is remembered.
    await page.click("#mute-button")
    await page.wait_for_selector("#mute-button[aria-pressed='true']", timeout=WAIT_MS)  # drawn next frame
    await page.click("[data-key='room:#lobby']")
    await amy.send("PRIVMSG #side :nia: muted mention", "PRIVMSG #lobby :a lobby line")
    await wait_text(page, "a lobby line")
    await page.wait_for_timeout(300)
    assert await page.evaluate("() => window.__shown.length") == 2
    assert await page.is_hidden("[data-key='room:#side'] .unread")
    assert "muted" in (await page.get_attribute("[data-key='room:#side']", "class") or "")
    assert await page.evaluate("() => JSON.parse(localStorage.getItem('tcpchat.muted'))") == ["room:#side"]
    await amy.close()
    await context.close()


async def test_alt_a_opens_the_mention_and_the_tab_icon_shows_it(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    bea = await RawClient.connect(server_proc.port)
    await bea.register("bea")
    await bea.join("#far")
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "odo")
    await wait_in_room(page, "#lobby")
    await say(page, "/join #far")
    await wait_in_room(page, "#far")
    await page.click("[data-key='room:#lobby']")
    quiet_icon = await page.get_attribute("#favicon", "href")
    await bea.send("PRIVMSG #far :odo: over here")
    await page.wait_for_function("icon => document.getElementById('favicon').href !== icon", arg=quiet_icon,
                                 timeout=WAIT_MS)
    assert "circle" in await page.get_attribute("#favicon", "href")  # the red dot
    await page.keyboard.press("Alt+a")
    await wait_in_room(page, "#far")
    await wait_text(page, "odo: over here")
    await page.wait_for_function("icon => document.getElementById('favicon').href === icon", arg=quiet_icon,
                                 timeout=WAIT_MS)
    await bea.close()
