"""The gateway's upstream nodes as the HTTP API shows them, with a server alone (one upstream)."""

from __future__ import annotations

from ..admin_harness import BASIC, Stack


async def test_one_server_health_lists_it_up_and_connections_have_no_node(stack: Stack) -> None:
    health = (await stack.http.get("/api/health")).json()
    assert health["status"] == "ok"
    assert health["irc"]["server"] == f"127.0.0.1:{stack.chat.port}"
    assert [(u["address"], u["state"]) for u in health["upstreams"]] == [(f"127.0.0.1:{stack.chat.port}", "up")]
    listing = (await stack.http.get("/api/admin/connections", auth=BASIC)).json()
    assert [c["node"] for c in listing["connections"]] == [None]  # the admin link, on a server alone
    assert listing["totals"]["by_node"] == {}
    nodes = await stack.http.get("/api/admin/upstreams", auth=BASIC)
    assert nodes.json()["upstreams"][0]["state"] == "up"
    assert (await stack.http.get("/api/admin/upstreams")).status_code == 401

