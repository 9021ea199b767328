"""The defects a new user hit on the chat page (issue 14, defects 1-6), each in real Chromium against
a real server child process and gateway."""

from __future__ import annotations

from typing import Any

import pytest

from ..browser import WEBIRC_PASSWORD, RunningGateway, new_page, requires_chromium, screenshot, start_gateway
from ..support import RawClient, ServerProcess
from .support import OPER_PASSWORD, WAIT_MS, say, sign_in, texts, wait_in_room, wait_text

pytestmark = [pytest.mark.browser, requires_chromium]


PANEL_AT = """() => { const r = document.getElementById('members-panel').getBoundingClientRect();
  return Math.abs(r.right - window.innerWidth) < 1 ? 'in' : r.left >= window.innerWidth - 1 ? 'out' : 'moving'; }"""
"""Where the members drawer is: all in view, all out of it (right of the edge), or sliding."""


async def panel_shown(page: Any) -> bool:
    return await page.evaluate(PANEL_AT) == "in"  # type: ignore[no-any-return]


async def wait_panel(page: Any, shown: bool) -> None:
    await page.wait_for_function(f"() => ({PANEL_AT})() === '{'in' if shown else 'out'}'", timeout=WAIT_MS)


async def test_phone_members_panel_closes_by_button_tap_outside_and_escape(
    browser: Any, gateway: RunningGateway
) -> None:
    page = await new_page(browser, gateway.http_url, width=390, height=844)
    await sign_in(page, "pat")
    await wait_in_room(page, "#lobby")
    await wait_text(page, "pat", "#members .nick")
    assert not await panel_shown(page)
    for close in ("button", "outside", "escape"):
        await page.click("#members-toggle")
        await wait_panel(page, True)
        if close == "button":
            await screenshot(page, "chat-phone-members.png")
            await page.click("#members-close")
        elif close == "outside":
            await page.mouse.click(40, 400)  # on the dimmed conversation, left of the drawer
        else:
            await page.keyboard.press("Escape")
        await wait_panel(page, False)
        assert await page.is_visible("#message-input")
    # The rooms drawer works the same way; choosing a room closes it.
    await say(page, "hello from a phone, with a line long enough to wrap on a narrow screen")
    await say(page, "/me waves")
    await page.click("#rooms-toggle")
    await page.wait_for_selector("#drawer-overlay", state="visible", timeout=WAIT_MS)
    await page.wait_for_function(
        "() => document.getElementById('sidebar').getBoundingClientRect().left >= 0", timeout=WAIT_MS)
    await screenshot(page, "chat-phone-rooms.png")
    await page.click("#rooms button:has-text('#lobby')")
    await page.wait_for_selector("#drawer-overlay", state="hidden", timeout=WAIT_MS)
    await page.wait_for_function(
        "() => document.getElementById('sidebar').getBoundingClientRect().right <= 0", timeout=WAIT_MS)
    await screenshot(page, "chat-phone.png")
    assert page.console_errors == []


async def test_a_long_message_is_confirmed_once_and_an_oversized_one_stays_in_the_box(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    tom = await RawClient.connect(server_proc.port)
    await tom.register("tom")
    await tom.join("#lobby")
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "lena")
    await wait_in_room(page, "#lobby")
    long = " ".join(f"word{i:04d}" for i in range(250))[:2000]  # about 6 IRC lines once split
    await say(page, long)
    pieces = []
    while sum(len(p) for p in pieces) < len(long.replace(" ", "")) - 50:
        msg = await tom.expect("PRIVMSG", lambda m: m.source.startswith("lena!"))
        pieces.append(msg.params[1].replace(" ", ""))
    assert len(pieces) >= 5  # the gateway split it
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#messages .message:not(.pending) .text')]"
        ".some(n => n.textContent.startsWith('word0000'))", timeout=WAIT_MS)
    shown = [t for t in await texts(page) if t.startswith("word")]
    assert shown == [long]  # one line, the whole text, not a pending copy plus the pieces
    assert await page.evaluate("() => document.querySelectorAll('#messages .message.failed').length") == 0

    too_long = "\n".join(f"line {i}" for i in range(11))  # the gateway sends at most 10 lines
    await page.fill("#message-input", too_long)
    await page.press("#message-input", "Enter")
    await page.wait_for_function("() => document.getElementById('chat-error').textContent.includes('still in the box')",
                                 timeout=WAIT_MS)
    assert await page.input_value("#message-input") == too_long
    assert "line 10" not in await texts(page)
    await tom.close()


async def test_leaving_and_rejoining_a_room_shows_its_history_again(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    una = await RawClient.connect(server_proc.port)
    await una.register("una", caps="echo-message")
    await una.join("#lobby")
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "vic")
    await wait_in_room(page, "#lobby")
    await una.send("PRIVMSG #lobby :remember me")
    await wait_text(page, "remember me")
    await say(page, "/part")
    await page.wait_for_function("() => !document.querySelector(\"[data-key='room:#lobby']\")", timeout=WAIT_MS)
    await say(page, "/join #lobby")
    await wait_in_room(page, "#lobby")
    await wait_text(page, "remember me")
    assert (await texts(page)).count("remember me") == 1
    await una.close()


