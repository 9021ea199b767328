"""``python -m bench SCENARIO|all [--quick] [--runs N] [--targets ours,prev,ngircd]``.

Prints one JSON line per scenario (medians over runs, ratios ours/reference), then one JSON line
with the issue's targets met or not; progress goes to stderr. ``--table`` adds a markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from .procstat import raise_fd_limit
from .report import check_targets, markdown
from .runner import SCENARIOS, Targets, run_gateway, run_history, run_scenario
from .scenarios import Params
from .targets import resolve_prev_ref

ALL = ("fanout", "rooms", "latency", "connect", "idle", "history", "gateway")
QUICK = {
    "messages": 1000,
    "room_messages": 200,
    "latency_seconds": 2.0,
    "idle_clients": 10_000,
    "idle_seconds": 2.0,
    "gateway_messages": 150,
    "timeout": 45.0,
}
"""``--quick``: the issue's client counts with fewer messages (each relay measurement still
lasts about a second, so 10 ms CPU ticks stay under 2%)."""
FD_HEADROOM = 200


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("scenario", choices=(*ALL, "all"), help="what to run")
    ap.add_argument("--quick", action="store_true", help="fewer messages per run (same client counts)")
    ap.add_argument("--runs", type=int, default=1, help="runs per target; medians are reported")
    ap.add_argument("--targets", default="ours,ngircd,prev", help="comma list of ours, ngircd, prev")
    ap.add_argument("--prev-ref", default=None, help="git ref for 'prev' (default HEAD~1)")
    ap.add_argument("--ours-ref", default=None, help="run 'ours' from this commit (default: working tree)")
    ap.add_argument("--table", action="store_true", help="also print a markdown table")
    ap.add_argument("--full", action="store_true", help="every receiver parses every line (no light mode)")
    for f in dataclasses.fields(Params):
        if f.name == "light":
            continue
        ap.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=None)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    values = dict(QUICK) if args.quick else {}
    for f in dataclasses.fields(Params):
        given = getattr(args, f.name, None)
        if given is not None:
            values[f.name] = given
    params = Params(**values, light=not args.full)
    if params.clients < 2 or params.senders < 1 or params.senders > params.clients:
        raise SystemExit("need clients >= 2 and 1 <= senders <= clients")
    raise_fd_limit(max(params.idle_clients, params.connect_clients, params.clients) * 2 + FD_HEADROOM)
    scenarios = ALL if args.scenario == "all" else (args.scenario,)
    names = [t.strip() for t in args.targets.split(",") if t.strip()]
    summaries = {}
    targets = Targets(
        names, resolve_prev_ref(args.prev_ref) if "prev" in names else None, args.ours_ref
    )
    try:
        for scenario in scenarios:
            if scenario == "history":
                summary = run_history(params, args.runs, targets.ours_path)
            elif scenario == "gateway":
                summary = run_gateway(params, args.runs)
            else:
                assert scenario in SCENARIOS
                summary = run_scenario(scenario, targets, params, args.runs)
            summaries[scenario] = summary
            print(json.dumps(summary), flush=True)
    finally:
        targets.close()
    print(json.dumps({"targets": check_targets(summaries)}), flush=True)
    if args.table:
        print(markdown(summaries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
