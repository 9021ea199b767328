"""The /admin pages over real HTTP: login (CSRF, rate limit, cookie flags), the rendered lists,
the session-authenticated API with its CSRF header, the no-JS kill form, logout, and admin off."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from tcp_server.server import ChatServer

from ..admin_harness import ADMIN_PASSWORD, Stack, start_stack, stop_stack
from ..support import RawClient


@pytest.fixture
async def stack(make_server: Callable[..., Awaitable[ChatServer]]) -> AsyncIterator[Stack]:
    s = await start_stack(make_server, admin_login_attempts=3)
    yield s
    await stop_stack(s)


def form_token(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def login(http: httpx.AsyncClient, password: str = ADMIN_PASSWORD) -> httpx.Response:
    page = await http.get("/admin/login")
    assert page.status_code == 200
    return await http.post(
        "/admin/login", data={"username": "admin", "password": password, "csrf": form_token(page.text)}
    )


async def test_admin_redirects_to_login_and_logs_in(stack: Stack) -> None:
    resp = await stack.http.get("/admin")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/admin/login"
    resp = await login(stack.http)
    assert resp.status_code == 303 and resp.headers["location"] == "/admin"
    cookie = next(v for k, v in resp.headers.multi_items() if k == "set-cookie" and v.startswith("tcpchat_admin="))
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert ADMIN_PASSWORD not in cookie
    page = await stack.http.get("/admin")
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers
    assert page.headers["cache-control"] == "no-store"
    assert 'id="connections"' in page.text and 'id="rooms"' in page.text


async def test_page_lists_connections_with_addresses_and_rooms(stack: Stack) -> None:
    alice = await (await RawClient.connect(stack.chat.port)).register("alice")
    await alice.join("#ops")
    await alice.send("TOPIC #ops :<b>not bold</b>")
    await alice.expect("TOPIC")
    port = alice.writer.get_extra_info("sockname")[1]
    await login(stack.http)
    page = (await stack.http.get("/admin")).text
    assert f"127.0.0.1:{port}" in page
    assert 'data-nick="alice"' in page
    assert 'data-room="#ops"' in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page  # text is escaped, never markup
    assert "this gateway" in page  # the operator link is marked and has no kill button
    await alice.close()


async def test_wrong_password_then_rate_limit(stack: Stack) -> None:
    codes = [(await login(stack.http, "wrong")).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    resp = await login(stack.http)  # the right password is refused while limited
    assert resp.status_code == 429
    assert "Too many failed logins" in resp.text
    assert int(resp.headers["retry-after"]) >= 1


async def test_login_without_the_form_token_is_refused(stack: Stack) -> None:
    resp = await stack.http.post("/admin/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert resp.status_code == 403
    await stack.http.get("/admin/login")  # has the cookie, but the form value is forged
    resp = await stack.http.post(
        "/admin/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf": "forged"}
    )
    assert resp.status_code == 403
    assert "tcpchat_admin" not in resp.cookies


async def test_session_cookie_works_for_the_api_and_delete_needs_csrf(stack: Stack) -> None:
    bob = await (await RawClient.connect(stack.chat.port)).register("bob")
    await login(stack.http)
    page = (await stack.http.get("/admin")).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    data = (await stack.http.get("/api/admin/connections")).json()
    bob_id = next(c["id"] for c in data["connections"] if c["nick"] == "bob")
    resp = await stack.http.delete(f"/api/admin/connections/{bob_id}")
    assert resp.status_code == 403
    assert "CSRF" in resp.json()["detail"]
    resp = await stack.http.delete(f"/api/admin/connections/{bob_id}", headers={"X-CSRF-Token": "nope"})
    assert resp.status_code == 403
    resp = await stack.http.delete(
        f"/api/admin/connections/{bob_id}", params={"reason": "bye"}, headers={"X-CSRF-Token": csrf}
    )
    assert resp.status_code == 200
    assert any(m.command == "ERROR" and "bye" in m.params[0] for m in await bob.read_until_closed())


async def test_kill_form_without_javascript(stack: Stack) -> None:
    carol = await (await RawClient.connect(stack.chat.port)).register("carol")
    await login(stack.http)
    page = (await stack.http.get("/admin")).text
    csrf = form_token(page)
    data = (await stack.http.get("/api/admin/connections")).json()
    carol_id = next(c["id"] for c in data["connections"] if c["nick"] == "carol")
    resp = await stack.http.post("/admin/kill", data={"conn_id": carol_id, "reason": "x", "csrf": "forged"})
    assert resp.status_code == 403
    resp = await stack.http.post("/admin/kill", data={"conn_id": carol_id, "reason": "form kill", "csrf": csrf})
    assert resp.status_code == 303
    assert 'data-nick="carol"' not in (await stack.http.get("/admin")).text
    assert any(m.command == "ERROR" and "form kill" in m.params[0] for m in await carol.read_until_closed())
    resp = await stack.http.post("/admin/kill", data={"conn_id": carol_id, "csrf": csrf})
    assert resp.status_code == 200
    assert f"kill failed: no connection with id {carol_id}" in resp.text


async def test_logout_ends_the_session(stack: Stack) -> None:
    await login(stack.http)
    page = (await stack.http.get("/admin")).text
    cookie = stack.http.cookies.get("tcpchat_admin")
    resp = await stack.http.post("/admin/logout", data={"csrf": "forged"})
    assert resp.status_code == 403
    resp = await stack.http.post("/admin/logout", data={"csrf": form_token(page)})
    assert resp.status_code == 303
    # the old cookie no longer opens the page or the API, even if replayed
    async with httpx.AsyncClient(base_url=stack.url, cookies={"tcpchat_admin": cookie}) as other:
        assert (await other.get("/admin")).status_code == 303
        assert (await other.get("/api/admin/connections")).status_code == 401


async def test_forged_session_cookie_is_ignored(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url, cookies={"tcpchat_admin": "abc.def.ghi"}) as other:
        assert (await other.get("/admin")).status_code == 303
        assert (await other.get("/api/admin/connections")).status_code == 401


async def test_admin_off_says_how_to_turn_it_on(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, admin_password=None)
    try:
        for path in ("/admin", "/admin/login"):
            resp = await stack.http.get(path)
            assert resp.status_code == 403
            assert "TCPCHAT_ADMIN_PASSWORD" in resp.text
        resp = await stack.http.post("/admin/login", data={"username": "admin", "password": ""})
        assert resp.status_code == 403
    finally:
        await stop_stack(stack)


async def test_page_shows_the_reason_when_the_server_is_down(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server)
    try:
        await login(stack.http)
        await stack.chat.shutdown()
        page = await stack.http.get("/admin")
        assert page.status_code == 200
        assert "cannot reach the TCP chat server" in page.text or "closed" in page.text
    finally:
        await stop_stack(stack)


async def test_page_without_operator_credentials_still_shows_rooms(make_server) -> None:  # type: ignore[no-untyped-def]
    stack = await start_stack(make_server, oper_password=None)
    try:
        alice = await (await RawClient.connect(stack.chat.port)).register("alice")
        await alice.join("#visible")
        await login(stack.http)
        page = (await stack.http.get("/admin")).text
        assert "TCPCHAT_OPER_PASSWORD" in page
        assert 'data-room="#visible"' in page
        await alice.close()
    finally:
        await stop_stack(stack)
