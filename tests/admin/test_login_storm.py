"""Admin logins in parallel: at most the limit of password checks per address, the rest 429.

The attempt is counted before the ~35 ms scrypt starts, so sending 200 wrong logins at once from
one address gets no more checks than sending them one by one. The same holds for HTTP Basic on
the admin API. A login form's CSRF token works once.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from ..admin_harness import ADMIN_PASSWORD, Stack, start_stack, stop_stack

ATTEMPTS = 5


@pytest.fixture
async def stack(make_server):  # type: ignore[no-untyped-def]
    s = await start_stack(make_server, admin_login_attempts=ATTEMPTS)
    yield s
    await stop_stack(s)


async def _form(url: str) -> tuple[httpx.AsyncClient, str]:
    """A new client holding a fresh login form's CSRF cookie, and the form's token."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as fetch:
        page = await fetch.get("/admin/login")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text
    # a new connection for the post (an idle keep-alive one may be closed by the server meanwhile)
    return httpx.AsyncClient(base_url=url, timeout=30, cookies=page.cookies), match.group(1)


async def test_200_parallel_wrong_logins_get_at_most_the_limit_checked(stack: Stack) -> None:
    forms = [await _form(stack.url) for _ in range(200)]

    async def attempt(http: httpx.AsyncClient, token: str) -> int:
        resp = await http.post("/admin/login", data={"username": "admin", "password": "wrong", "csrf": token})
        return resp.status_code

    try:
        codes = await asyncio.gather(*(attempt(h, t) for h, t in forms))
    finally:
        for h, _ in forms:
            await h.aclose()
    checked = codes.count(401)
    assert 1 <= checked <= ATTEMPTS
    assert codes.count(429) == 200 - checked
    # Requests refused while another check ran were not counted: the admin can still log in
    # unless the storm used up the whole window's attempts.
    http, token = await _form(stack.url)
    resp = await http.post("/admin/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf": token})
    assert resp.status_code == (303 if checked < ATTEMPTS else 429)
    await http.aclose()


async def test_200_parallel_wrong_basic_auth_calls_get_at_most_the_limit_checked(stack: Stack) -> None:
    async def call() -> int:
        resp = await stack.http.get("/api/admin/connections", auth=("admin", "wrong"))
        return resp.status_code

    codes = await asyncio.gather(*(call() for _ in range(200)))
    checked = codes.count(401)
    assert 1 <= checked <= ATTEMPTS
    assert codes.count(429) == 200 - checked


async def test_a_login_form_token_works_once(stack: Stack) -> None:
    http, token = await _form(stack.url)
    data = {"username": "admin", "password": ADMIN_PASSWORD, "csrf": token}
    first = await http.post("/admin/login", data=data)
    assert first.status_code == 303
    replay = await http.post("/admin/login", data=data)
    assert replay.status_code == 403 and "expired" in replay.text
    await http.aclose()
