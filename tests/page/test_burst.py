"""A burst of lines into a busy room (issue 17), in real Chromium: the document holds a bounded
window of the room, nothing is lost or shown twice, a room not in view only counts, and scrolling
up brings older lines back into the document without growing it past the bound. Counts, not times
(the times are measured by bench/page_burst.py)."""

from __future__ import annotations

from typing import Any

import pytest

from ..browser import RunningGateway, new_page, requires_chromium, screenshot
from ..support import RawClient, ServerProcess
from .support import WAIT_MS, say, sign_in, texts, wait_in_room, wait_text

pytestmark = [pytest.mark.browser, requires_chromium]

WINDOW, MAX_DOM = 200, 400  # static/messagelist.js
IN_VIEW_BURST = 1500
HIDDEN_BURST = 700
MODEL_COUNTS = """([key, prefix]) => {
  const conv = window.__tcpchat.store.conversations.get(key);
  const seen = new Map();
  for (const m of conv.messages) if (m.text.startsWith(prefix)) seen.set(m.text, (seen.get(m.text) || 0) + 1);
  return {distinct: seen.size, twice: [...seen.values()].filter(v => v > 1).length};
}"""

STILL_AT_TOP = """text => {
  const l = document.getElementById('messages');
  const item = [...l.querySelectorAll('.message')].find(n => n.querySelector('.text').textContent === text);
  return item ? item.querySelector('.line').offsetTop - l.scrollTop : null;
}"""


def line(tag: str, i: int) -> str:
    return f"{tag} {i:05d}"


async def message_nodes(page: Any) -> int:
    return await page.evaluate("() => document.querySelectorAll('#messages > li').length")  # type: ignore[no-any-return]


async def test_bursts_keep_the_document_bounded_and_lose_or_double_nothing(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    bot = await RawClient.connect(server_proc.port)
    await bot.register("bot")
    await bot.join("#busy")
    await bot.join("#quiet")
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "reader", "#quiet")
    await wait_in_room(page, "#quiet")
    await say(page, "/join #busy")
    await wait_in_room(page, "#busy")

    await bot.send(*(f"PRIVMSG #busy :{line('busy', i)}" for i in range(IN_VIEW_BURST)))
    await bot.send(*(f"PRIVMSG #quiet :{line('quiet', i)}" for i in range(HIDDEN_BURST)))
    await wait_text(page, line("busy", IN_VIEW_BURST - 1))
    await page.wait_for_function(
        "n => Number(document.querySelector(\"[data-key='room:#quiet'] .unread\").textContent) === n",
        arg=HIDDEN_BURST, timeout=WAIT_MS)

    shown = [t for t in await texts(page) if t.startswith("busy ")]
    assert shown == [line("busy", i) for i in range(IN_VIEW_BURST - WINDOW, IN_VIEW_BURST)]
    assert await message_nodes(page) == WINDOW  # the last WINDOW lines, whatever the room's length
    for key, prefix, n in (("room:#busy", "busy ", IN_VIEW_BURST), ("room:#quiet", "quiet ", HIDDEN_BURST)):
        counts = await page.evaluate(MODEL_COUNTS, [key, prefix])
        assert counts == {"distinct": n, "twice": 0}, key
    # The room not in view was not drawn: none of its lines are in the document.
    assert not any(t.startswith("quiet ") for t in await texts(page))

    # Scrolling up re-adds older lines from memory; the document never exceeds its bound.
    for _ in range(IN_VIEW_BURST // 50):  # a hundred lines come back per step
        top, before = await page.evaluate(
            "() => { const l = document.getElementById('messages'); l.scrollTop = 0;"
            " const first = l.querySelector('.message'); return [first.querySelector('.text').textContent,"
            " first.querySelector('.line').offsetTop - l.scrollTop]; }")
        # wait for the frame that adds the older lines above (the first line changes), then one more
        await page.wait_for_function(
            "t => document.querySelector('#messages .message .text').textContent !== t", arg=top,
            timeout=WAIT_MS)
        await page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        assert await message_nodes(page) <= MAX_DOM
        # The line that was at the top of the view is still there: lines came in above it.
        offset = await page.evaluate(STILL_AT_TOP, top)
        assert offset is not None and abs(offset - before) <= 2
        if (await texts(page))[0] == line("busy", 0):
            break
    shown = [t for t in await texts(page) if t.startswith("busy ")]
    assert shown[0] == line("busy", 0) and len(shown) == len(set(shown))
    assert shown == [line("busy", i) for i in range(len(shown))]  # in order, no gaps
    await page.click("#jump-button")
    await wait_text(page, line("busy", IN_VIEW_BURST - 1))
    await page.wait_for_function(f"() => document.querySelectorAll('#messages > li').length === {WINDOW}",
                                 timeout=WAIT_MS)

    # Opening the other room draws its latest lines; the badge is gone.
    await page.click("[data-key='room:#quiet']")
    await wait_text(page, line("quiet", HIDDEN_BURST - 1))
    assert await message_nodes(page) == WINDOW
    assert await page.eval_on_selector("[data-key='room:#quiet'] .unread", "b => b.hidden")
    await screenshot(page, "chat-burst.png")
    assert page.console_errors == []
    await bot.close()


async def test_scrolling_up_past_the_oldest_line_fetches_older_ones_from_the_server(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    old = await RawClient.connect(server_proc.port)
    await old.register("old", caps="echo-message")
    await old.join("#archive")
    await old.send(*(f"PRIVMSG #archive :{line('old', i)}" for i in range(180)))
    await old.expect("PRIVMSG", lambda m: m.params[1] == line("old", 179))  # echoed = stored
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "digger", "#archive")
    await wait_in_room(page, "#archive")
    await wait_text(page, line("old", 179))
    assert (await texts(page))[0] == line("old", 130)  # the join brought the last 50
    for _ in range(20):  # each trip to the top asks the server for the page before
        top, before = await page.evaluate(
            "() => { const l = document.getElementById('messages'); l.scrollTop = 0;"
            " const first = l.querySelector('.message'); return [first.querySelector('.text').textContent,"
            " first.querySelector('.line').offsetTop - l.scrollTop]; }")
        await page.wait_for_timeout(300)
        shown = await texts(page)
        if shown[0] == line("old", 0):
            break
        if shown[0] != top:  # lines came in above the one at the top, which stayed where it was
            assert abs(await page.evaluate(STILL_AT_TOP, top) - before) <= 2
    shown = [t for t in await texts(page) if t.startswith("old ")]
    assert shown == [line("old", i) for i in range(180)]  # all of it, in order, once
    await page.wait_for_selector("#older-button", state="hidden", timeout=WAIT_MS)
    await old.close()
