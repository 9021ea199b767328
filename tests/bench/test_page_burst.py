"""bench/page_burst.py runs end to end at a tiny size (real server, gateway and Chromium) and reports
every line delivered once: the benchmark stays usable. Counts only, no times."""

from __future__ import annotations

import json

import pytest

from bench import page_burst

from ..browser import requires_chromium

pytestmark = [pytest.mark.browser, requires_chromium]


def test_page_burst_runs_and_loses_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    page_burst.main(["--sizes", "60", "--rates", "20", "--seconds", "1"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    runs = [r for r in lines if "run" in r]
    assert [(r["run"], r.get("room")) for r in runs] == [
        ("burst", "in view"), ("burst", "not in view"), ("steady", None)]
    assert all(r["lost"] == 0 and r["twice"] == 0 for r in runs)
    assert all(r["message_nodes"] <= 200 for r in runs)
    assert lines[-1]["summary"] == "page_burst"
