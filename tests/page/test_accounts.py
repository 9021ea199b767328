"""Accounts on the chat page in real Chromium (a real server child process with accounts, the real
gateway): create an account in one browser context, sign in from a second one and find the private
conversation with its history and the "New messages" rule where the first one stopped reading; a
wrong password shows an error and keeps the form; a signed-in channel operator registers a room."""

from __future__ import annotations

from typing import Any

from ..support import RawClient
from .support import WAIT_MS, wait_in_room, wait_text

PW = "correct horse battery"


async def fill_login(page: Any, nick: str, password: str, room: str = "#lobby") -> None:
    await page.fill("#nick-input", nick)
    await page.fill("#password-input", password)
    await page.fill("#login-room", room)


async def open_dm(page: Any, nick: str) -> None:
    await page.wait_for_selector(f"#dms button:has-text('{nick}')", timeout=WAIT_MS)
    await page.click(f"#dms button:has-text('{nick}')")
    await page.wait_for_function(
        "t => document.getElementById('room-title').textContent === t", arg=f"Private: {nick}", timeout=WAIT_MS
    )


async def test_sign_up_then_sign_in_elsewhere_brings_back_private_history_and_read_position(
    browser: Any, gateway: Any, server_proc: Any
) -> None:
    bob = await RawClient.connect(server_proc.port)
    await bob.register("bob", caps="message-tags server-time")
    first = await browser.new_context()
    try:
        page = await first.new_page()
        await page.goto(gateway.http_url)
        await fill_login(page, "alice", PW)
        await page.click("#signup-button")
        await wait_in_room(page, "#lobby")
        assert await page.text_content("#my-account") == "(account alice)"
        await bob.send("PRIVMSG alice :are you there?")
        await open_dm(page, "bob")
        await wait_text(page, "are you there?")
        # The page reports what was read (MARKREAD) and the server confirms it.
        await page.wait_for_function(
            """() => { const c = window.__tcpchat.store.conversations.get('dm:bob');
                       return c && c.sentMarker && c.readMarker === c.sentMarker; }""",
            timeout=WAIT_MS,
        )
        # Back in the room, a second line arrives unread (IRC keeps no mail for people offline).
        await page.click("#rooms button:has-text('#lobby')")
        await wait_in_room(page, "#lobby")
        await bob.send("PRIVMSG alice :one more thing")
        await page.wait_for_selector("#dms button:has-text('bob') .unread:not([hidden])", timeout=WAIT_MS)
    finally:
        await first.close()

    second = await browser.new_context()
    try:
        page = await second.new_page()
        await page.goto(gateway.http_url)
        await fill_login(page, "alice", "not the password")
        await page.click("#signin-button")
        await page.wait_for_function(
            "() => document.getElementById('login-error').textContent.includes('Wrong account name or password')",
            timeout=WAIT_MS,
        )
        assert await page.is_visible("#login") and not await page.is_visible("#chat")
        assert await page.input_value("#nick-input") == "alice"  # the form is kept
        await page.fill("#password-input", PW)
        await page.press("#password-input", "Enter")
        await wait_in_room(page, "#lobby")
        await open_dm(page, "bob")
        await wait_text(page, "are you there?")
        await wait_text(page, "one more thing")
        rule_before = await page.eval_on_selector(
            "#messages .new-rule", "r => r.closest('.message, li').textContent"
        )
        assert "one more thing" in rule_before and "are you there?" not in rule_before
    finally:
        await second.close()
        await bob.close()


async def test_signed_in_operator_registers_the_room(browser: Any, gateway: Any) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(gateway.http_url)
        await fill_login(page, "carol", PW, "#team")
        await page.click("#signup-button")
        await wait_in_room(page, "#team")
        button = page.locator("#register-room-button")
        await button.wait_for(state="visible", timeout=WAIT_MS)
        await button.click()
        await wait_text(page, "#team is registered to your account")
        await button.wait_for(state="hidden", timeout=WAIT_MS)
    finally:
        await context.close()


async def test_guest_sees_no_register_button(browser: Any, gateway: Any) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(gateway.http_url)
        await page.fill("#nick-input", "dave")
        await page.click("#login-button")
        await wait_in_room(page, "#lobby")
        assert await page.text_content("#my-account") == "(guest)"
        assert not await page.is_visible("#register-room-button")
    finally:
        await context.close()


async def test_a_reload_asks_for_the_password_instead_of_coming_back_as_a_guest(browser: Any, gateway: Any) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(gateway.http_url)
        await fill_login(page, "frank", PW)
        await page.click("#signup-button")
        await wait_in_room(page, "#lobby")
        await page.reload()
        await page.wait_for_function(
            "() => document.getElementById('login-note').textContent.includes('Sign in again to continue as frank')",
            timeout=WAIT_MS,
        )
        assert await page.input_value("#nick-input") == "frank" and await page.is_visible("#login")
        assert "“Join the chat” as a guest" in await page.inner_text("#login-note")  # the button's name
        await page.fill("#password-input", PW)
        await page.press("#nick-input", "Enter")  # with the password typed, Enter signs in
        await wait_in_room(page, "#lobby")  # the rooms of the session come back
        assert await page.text_content("#my-account") == "(account frank)"
    finally:
        await context.close()
