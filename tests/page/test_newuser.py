"""The chat page as a new user meets it (what a first visit next to The Lounge showed): the login
form's obvious way in, the room they land in, the order of what happens there, private
conversations, the phone's room drawer and the reconnect banner. Real Chromium, real server child
process and gateway."""

from __future__ import annotations

from typing import Any

import pytest

from ..browser import RunningGateway, new_page, requires_chromium, screenshot
from ..support import RawClient, ServerProcess
from .support import WAIT_MS, say, sign_in, texts, wait_in_room, wait_text
from .test_a11y import audit

pytestmark = [pytest.mark.browser, requires_chromium]

FILLED = "id => getComputedStyle(document.getElementById(id)).backgroundColor !== 'rgba(0, 0, 0, 0)'"
"""True when a button is drawn filled (the page's primary action), not as an outline."""

FAST_CLOCK = """(() => {
  const Real = Date, AHEAD = 5 * 60 * 1000;  // this computer's clock is five minutes fast
  class Fast extends Real {
    constructor(...args) { if (args.length) super(...args); else super(Real.now() + AHEAD); }
    static now() { return Real.now() + AHEAD; }
  }
  globalThis.Date = Fast;
})();"""


async def test_first_visit_the_filled_button_joins_without_an_account(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    kim = await RawClient.connect(server_proc.port)
    await kim.register("kim")
    page = await new_page(browser, gateway.http_url, width=1280, height=800, color_scheme="light")
    assert "No account needed" in await page.inner_text("#login-intro")
    # The one filled button is "Join the chat"; "Sign in" is an outline until a password is typed.
    assert await page.evaluate(FILLED, "login-button")
    assert not await page.evaluate(FILLED, "signin-button")
    await screenshot(page, "newuser-login-desktop-light.png")
    await page.fill("#nick-input", "newbie")
    await page.click("#signin-button")  # what a newcomer might still try: told the way in
    hint = await page.inner_text("#login-error")
    assert "Join the chat" in hint
    await page.fill("#password-input", "a password")
    assert await page.evaluate(FILLED, "signin-button")
    assert not await page.evaluate(FILLED, "login-button")
    await page.press("#nick-input", "Enter")  # with a password, Enter signs in (no such account)
    await page.wait_for_function(  # the server's answer replaces the hint above
        "hint => !['', hint].includes(document.getElementById('login-error').textContent)", arg=hint,
        timeout=WAIT_MS)
    assert await page.is_visible("#login") and not await page.is_visible("#chat")
    await page.fill("#password-input", "")
    await page.fill("#nick-input", "kim")
    await page.click("#login-button")  # taken: the page says so and suggests one that may be free
    await wait_text(page, "pick another, such as kim_ or kim2", "#login-error")
    await page.fill("#nick-input", "newbie")
    await page.click("#login-button")
    await wait_in_room(page, "#lobby")
    # The empty room says where you are instead of being a blank page.
    await wait_text(page, "You joined #lobby")
    await screenshot(page, "newuser-first-room-desktop.png")
    assert page.console_errors == []
    await kim.close()


async def test_the_reconnect_banner_leaves_the_message_box_on_screen(
    browser: Any, gateway: RunningGateway
) -> None:
    page = await new_page(browser, gateway.http_url, width=390, height=844, color_scheme="dark")
    await sign_in(page, "phil")
    await wait_in_room(page, "#lobby")
    await gateway.stop()
    await page.wait_for_selector("#status:not([hidden])", timeout=WAIT_MS)
    box = await page.eval_on_selector("#message-input", "n => n.getBoundingClientRect().bottom")
    assert box <= await page.evaluate("innerHeight")
    assert await page.evaluate("document.documentElement.scrollHeight") <= await page.evaluate("innerHeight")
    await screenshot(page, "newuser-phone-reconnecting.png")


async def test_a_join_stays_above_the_first_words_when_the_computer_clock_is_fast(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await context.add_init_script(FAST_CLOCK)
    page = await context.new_page()
    await page.goto(gateway.http_url)
    await sign_in(page, "ana")
    await wait_in_room(page, "#lobby")
    kim = await RawClient.connect(server_proc.port)
    await kim.register("kim")
    await kim.send("JOIN #lobby", "PRIVMSG #lobby :hello, I just came in")
    await wait_text(page, "hello, I just came in")
    await kim.send("PART #lobby :bye", "JOIN #lobby", "PRIVMSG #lobby :back again")
    await wait_text(page, "back again")
    shown = await texts(page)
    # In the order it happened, though the joins carry this browser's time and the lines the server's
    # (and leaving then coming back reads so, not "kim joined · kim left").
    assert shown == ["You joined #lobby", "kim joined", "hello, I just came in", "kim rejoined", "back again"]
    await kim.close()


async def test_a_click_on_a_member_opens_a_private_conversation_without_member_column_or_tint(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    kim = await RawClient.connect(server_proc.port)
    await kim.register("kim", caps="echo-message")
    await kim.join("#lobby")
    await kim.send("PRIVMSG #lobby :ana: welcome, said before you came")
    await kim.expect("PRIVMSG", lambda m: m.params[1].startswith("ana: welcome"))
    page = await new_page(browser, gateway.http_url, width=1280, height=800, color_scheme="light")
    await sign_in(page, "ana")
    await wait_in_room(page, "#lobby")
    await wait_text(page, "ana: welcome, said before you came")
    # The day rule above the mention is on the page's background, not inside the mention's tint.
    colours = await page.eval_on_selector(
        "#messages .message.mention", """m => [getComputedStyle(m.querySelector('.day')).backgroundColor,
                                             getComputedStyle(document.documentElement).backgroundColor]""")
    assert colours[0] == colours[1]
    await page.click("#members .member-button:has-text('kim')")
    await wait_in_room(page, "Private: kim")
    assert await page.is_hidden("#members-panel")
    await wait_text(page, "only you and kim see what is written here")  # not a blank page
    await say(page, "hi kim, privately")
    got = await kim.expect("PRIVMSG", lambda m: m.params[0] == "kim")
    assert got.params[1] == "hi kim, privately" and got.source.startswith("ana!")
    await kim.send("PRIVMSG ana :hello ana")
    await wait_text(page, "hello ana")
    tint = await page.eval_on_selector("#messages .message.mention", "m => getComputedStyle(m).backgroundColor")
    assert tint == "rgba(0, 0, 0, 0)"  # every private line is for you: none is singled out
    width = await page.eval_on_selector("#messages", "m => m.getBoundingClientRect().width")
    assert width > 1280 - 14 * 16 - 40  # the conversation takes the members' column
    await screenshot(page, "newuser-private-desktop.png")
    assert page.console_errors == []
    await kim.close()


async def test_on_a_phone_the_rooms_button_shows_what_waits_elsewhere(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    kim = await RawClient.connect(server_proc.port)
    await kim.register("kim")
    await kim.join("#lobby")
    page = await new_page(browser, gateway.http_url, width=390, height=844, color_scheme="dark")
    await sign_in(page, "ana")
    await wait_in_room(page, "#lobby")
    await say(page, "/join #side")
    await wait_in_room(page, "#side")
    assert await page.is_hidden("#rooms-toggle-badge")
    await kim.send("PRIVMSG #lobby :a line", "PRIVMSG #lobby :ana: and one for you")
    await page.wait_for_selector("#rooms-toggle-badge.has-mention", timeout=WAIT_MS)
    assert await page.inner_text("#rooms-toggle-badge") == "2"
    button = page.get_by_role("button", name="Rooms (2 unread, you were mentioned)")
    assert await button.count() == 1
    await screenshot(page, "newuser-phone-unread-elsewhere.png")
    await button.click()
    await page.click("#rooms button:has-text('#lobby')")
    await wait_in_room(page, "#lobby")
    await page.wait_for_selector("#rooms-toggle-badge", state="hidden", timeout=WAIT_MS)
    assert page.console_errors == []
    await kim.close()


async def test_on_a_phone_the_room_name_fits_and_leave_waits_behind_the_more_menu(
    browser: Any, gateway: RunningGateway
) -> None:
    page = await new_page(browser, gateway.http_url, width=390, height=844, color_scheme="light")
    await sign_in(page, "ana", "#study-group-12")
    await wait_in_room(page, "#study-group-12")
    # The whole name shows; Leave is not one slip away from Mute in the header.
    assert await page.eval_on_selector("#room-title", "h => h.scrollWidth <= h.clientWidth")
    assert await page.is_hidden("#leave-button") and await page.is_hidden("#mute-button")
    # The empty box is one line high on a phone: its placeholder fits.
    assert await page.eval_on_selector("#message-input", "t => t.getBoundingClientRect().height") < 50
    await page.click("#more-toggle")
    assert await page.get_attribute("#more-toggle", "aria-expanded") == "true"
    assert await page.is_visible("#leave-button") and await page.is_visible("#mute-button")
    await screenshot(page, "newuser-phone-more-menu.png")
    assert await page.evaluate("document.activeElement.textContent") == "Search"  # focus went into it
    await page.keyboard.press("Escape")  # closes the menu, focus back on its button
    assert await page.is_hidden("#leave-button")
    assert await page.evaluate("document.activeElement.id") == "more-toggle"
    await page.click("#more-toggle")
    await page.click("#leave-button")
    await page.wait_for_function("() => document.getElementById('room-title').textContent === 'No room open'",
                                 timeout=WAIT_MS)
    assert await page.is_hidden("#room-actions")
    # Out of every room, the page says how to get back into one, and that works.
    assert "/join #lobby" in await page.inner_text("#no-room")
    assert await page.is_hidden("#more-toggle")  # no room: no menu of room actions
    await screenshot(page, "newuser-phone-no-room.png")
    await say(page, "/join #lobby")
    await wait_in_room(page, "#lobby")
    assert await page.is_hidden("#no-room")
    assert page.console_errors == []


async def test_a_big_room_has_a_box_to_find_someone_among_its_members(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    crowd = []
    for i in range(12):
        member = await RawClient.connect(server_proc.port)
        await member.register(f"user{i:02d}")
        await member.join("#big")
        crowd.append(member)
    page = await new_page(browser, gateway.http_url, width=1280, height=800, color_scheme="dark")
    await sign_in(page, "ana", "#big")
    await wait_in_room(page, "#big")
    await wait_text(page, "(13)", "#member-count")
    await page.fill("#member-filter", "USER1")
    await wait_text(page, "(2 of 13)", "#member-count")
    assert await texts(page, "#members .nick") == ["user10", "user11"]
    await screenshot(page, "newuser-big-room-find-member.png")
    await page.click("#members .member-button:has-text('user11')")
    await wait_in_room(page, "Private: user11")
    await page.click("#rooms button:has-text('#big')")
    await wait_text(page, "(13)", "#member-count")  # back in a room: everyone again
    assert page.console_errors == []
    for member in crowd:
        await member.close()


async def test_a_long_topic_takes_one_line_on_a_phone_until_tapped_and_its_link_works(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    op = await RawClient.connect(server_proc.port)
    await op.register("op")
    await op.join("#class")
    topic = ("Welcome to the study group! Be kind, no spam, homework questions go in #homework, exam "
             "dates are at https://example.org/exams and office hours are Tuesdays 3-5pm.")
    await op.send(f"TOPIC #class :{topic}")
    await op.expect("TOPIC")
    page = await new_page(browser, gateway.http_url, width=390, height=844)
    await sign_in(page, "ana", "#class")
    await wait_in_room(page, "#class")
    await wait_text(page, "office hours", "#room-topic")
    header = "() => document.querySelector('.room-header').getBoundingClientRect().height"
    assert await page.evaluate(header) < 70  # the title and one line of topic, not seven
    links = await page.eval_on_selector_all("#room-topic a", "as => as.map(a => [a.href, a.rel])")
    assert links == [["https://example.org/exams", "noopener noreferrer"]]
    await screenshot(page, "newuser-phone-long-topic.png")
    await page.click("#room-topic", position={"x": 5, "y": 5})
    assert await page.evaluate(header) > 100  # all of it
    assert await page.eval_on_selector("#room-topic", "t => t.scrollHeight <= t.clientHeight + 1")
    await page.press("#room-topic", "Enter")  # and back, from the keyboard too
    assert await page.evaluate(header) < 70
    assert page.console_errors == []
    await op.close()


async def test_after_a_kick_the_box_says_how_to_go_back(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    op = await RawClient.connect(server_proc.port)
    await op.register("op")
    await op.join("#class")
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "ana", "#class")
    await wait_in_room(page, "#class")
    await wait_text(page, "ana", "#members .nick")
    await op.send("KICK #class ana :off topic")
    await wait_text(page, "You were kicked by op (off topic)")
    placeholder = "() => document.getElementById('message-input').placeholder"
    await page.wait_for_function(f"() => ({placeholder})().includes('/join #class')", timeout=WAIT_MS)
    assert await page.inner_text("#leave-button") == "Close"
    await say(page, "/join #class")
    await wait_text(page, "You joined #class")
    await page.wait_for_function(f"() => ({placeholder})().startsWith('Message #class')", timeout=WAIT_MS)
    assert await page.inner_text("#leave-button") == "Leave"
    assert page.console_errors == []
    await op.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_new_parts_pass_an_axe_audit_on_a_phone(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess, scheme: str
) -> None:
    op = await RawClient.connect(server_proc.port)
    await op.register("op")
    await op.join("#class")
    await op.send("TOPIC #class :Exams: https://example.org/exams, office hours on Tuesdays afternoon")
    page = await new_page(browser, gateway.http_url, width=390, height=844, bypass_csp=True, color_scheme=scheme)
    await page.fill("#password-input", "typed")  # the account box with "Sign in" filled
    assert await audit(page) == []
    await page.fill("#password-input", "")
    await sign_in(page, "ana", "#class")
    await wait_in_room(page, "#class")
    await say(page, "/join #side")
    await wait_in_room(page, "#side")
    await op.send("PRIVMSG #class :ana: the badge on the rooms button")
    await page.wait_for_selector("#rooms-toggle-badge.has-mention", timeout=WAIT_MS)
    await page.click("#more-toggle")
    assert await audit(page) == []  # the menu open, the badge shown
    await page.click("#leave-button")
    await page.click("#rooms-toggle")
    await page.click("#rooms button:has-text('#class')")
    await wait_in_room(page, "#class")
    await page.click("#room-topic", position={"x": 5, "y": 5})
    assert await audit(page) == []  # the topic open
    await page.click("#more-toggle")
    await page.click("#leave-button")
    await page.wait_for_selector("#no-room", timeout=WAIT_MS)
    assert await audit(page) == []  # out of every room
    await op.close()
