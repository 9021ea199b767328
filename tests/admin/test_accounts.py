"""Admin API for accounts with a real server (accounts on, admin verification) and a real gateway:
list with connections, approve a pending registration, disable / enable, reset a password, the
connections list's account column, and who may call it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tcp_server.server import ChatServer

from ..accounts_support import ACCOUNTS, register_account, sasl_plain
from ..admin_harness import ADMIN_PASSWORD, BASIC, Stack, start_stack, stop_stack
from ..browser import launch_browser, new_page, requires_chromium, screenshot
from ..support import RawClient

PW = "correct horse battery"
WAIT_MS = 10_000


@pytest.fixture
async def stack(make_server: Callable[..., Awaitable[ChatServer]], tmp_path: Any) -> AsyncIterator[Stack]:
    s = await start_stack(make_server, {"data_dir": tmp_path, **ACCOUNTS})
    yield s
    await stop_stack(s)


@pytest.fixture
async def dial(stack: Stack) -> AsyncIterator[Callable[[], Awaitable[RawClient]]]:
    opened: list[RawClient] = []

    async def factory() -> RawClient:
        opened.append(await RawClient.connect(stack.chat.port))
        return opened[-1]

    yield factory
    for c in opened:
        await c.close()


async def accounts(stack: Stack) -> dict[str, Any]:
    resp = await stack.http.get("/api/admin/accounts", auth=BASIC)
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    return {a["name"]: a for a in resp.json()["accounts"]}


async def test_list_shows_accounts_with_their_connections_and_the_account_column(
    stack: Stack, dial: Callable[[], Awaitable[RawClient]]
) -> None:
    await register_account(await dial(), "alice", PW)
    guest = await dial()
    await guest.register("guest")
    listed = await accounts(stack)
    assert listed["alice"]["state"] == "active"
    assert [c["nick"] for c in listed["alice"]["connections"]] == ["alice"]
    conns = (await stack.http.get("/api/admin/connections", auth=BASIC)).json()["connections"]
    by_nick = {c["nick"]: c["account"] for c in conns}
    assert by_nick["alice"] == "alice" and by_nick["guest"] is None


async def test_disable_enable_and_reset_password(
    stack: Stack, dial: Callable[[], Awaitable[RawClient]], caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    alice = await dial()
    await register_account(alice, "alice", PW)
    await alice.close()
    resp = await stack.http.post("/api/admin/accounts/alice/disable", auth=BASIC)
    assert resp.json() == {"name": "alice", "action": "disable", "result": "done"}
    assert (await accounts(stack))["alice"]["state"] == "disabled"
    assert await sasl_plain(await dial(), "a1", "alice", PW) == "904"
    assert (await stack.http.post("/api/admin/accounts/alice/enable", auth=BASIC)).status_code == 200
    assert await sasl_plain(await dial(), "a2", "alice", PW) == "903"
    new = "a different secret"
    resp = await stack.http.post("/api/admin/accounts/alice/password", json={"password": new}, auth=BASIC)
    assert resp.status_code == 200
    assert await sasl_plain(await dial(), "a3", "alice", PW) == "904"
    assert await sasl_plain(await dial(), "a4", "alice", new) == "903"
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("tcpchat")]
    assert ours and not any(new in line for line in ours)


async def test_unknown_account_is_404_weak_password_400_and_anonymous_401(stack: Stack) -> None:
    assert (await stack.http.post("/api/admin/accounts/nobody/disable", auth=BASIC)).status_code == 404
    weak = await stack.http.post("/api/admin/accounts/nobody/password", json={"password": "x"}, auth=BASIC)
    assert weak.status_code == 400 and "at least" in weak.json()["detail"]
    assert (await stack.http.get("/api/admin/accounts")).status_code == 401
    assert (await stack.http.post("/api/admin/accounts/nobody/enable")).status_code == 401


async def test_approve_a_pending_registration(make_server: Callable[..., Awaitable[ChatServer]], tmp_path: Any) -> None:
    stack = await start_stack(make_server, {"data_dir": tmp_path, "account_verification": "admin", **ACCOUNTS})
    bob = await RawClient.connect(stack.chat.port)
    try:
        await bob.register("bob")
        await bob.send(f"REGISTER * * :{PW}")
        await bob.expect("REGISTER", lambda m: m.params[0] == "VERIFICATION_REQUIRED")
        assert (await accounts(stack))["bob"]["state"] == "pending"
        resp = await stack.http.post("/api/admin/accounts/bob/approve", auth=BASIC)
        assert resp.status_code == 200 and resp.json()["result"] == "done"
        assert (await accounts(stack))["bob"]["state"] == "active"
    finally:
        await bob.close()
        await stop_stack(stack)


@requires_chromium
async def test_admin_page_lists_accounts_disables_and_resets_a_password(
    make_server: Callable[..., Awaitable[ChatServer]], tmp_path: Any
) -> None:
    stack = await start_stack(make_server, {"data_dir": tmp_path, **ACCOUNTS}, admin_poll_interval=0.3)
    alice = await RawClient.connect(stack.chat.port)
    try:
        await register_account(alice, "alice", PW)
        async with launch_browser() as browser:
            page = await new_page(browser, stack.url + "/admin")
            await page.fill("#password", ADMIN_PASSWORD)
            await page.click("#login-button")
            row = page.locator('#accounts tr[data-account="alice"]')
            await row.wait_for(timeout=WAIT_MS)
            assert "alice (tcp" in await row.text_content()
            account_cell = page.locator('#connections tr[data-nick="alice"] td.account')
            await account_cell.wait_for(timeout=WAIT_MS)
            assert await account_cell.text_content() == "alice"
            await row.locator("button", has_text="Disable").click()
            await page.wait_for_function(
                """() => document.querySelector('#accounts tr[data-account="alice"]')?.cells[1].textContent === 'disabled'""",
                timeout=WAIT_MS,
            )
            await page.fill("#new-password", "set by the admin")
            await page.locator('#accounts tr[data-account="alice"] button', has_text="Reset password").click()
            await page.wait_for_function(
                "() => document.getElementById('accounts-note').textContent === 'New password set for alice.'",
                timeout=WAIT_MS,
            )
            await page.locator('#accounts tr[data-account="alice"] button', has_text="Enable").click()
            await page.wait_for_function(
                """() => document.querySelector('#accounts tr[data-account="alice"]')?.cells[1].textContent === 'active'""",
                timeout=WAIT_MS,
            )
            await screenshot(page, "admin-accounts.png")
        other = await RawClient.connect(stack.chat.port)
        assert await sasl_plain(other, "a2", "alice", "set by the admin") == "903"
        await other.close()
    finally:
        await alice.close()
        await stop_stack(stack)
