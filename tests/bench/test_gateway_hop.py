"""bench.gateway_hop at a tiny size: JSON /ws and raw /ws/irc users get every line, the floor too."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("raw", [False, True], ids=["json", "raw"])
def test_gateway_hop_smoke(raw: bool, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.gateway_hop import main

    assert main(["--users", "3", "--messages", "10", "--rate", "50", *(["--raw"] if raw else [])]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["path"] == ("/ws/irc" if raw else "/ws")
    assert row["ws_deliveries"] == 30 and row["ws_lost"] == 0 and row["tcp_lost"] == 0
    assert row["floor_lost"] == 0
    assert row["gateway_rss_kib_per_user_after"] is not None