async def test_a_private_conversation_follows_the_other_persons_nick_change(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    dan = await RawClient.connect(server_proc.port)
    await dan.register("dan")
    await dan.join("#lobby")
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "wes")
    await wait_in_room(page, "#lobby")
    await dan.send("PRIVMSG wes :psst")
    await page.click("#dms button:has-text('dan')")
    await wait_text(page, "psst")
    await dan.send("NICK danny")
    await page.wait_for_function("() => document.getElementById('room-title').textContent === 'Private: danny'",
                                 timeout=WAIT_MS)
    assert await texts(page, "#dms .room-name") == ["danny"]
    await wait_text(page, "dan is now known as danny")
    await say(page, "still there?")
    msg = await dan.expect("PRIVMSG", lambda m: m.source.startswith("wes!"))
    assert msg.params == ("danny", "still there?")
    await page.wait_for_function("() => !document.querySelector('#messages .message.pending')", timeout=WAIT_MS)
    assert (await texts(page)).count("psst") == 1  # the same conversation, with its history
    await dan.close()


async def test_after_a_server_restart_topic_and_modes_come_from_the_server(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    ken = await RawClient.connect(server_proc.port)
    await ken.register("ken")
    await ken.join("#lobby")
    await ken.send("TOPIC #lobby :the old topic")
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "xia")
    await wait_in_room(page, "#lobby")
    await page.wait_for_function("() => document.getElementById('room-topic').textContent === 'the old topic'",
                                 timeout=WAIT_MS)
    await ken.close()
    server_proc.stop()
    await page.wait_for_selector("#status:not([hidden])", timeout=WAIT_MS)
    server_proc.start(server_proc.port)
    await page.wait_for_selector("#status", state="hidden", timeout=30_000)
    await wait_text(page, "Reconnected to the chat server.")
    # The room came back empty on the restarted server: no topic, and xia (first in) is its operator.
    await page.wait_for_function("() => document.getElementById('room-topic').textContent === ''", timeout=WAIT_MS)
    await wait_text(page, "@xia", "#members .member")
    ken = await RawClient.connect(server_proc.port)
    await ken.register("ken")
    await ken.join("#lobby")
    await ken.send(f"OPER admin {OPER_PASSWORD}")
    await ken.expect("381")
    await ken.send("MODE #lobby -o+v xia xia")
    await wait_text(page, "+xia", "#members .member")
    await wait_text(page, "ken set mode -o+v xia xia")
    await ken.send("MODE #lobby +o ken", "TOPIC #lobby :a new topic")
    await page.wait_for_function("() => document.getElementById('room-topic').textContent === 'a new topic'",
                                 timeout=WAIT_MS)
    await ken.close()


async def test_no_load_earlier_button_on_a_server_without_history(browser: Any, tmp_path: Any) -> None:
    proc = ServerProcess("--no-history", "--data-dir", str(tmp_path / "nohist"),
                         env={"TCPCHAT_WEBIRC_PASSWORD": WEBIRC_PASSWORD, "TCPCHAT_USE_UVLOOP": "false"}).start()
    gw = await start_gateway(proc.port)
    try:
        page = await new_page(browser, gw.http_url)
        await sign_in(page, "ned")
        await wait_in_room(page, "#lobby")
        await say(page, "anyone?")
        await wait_text(page, "anyone?")
        await page.evaluate("() => { document.getElementById('messages').scrollTop = 0; }")
        await page.wait_for_timeout(300)
        assert await page.is_hidden("#older-button")
        assert await page.text_content("#chat-error") == ""  # nothing was asked of a server without history
    finally:
        await gw.stop()
        proc.stop()


async def test_modes_mentions_sections_and_a_friendly_bad_nick(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "bad nick!")
    await page.wait_for_function("() => document.getElementById('login-error').textContent.includes('spaces')",
                                 timeout=WAIT_MS)
    assert "not a valid name" not in await page.text_content("#login-error")
    await sign_in(page, "zed!")
    await page.wait_for_function("() => document.getElementById('login-error').textContent.includes('letters')",
                                 timeout=WAIT_MS)
    await sign_in(page, "zed")
    await wait_in_room(page, "#lobby")
    amy = await RawClient.connect(server_proc.port)
    await amy.register("amy")
    await amy.join("#lobby")
    await say(page, "/join #side")
    await wait_in_room(page, "#side")
    await amy.send("PRIVMSG #lobby :hey ZED, look", "PRIVMSG #lobby :zedd is someone else", "PRIVMSG zed :hi there")
    # Rooms and private conversations are separate lists; a mention counts in the badge.
    await page.wait_for_selector("#dms button:has-text('amy')", timeout=WAIT_MS)
    assert await texts(page, "#rooms .room-name") == ["#lobby", "#side"]
    await page.wait_for_function(
        "() => document.querySelector(\"[data-key='room:#lobby'] .unread.has-mention\")?.textContent === '2'",
        timeout=WAIT_MS)
    assert await page.get_by_role("button", name="#lobby (2 unread, 1 mention)", exact=True).count() == 1
    assert (await page.title()).startswith("(3) ")
    await page.click("[data-key='room:#lobby']")
    await wait_text(page, "hey ZED, look")
    mentioned = await page.eval_on_selector_all(
        "#messages .message.mention .text", "ns => ns.map(n => n.textContent)")
    assert mentioned == ["hey ZED, look"]
    page_ops = await page.eval_on_selector_all("#members .member", "ns => ns.map(n => n.textContent)")
    assert "@zed" in page_ops
    assert await page.is_hidden("#older-button")  # nothing earlier on this fresh server
    await screenshot(page, "chat-desktop-light.png")
    await page.click("#theme-button")  # system -> light
    await page.click("#theme-button")  # light -> dark
    assert await page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    await screenshot(page, "chat-desktop-dark.png")
    assert page.console_errors == []
    await amy.close()
