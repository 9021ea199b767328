"""Admin API: deleting an account (``DELETE /api/admin/accounts/{name}``, ACCOUNTADMIN DROP) with
a real server and gateway: the account's session is logged out, its logins fail, its nick is free."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tcp_server.server import ChatServer

from ..accounts_support import ACCOUNTS, register_account, sasl_plain
from ..admin_harness import BASIC, Stack, start_stack, stop_stack
from ..support import RawClient

PW = "correct horse battery"


@pytest.fixture
async def stack(make_server: Callable[..., Awaitable[ChatServer]], tmp_path: Any) -> AsyncIterator[Stack]:
    s = await start_stack(make_server, {"data_dir": tmp_path, **ACCOUNTS})
    yield s
    await stop_stack(s)


async def test_delete_account_logs_it_out_and_refuses_its_logins(stack: Stack) -> None:
    opened: list[RawClient] = []

    async def dial() -> RawClient:
        opened.append(await RawClient.connect(stack.chat.port))
        return opened[-1]

    alice = await dial()
    await register_account(alice, "alice", PW, "account-notify")
    resp = await stack.http.delete("/api/admin/accounts/alice", auth=BASIC)
    assert resp.status_code == 200 and resp.json() == {"name": "alice", "action": "drop", "result": "done"}
    assert (await alice.expect("901")).params[-1] == "You are now logged out"
    names = [a["name"] for a in (await stack.http.get("/api/admin/accounts", auth=BASIC)).json()["accounts"]]
    assert "alice" not in names
    assert await sasl_plain(await dial(), "a1", "alice", PW) == "904"
    assert (await stack.http.delete("/api/admin/accounts/alice", auth=BASIC)).status_code == 404
    assert (await stack.http.delete("/api/admin/accounts/alice")).status_code == 401
    again = await dial()  # the name can be registered anew
    await alice.send("NICK someone_else")
    await alice.expect("NICK")
    await register_account(again, "alice", "another long secret")
    for c in opened:
        await c.close()
