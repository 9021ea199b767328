"""The chat page in a real headless Chromium: two browser users and one raw TCP user in #lobby,
against a real server child process and a real uvicorn gateway."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ..browser import RunningGateway, new_page, requires_chromium, screenshot, start_gateway
from ..support import RawClient, ServerProcess
from .support import OPER_PASSWORD, WAIT_MS, say, sign_in, wait_in_room, wait_text

pytestmark = [pytest.mark.browser, requires_chromium]

async def test_two_pages_and_a_tcp_user_chat_and_survive_a_server_restart(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    carol = await RawClient.connect(server_proc.port)
    await carol.register("carol")
    await carol.join("#lobby")
    await carol.send("PRIVMSG #lobby :said before anyone came")

    alice = await new_page(browser, gateway.http_url)
    await sign_in(alice, "alice")
    await wait_in_room(alice, "#lobby")
    # Earlier messages of the room come from CHATHISTORY on join.
    await wait_text(alice, "said before anyone came")

    bea = await new_page(browser, gateway.http_url)
    await sign_in(bea, "alice")
    await bea.wait_for_function(
        "() => document.getElementById('login-error').textContent.includes('already in use')", timeout=WAIT_MS
    )
    assert await bea.is_visible("#login")
    await screenshot(bea, "login-nick-in-use.png")
    await sign_in(bea, "bea")
    await wait_in_room(bea, "#lobby")

    # Members with marks: carol created the room, so she is the operator.
    await wait_text(alice, "bea", "#members .nick")
    marks = await alice.eval_on_selector_all(
        "#members .member", "items => items.map(i => i.textContent)"
    )
    assert "@carol" in marks and "alice" in marks and "bea" in marks

    await carol.send("PRIVMSG #lobby :hello browsers")
    await wait_text(alice, "hello browsers")
    await wait_text(bea, "hello browsers")

    await say(alice, "hi carol, from the web")
    msg = await carol.expect("PRIVMSG", lambda m: m.source.startswith("alice!"))
    assert msg.params == ("#lobby", "hi carol, from the web")
    await wait_text(bea, "hi carol, from the web")
    # Own message confirmed by echo-message: no longer pending.
    await alice.wait_for_function(
        "() => !document.querySelector('#messages .message.pending')", timeout=WAIT_MS
    )

    evil = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\"><b>bold</b>"
    await say(bea, evil)
    await wait_text(alice, evil)
    assert await alice.evaluate("() => window.pwned === undefined")
    assert await alice.evaluate(
        "() => document.querySelectorAll('#messages b, #messages img, #messages script').length"
    ) == 0
    assert (await carol.expect("PRIVMSG", lambda m: m.source.startswith("bea!"))).params[1] == evil

    await say(alice, "/me waves")
    await wait_text(bea, "* alice waves")

    # The chat server restarts mid-chat; both pages say so and recover by themselves.
    await carol.close()
    server_proc.stop()
    await alice.wait_for_selector("#status:not([hidden])", timeout=WAIT_MS)
    server_proc.start(server_proc.port)
    for page in (alice, bea):
        await page.wait_for_selector("#status", state="hidden", timeout=30_000)
    carol = await RawClient.connect(server_proc.port)
    await carol.register("carol")
    await carol.join("#lobby")
    names = " ".join(m.params[-1] for m in carol.seen if m.command == "353")
    assert "alice" in names and "bea" in names  # both pages were rejoined to #lobby
    await say(bea, "back after the restart")
    await wait_text(alice, "back after the restart")
    assert (await carol.expect("PRIVMSG", lambda m: m.source.startswith("bea!"))).params[1] == (
        "back after the restart"
    )
    await carol.send("PRIVMSG #lobby :welcome back")
    await wait_text(alice, "welcome back")
    await wait_text(bea, "welcome back")

    path = await screenshot(alice, "chat-desktop.png")
    assert path.stat().st_size > 0
    assert alice.console_errors == [] and bea.console_errors == []
    await carol.close()


async def test_private_messages_unread_counts_and_slash_commands(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    dave = await RawClient.connect(server_proc.port)
    await dave.register("dave")
    await dave.join("#lobby")
    await dave.join("#side")
    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "erin")
    await wait_in_room(page, "#lobby")
    await say(page, "/join #side")
    await wait_in_room(page, "#side")
    await page.click("#rooms button:has-text('#lobby')")
    await wait_in_room(page, "#lobby")
    await dave.send("PRIVMSG #side :one", "PRIVMSG #side :two")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#rooms .unread')].some(b => b.textContent === '2')", timeout=WAIT_MS
    )
    await dave.send("PRIVMSG erin :a secret")
    await page.wait_for_selector("#dms button:has-text('dave')", timeout=WAIT_MS)
    await say(page, "/msg dave a reply")
    assert (await dave.expect("PRIVMSG", lambda m: m.params[0] == "dave")).params[1] == "a reply"
    await wait_in_room(page, "Private: dave")  # /msg opened the conversation
    await page.click("#rooms button:has-text('#lobby')")
    await say(page, "/topic fresh topic")  # not an operator yet: the server's refusal is shown
    await page.wait_for_function(
        "() => document.getElementById('chat-error').textContent.includes('operator')", timeout=WAIT_MS
    )
    await dave.send("MODE #lobby +o erin")
    await wait_text(page, "@erin", "#members .member")
    await say(page, "/topic fresh topic")
    assert (await dave.expect("TOPIC")).params == ("#lobby", "fresh topic")
    await page.wait_for_function(
        "() => document.getElementById('room-topic').textContent === 'fresh topic'", timeout=WAIT_MS
    )
    await say(page, "/nick erin2")
    assert (await dave.expect("NICK")).params == ("erin2",)
    await page.wait_for_function("() => document.getElementById('my-nick').textContent === 'erin2'")
    await say(page, "/bogus")
    await page.wait_for_function("() => document.getElementById('chat-error').textContent.includes('Unknown')")
    await page.click("#rooms button:has-text('#side')")
    await say(page, "/part")
    assert (await dave.expect("PART")).params[0] == "#side"
    # A reload comes back as the same nick in the same rooms, without the login form.
    await page.reload()
    assert (await dave.expect("JOIN", lambda m: m.source.startswith("erin2!"))).params[0] == "#lobby"
    await wait_in_room(page, "#lobby")
    await page.wait_for_function(
        "() => document.getElementById('my-nick').textContent === 'erin2'", timeout=WAIT_MS
    )
    assert not await page.is_visible("#login")
    assert page.console_errors == []
    await dave.close()


async def test_narrow_mobile_viewport_and_gateway_restart(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    page = await new_page(browser, gateway.http_url, width=380, height=740)
    await sign_in(page, "fay")
    await wait_in_room(page, "#lobby")
    await say(page, "hello from a phone")
    await wait_text(page, "hello from a phone")
    overflow = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert await page.is_visible("#message-input") and await page.is_visible("#members-toggle")
    await screenshot(page, "chat-mobile.png")

    # The gateway restarts: the page reconnects by itself and restores its rooms; what was said
    # meanwhile comes back with the room's history on the rejoin.
    port = gateway.port
    gus = await RawClient.connect(server_proc.port)
    await gus.register("gus", caps="echo-message")
    await gus.join("#lobby")
    await gateway.stop()
    await page.wait_for_selector("#status:not([hidden])", timeout=WAIT_MS)
    await gus.send("PRIVMSG #lobby :said while the gateway was down")
    await gus.expect("PRIVMSG", lambda m: m.params[1] == "said while the gateway was down")
    second = await start_gateway(server_proc.port, port=port)
    try:
        await page.wait_for_selector("#status", state="hidden", timeout=30_000)
        assert (await gus.expect("JOIN", lambda m: m.source.startswith("fay!"))).params[0] == "#lobby"
        await wait_text(page, "said while the gateway was down")
        await gus.send("PRIVMSG #lobby :still there?")
        await wait_text(page, "still there?")
        texts = await page.eval_on_selector_all("#messages .message .text", "ns => ns.map(n => n.textContent)")
        assert texts.count("hello from a phone") == 1  # history on rejoin did not double it
    finally:
        await gus.close()
        await second.stop()


async def test_earlier_messages_and_an_operator_kill(
    browser: Any, gateway: RunningGateway, server_proc: ServerProcess
) -> None:
    ops = await RawClient.connect(server_proc.port)
    await ops.register("ops", caps="echo-message")
    await ops.join("#lobby")
    for i in range(60):
        await ops.send(f"PRIVMSG #lobby :line {i:02d}")
    await ops.expect("PRIVMSG", lambda m: m.params[1] == "line 59")  # echoed = stored

    page = await new_page(browser, gateway.http_url)
    await sign_in(page, "hal")
    await wait_in_room(page, "#lobby")
    await wait_text(page, "line 59")
    count = "() => [...document.querySelectorAll('#messages .message .text')].filter(n => n.textContent.startsWith('line ')).length"
    await page.wait_for_function(f"{count} === 50", timeout=WAIT_MS)  # history_on_join
    await page.click("#older-button")
    await page.wait_for_function(f"{count} === 60", timeout=WAIT_MS)
    first = await page.eval_on_selector("#messages .message .text", "n => n.textContent")
    assert first == "line 00"
    # Fewer than asked for came back: nothing is older, so the button goes away.
    await page.wait_for_selector("#older-button", state="hidden", timeout=WAIT_MS)

    # An operator disconnects hal: the page says why and does not come back by itself.
    await ops.send(f"OPER admin {OPER_PASSWORD}")
    await ops.expect("381")
    await ops.send("KILL hal :spamming")
    await page.wait_for_function(
        "() => document.getElementById('login-error').textContent.includes('spamming')", timeout=WAIT_MS
    )
    assert await page.is_visible("#login")
    await asyncio.sleep(1.0)
    assert "hal" not in {c for c in await _nicks(ops)}
    # Signing in again restores the rooms.
    await page.press("#nick-input", "Enter")
    await ops.expect("JOIN", lambda m: m.source.startswith("hal!"))
    await page.wait_for_selector("#login", state="hidden", timeout=WAIT_MS)
    assert page.console_errors == []
    await ops.close()


async def _nicks(client: RawClient) -> set[str]:
    await client.send("NAMES #lobby")
    reply = await client.expect("353")
    await client.expect("366")
    return {n.lstrip("@+") for n in reply.params[-1].split()}
