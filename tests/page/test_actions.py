"""Message actions and IRCv3 extensions on the chat page (issue 14), in real Chromium against a
real server (with history) and gateway: Shift+Enter text as one draft/multiline message, reply,
reactions, typing, delete (REDACT), a link to a message, and search in a room's history."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ..browser import RunningGateway, new_page, requires_chromium, screenshot, start_gateway
from ..support import RawClient, ServerProcess
from .support import OPER_PASSWORD, WAIT_MS, say, sign_in, texts, wait_in_room, wait_text
from .test_a11y import audit

pytestmark = [pytest.mark.browser, requires_chromium]
CAPS = "message-tags server-time echo-message batch draft/multiline draft/message-redaction"


@pytest.fixture
async def gateway(server_proc: ServerProcess) -> AsyncIterator[RunningGateway]:
    """A gateway whose operator link is an operator (the search API reads history through it)."""
    gw = await start_gateway(server_proc.port, oper_password=OPER_PASSWORD)
    yield gw
    await gw.stop()


def line_with(text: str) -> str:
    """The chat line whose text contains ``text`` (Playwright's :text(), case-insensitive)."""
    return f"#messages li.message:has(.line .text:text({json.dumps(text)}))"


async def hover_action(page: Any, text: str, label: str) -> None:
    await page.hover(f"{line_with(text)} .line")
    await page.click(f"#msg-actions button:text-is({label!r})")


async def test_multiline_reply_react_typing_delete_and_link(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    carol = await (await RawClient.connect(server_proc.port)).register("carol", caps=CAPS)
    await carol.join("#lobby")
    alice = await new_page(browser, gateway.http_url)
    await sign_in(alice, "alice")
    await wait_in_room(alice, "#lobby")
    bob = await new_page(browser, gateway.http_url, permissions=["clipboard-read", "clipboard-write"],
                         bypass_csp=True, color_scheme="dark")
    await sign_in(bob, "bob")
    await wait_in_room(bob, "#lobby")

    # Shift+Enter: one message for the page and a native client (a draft/multiline batch)
    box = alice.locator("#message-input")
    await box.type("first row")
    await box.press("Shift+Enter")
    await box.type("second row")
    await box.press("Enter")
    start = await carol.expect("BATCH", lambda m: m.param(1) == "draft/multiline")
    rows = [(await carol.expect("PRIVMSG")).params[1] for _ in range(2)]
    assert rows == ["first row", "second row"]
    await wait_text(bob, "first row\nsecond row")
    assert (await texts(bob)).count("first row\nsecond row") == 1

    # reply: the original quoted above the answer, for both pages and as +draft/reply on IRC
    await hover_action(bob, "second row", "Reply")
    assert "alice" in await bob.text_content("#reply-bar")
    await say(bob, "agreed")
    answer = await carol.expect("PRIVMSG", lambda m: m.params[1] == "agreed")
    assert answer.tags["+draft/reply"] == start.tags["msgid"]
    quote = f"{line_with('agreed')} .quote"
    await alice.wait_for_selector(quote, timeout=WAIT_MS)
    assert "alice" in await alice.text_content(quote) and "first row" in await alice.text_content(quote)
    assert await bob.is_hidden("#reply-bar")
    await alice.click(quote)  # jumps to (and flashes) the original
    await alice.wait_for_selector(f"{line_with('second row')}.flash", timeout=WAIT_MS)

    # keyboard: Up in the focused list goes to the latest line, whose actions then show
    await alice.focus("#messages")
    await alice.keyboard.press("ArrowUp")
    await alice.wait_for_selector(f"{line_with('agreed')}:focus", timeout=WAIT_MS)
    await alice.wait_for_selector("#msg-actions button:text-is('Reply')", state="visible", timeout=WAIT_MS)
    for _ in range(3):  # past the line's own quote: the toolbar comes next (it follows the list)
        await alice.keyboard.press("Tab")
        if await alice.evaluate("document.activeElement.closest('#msg-actions') !== null"):
            break
    assert await alice.evaluate("document.activeElement.textContent") == "Reply"
    await alice.keyboard.press("Escape")  # back to the line
    await alice.wait_for_selector(f"{line_with('agreed')}:focus", timeout=WAIT_MS)
    await alice.keyboard.press("ArrowUp")
    await alice.wait_for_selector(f"{line_with('second row')}:focus", timeout=WAIT_MS)
    await alice.wait_for_selector("#msg-actions", state="visible", timeout=WAIT_MS)

    # reactions: counted under the message on every page; a click adds yours
    await hover_action(alice, "agreed", "React")
    await alice.click("#react-picker [aria-label='React with 👍']")
    for page, text in ((alice, "👍 1"), (bob, "👍 1")):
        await page.wait_for_selector(f"{line_with('agreed')} .reaction:text-is('{text}')", timeout=WAIT_MS)
    await bob.click(f"{line_with('agreed')} .reaction")
    await alice.wait_for_selector(f"{line_with('agreed')} .reaction:text-is('👍 2')", timeout=WAIT_MS)
    tagmsg = await carol.expect("TAGMSG")
    assert tagmsg.tags["+draft/react"] == "👍"

    # typing: shown while bob types, gone when he empties the box
    await bob.locator("#message-input").type("hm")
    await alice.wait_for_function(
        "() => document.getElementById('typing').textContent === 'bob is typing…'", timeout=WAIT_MS)
    assert (await carol.expect("TAGMSG", lambda m: "+typing" in m.tags)).tags["+typing"] == "active"
    await bob.locator("#message-input").fill("")
    await bob.locator("#message-input").dispatch_event("input")
    await alice.wait_for_function("() => document.getElementById('typing').textContent === ''", timeout=WAIT_MS)
    await screenshot(alice, "chat-actions.png")
    await hover_action(bob, "agreed", "Reply")  # toolbar, reply bar, quote and reactions in view
    await bob.click("#msg-actions button:text-is('React')")
    assert await audit(bob) == []
    await screenshot(bob, "chat-actions-dark.png")
    await bob.click("#reply-cancel")

    # copy link: a #msg= link that opens the room and the message for someone else
    await hover_action(bob, "agreed", "Copy link")
    await bob.wait_for_function("() => document.getElementById('status').textContent.includes('copied')",
                                timeout=WAIT_MS)
    link = await bob.evaluate("navigator.clipboard.readText()")
    assert link.startswith(gateway.http_url) and "#msg=" in link and "room=%23lobby" in link
    dave = await new_page(browser, link)
    await sign_in(dave, "dave", "#elsewhere")
    await dave.wait_for_selector(f"{line_with('agreed')}.flash", timeout=WAIT_MS)
    assert await dave.text_content("#room-title") == "#lobby"

    # delete your own message: gone for everyone and from history (others, not operators here,
    # are not offered Delete for it: carol opened the room)
    await alice.hover(f"{line_with('agreed')} .line")
    await alice.wait_for_selector("#msg-actions button:text-is('Reply')", state="visible", timeout=WAIT_MS)
    assert await alice.locator("#msg-actions button:text-is('Delete')").count() == 0
    bob.once("dialog", lambda d: d.accept())
    await hover_action(bob, "agreed", "Delete")
    for page in (alice, bob, dave):
        await page.wait_for_function(
            "() => ![...document.querySelectorAll('#messages .text')].some(n => n.textContent === 'agreed')",
            timeout=WAIT_MS)
    assert (await carol.expect("REDACT")).params[1] == answer.tags["msgid"]
    await carol.send("CHATHISTORY LATEST #lobby * 20")
    await carol.expect("BATCH")
    assert not [m for m in (await _until_batch_end(carol)) if m.params[1:] == ("agreed",)]
    for page in (alice, bob, dave):
        assert page.console_errors == []


async def _until_batch_end(client: RawClient) -> list[Any]:
    got = []
    while True:
        m = await client.recv()
        assert m is not None
        if m.command == "BATCH":
            return got
        got.append(m)


async def test_search_lists_matches_and_opens_an_older_one(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    eve = await (await RawClient.connect(server_proc.port)).register("eve", caps=CAPS)
    await eve.join("#lobby")
    await eve.send("PRIVMSG #lobby :where is the <b>needle</b>?")
    for i in range(120):  # the needle is far older than the 50 lines shown on join
        await eve.send(f"PRIVMSG #lobby :hay {i}")
    await eve.send("PRIVMSG #lobby :another Needle here")
    await eve.expect("PRIVMSG", lambda m: m.params[1] == "another Needle here")
    page = await new_page(browser, gateway.http_url, bypass_csp=True)
    await sign_in(page, "finn")
    await wait_in_room(page, "#lobby")
    await wait_text(page, "another Needle here")
    await page.click("#search-button")
    await page.fill("#search-input", "needle")
    await page.press("#search-input", "Enter")
    await page.wait_for_selector("#search-results .result", timeout=WAIT_MS)
    results = await page.eval_on_selector_all("#search-results .result-text", "ns => ns.map(n => n.textContent)")
    assert results == ["another Needle here", "where is the <b>needle</b>?"]  # newest first, as text
    assert await page.text_content("#search-status") == "2 messages found"
    await screenshot(page, "chat-search.png")
    assert await audit(page) == []
    await page.click("#search-results li:nth-child(2) .result")  # not loaded: earlier pages come
    await page.wait_for_selector(f"{line_with('where is the')}.flash", timeout=WAIT_MS)
    assert await page.locator("#messages b").count() == 0
    await page.fill("#search-input", "nothing-like-this")
    await page.press("#search-input", "Enter")
    await page.wait_for_function(
        "() => document.getElementById('search-status').textContent === 'No messages found.'", timeout=WAIT_MS)
    assert page.console_errors == []

    phone = await new_page(browser, gateway.http_url, width=390, height=844)  # search fits a phone
    await sign_in(phone, "gil")
    await wait_in_room(phone, "#lobby")
    await phone.click("#more-toggle")  # on a phone, Search waits in the header's "⋯" menu
    await phone.click("#search-button")
    await phone.fill("#search-input", "needle")
    await phone.press("#search-input", "Enter")
    await phone.wait_for_selector("#search-results .result", timeout=WAIT_MS)
    await screenshot(phone, "chat-search-phone.png")
    title = await phone.eval_on_selector("#room-title", "h => h.scrollWidth <= h.clientWidth")
    assert title, "the room name is cut off in the phone header"
    await phone.click("#search-results li:nth-child(1) .result")
    assert await phone.is_hidden("#search-panel")  # closed to make room for the message
    await phone.wait_for_selector(f"{line_with('another Needle')}.flash", timeout=WAIT_MS)


async def clocked_page(browser: Any, url: str) -> Any:
    """A page whose clock the test moves (Playwright's fake timers), installed before its scripts."""
    context = await browser.new_context(viewport={"width": 1100, "height": 700})
    page = await context.new_page()
    page.console_errors = []
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    await page.clock.install()
    await page.goto(url)
    return page


async def test_typing_is_sent_at_most_every_3_s_and_forgotten_after_6_s(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    carol = await (await RawClient.connect(server_proc.port)).register("carol", caps=CAPS)
    await carol.join("#lobby")
    alice = await clocked_page(browser, gateway.http_url)
    await sign_in(alice, "alice")
    await wait_in_room(alice, "#lobby")
    bob = await clocked_page(browser, gateway.http_url)
    await sign_in(bob, "bob")
    await wait_in_room(bob, "#lobby")
    box = bob.locator("#message-input")
    await box.type("abc")  # three keys within a moment: one "active"
    await alice.wait_for_function(
        "() => document.getElementById('typing').textContent === 'bob is typing…'", timeout=WAIT_MS)
    await bob.clock.fast_forward(3100)
    await box.type("d")  # 3 s later: the next "active"
    await box.fill("")
    await box.dispatch_event("input")  # emptied: "done"
    states = [(await carol.expect("TAGMSG", lambda m: "+typing" in m.tags)).tags["+typing"] for _ in range(3)]
    assert states == ["active", "active", "done"]
    await alice.wait_for_function("() => document.getElementById('typing').textContent === ''", timeout=WAIT_MS)

    await box.type("e")  # active again; then silence: alice forgets it after 6 s
    await alice.wait_for_function(
        "() => document.getElementById('typing').textContent === 'bob is typing…'", timeout=WAIT_MS)
    await alice.clock.fast_forward(5000)
    assert await alice.text_content("#typing") == "bob is typing…"
    await alice.clock.fast_forward(1500)
    await alice.wait_for_function("() => document.getElementById('typing').textContent === ''", timeout=WAIT_MS)
    assert alice.console_errors == [] and bob.console_errors == []
