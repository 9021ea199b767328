"""What people expect of the chat page beyond the basics (issue 14), in real Chromium against a real
server and gateway: the composer (Shift+Enter, Up to edit, Tab completion), links and IRC formatting
inserted safely, nick colours, grouping, folded join/part runs, keyboard use and the theme."""

from __future__ import annotations

from typing import Any

import pytest

from ..browser import RunningGateway, new_page, requires_chromium, screenshot
from ..support import RawClient, ServerProcess
from .support import WAIT_MS, sign_in, texts, wait_in_room, wait_text

pytestmark = [pytest.mark.browser, requires_chromium]


async def test_composer_newline_edit_last_line_and_tab_completion(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    amy = await RawClient.connect(server_proc.port)
    await amy.register("amy")
    await amy.join("#lobby")
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "bo")
    await wait_in_room(page, "#lobby")
    await wait_text(page, "amy", "#members .nick")

    box = page.locator("#message-input")
    await box.type("first line")
    await box.press("Shift+Enter")
    await box.type("second line")
    assert await box.input_value() == "first line\nsecond line"  # not sent yet
    await box.press("Enter")
    got = [(await amy.expect("PRIVMSG", lambda m: m.source.startswith("bo!"))).params[1] for _ in range(2)]
    assert got == ["first line", "second line"]
    await page.wait_for_function(  # one message, shown on two lines, confirmed by both echoes
        "() => [...document.querySelectorAll('#messages .message:not(.pending) .text')]"
        ".some(n => n.textContent === 'first line\\nsecond line')", timeout=WAIT_MS)
    assert (await texts(page)).count("first line\nsecond line") == 1
    assert await box.input_value() == ""

    await box.press("ArrowUp")  # Up on an empty box brings the last line back to edit
    assert await box.input_value() == "first line\nsecond line"
    await box.press("ArrowDown")
    assert await box.input_value() == ""

    await box.type("a")
    await box.press("Tab")
    assert await box.input_value() == "amy: "  # a nick at the start of the line gets ": "
    await box.type("see #lo")
    await box.press("Tab")
    assert await box.input_value() == "amy: see #lobby "
    await box.fill("/")
    assert "/join <#room>" in await page.text_content("#composer-hint")  # the commands, with usage
    await box.fill("/jo")
    assert await page.text_content("#composer-hint") == "/join <#room>"
    await box.press("Tab")
    assert await box.input_value() == "/join "
    assert await page.is_hidden("#composer-hint")
    await amy.close()


async def test_links_formatting_colours_grouping_and_folded_runs(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "cy")
    await wait_in_room(page, "#lobby")
    guests = []
    for nick in ("gus", "hal", "ivy"):
        guest = await RawClient.connect(server_proc.port)
        await guest.register(nick)
        await guest.join("#lobby")
        guests.append(guest)
    await guests[2].send("PART #lobby :bye")
    await wait_text(page, "gus, hal and ivy joined · ivy left")
    run = page.locator("#messages .message.run")
    assert await run.count() == 1  # four events, one line
    await run.locator("button.expand").click()
    assert await run.locator(".event-list li").all_text_contents() == [
        "gus joined", "hal joined", "ivy joined", "ivy left (bye)"]

    gus = guests[0]
    await gus.send(
        "PRIVMSG #lobby :see https://example.org/a_(b). and javascript:alert(1) <b>x</b>",
        "PRIVMSG #lobby :\x02bold\x02 \x1ditalic\x1d \x0304,01red on black\x03 plain\x0f",
        "PRIVMSG #lobby :a third line from gus",
    )
    await wait_text(page, "a third line from gus")
    links = await page.eval_on_selector_all(
        "#messages a", "as => as.map(a => [a.getAttribute('href'), a.rel, a.target, a.textContent])")
    assert links == [["https://example.org/a_(b)", "noopener noreferrer", "_blank", "https://example.org/a_(b)"]]
    shown = await texts(page)
    assert "see https://example.org/a_(b). and javascript:alert(1) <b>x</b>" in shown
    assert "bold italic red on black plain" in shown  # codes stripped from the text
    assert await page.locator("#messages b").count() == 0
    assert await page.locator("#messages .f-bold").all_text_contents() == ["bold"]
    assert await page.locator("#messages .f-italic").all_text_contents() == ["italic"]
    assert await page.locator("#messages .fg-4.bg-1").all_text_contents() == ["red on black"]

    # gus's three lines form one group: his name and the time are shown once
    lines = page.locator("#messages .message.kind-privmsg")
    assert await lines.evaluate_all("ns => ns.map(n => n.classList.contains('cont'))") == [False, True, True]
    # one colour per nick, the same in the log and in the member list
    colour = await lines.first.locator(".author").get_attribute("class")
    member = await page.locator("#members .nick", has_text="gus").get_attribute("class")
    assert colour.split()[-1] == member.split()[-1] and colour.split()[-1].startswith("nick-")
    await gus.send("PRIVMSG #lobby :cy: the release notes are up, have a look")
    await wait_text(page, "release notes")
    await page.fill("#message-input", "thanks gus, reading them now")
    await page.press("#message-input", "Enter")
    await page.wait_for_function("() => !document.querySelector('#messages .pending')", timeout=WAIT_MS)
    await screenshot(page, "chat-desktop-light-features.png")
    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "chat-desktop-dark-features.png")
    for guest in guests:
        await guest.close()


async def test_keyboard_switching_typing_focus_and_themes(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    page = await new_page(browser, gateway.http_url, color_scheme="dark")
    await sign_in(page, "dee")
    await wait_in_room(page, "#lobby")
    await page.fill("#message-input", "/join #two")
    await page.press("#message-input", "Enter")
    await wait_in_room(page, "#two")
    await page.keyboard.press("Alt+ArrowUp")
    await wait_in_room(page, "#lobby")
    await page.keyboard.press("Alt+ArrowDown")
    await wait_in_room(page, "#two")

    # focus is visible on keyboard navigation; a printable key typed elsewhere goes to the box
    await page.focus("#theme-button")
    await page.keyboard.press("Tab")
    outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    await page.keyboard.type("h")
    assert await page.evaluate("() => document.activeElement.id") == "message-input"
    assert await page.input_value("#message-input") == "h"

    # the system's dark setting is followed; the button pins light, then dark, then follows again
    dark_bg = await page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    await page.click("#theme-button")
    light_bg = await page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    assert await page.evaluate("() => document.documentElement.dataset.theme") == "light"
    assert dark_bg != light_bg
    await page.click("#theme-button")
    await page.click("#theme-button")
    assert await page.evaluate("() => document.documentElement.dataset.theme") is None
    await page.reload()  # the choice is remembered (here: follow the system)
    assert await page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor") == dark_bg
    assert page.console_errors == []
