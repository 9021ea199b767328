"""Fuzzing ``/ws`` of a real gateway process with arbitrary JSON (issue 10): lone surrogates, deep
nesting, huge and non-finite numbers, wrong types, valid commands in between. Every frame the
gateway cannot act on gets its ``error`` event, every event is JSON, the socket stays usable, and
the gateway logs no traceback.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from web_gateway.commands import CommandError, parse_command

from .support import Child, gateway_child, log_problems, server_child

MAX_FRAME = 16 * 1024
ROOMS = ["#fuzz", "#Fuzz", "#other", "#", "fuzz", "#a b", "#a,#b", "#\x00", "#\ud800", ""]
TYPES = ["hello", "join", "part", "send", "nick", "topic", "history", "", "HELLO", "sentinel"]
FIELDS = ["room", "nick", "text", "reason", "limit", "before", "kind"]

surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])
text = st.text(st.one_of(st.characters(), surrogate, st.sampled_from("\r\n\x00 ,:#@!*")), max_size=40)
numbers = st.one_of(
    st.integers(), st.integers(min_value=-(10**300), max_value=10**300),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 1, 200, 201, 2**63]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text, st.sampled_from(ROOMS))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
commands = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(TYPES), st.sampled_from(TYPES), scalars)},
    optional={name: st.one_of(json_values, st.sampled_from(ROOMS), text) for name in FIELDS},
)
deep = st.builds(
    lambda n, opener, closed: opener * n + ("" if not closed else {"[": "]", '{"a":': "}"}[opener] * n),
    st.integers(1, 8000), st.sampled_from(["[", '{"a":']), st.booleans(),
)
raw = st.one_of(
    deep,
    st.builds(lambda n: '{"type":"history","room":"#fuzz","limit":' + "9" * n + "}", st.integers(1, 9000)),
    st.sampled_from(["", "null", "NaN", "-Infinity", "{", "}", '{"type":', "\\ud800", '"\\ud800"']),
    text,
)
frames = st.one_of(
    commands.map(lambda c: json.dumps(c, ensure_ascii=True)),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=True)),
    raw.map(lambda s: s.encode("utf-8", "replace").decode("utf-8")),  # a text frame is UTF-8
)


class Stack:
    """A chat server and a gateway as processes, for the whole module (started once)."""

    def __init__(self, tmp: Path) -> None:
        self.server = server_child(tmp, "--no-history", "--flood-rate", "0", "--max-clients-per-ip", "0")
        self.gateway: Child | None = None
        self.tmp = tmp
        self.log_seen = 0

    def start(self) -> Stack:
        self.server.start()
        self.gateway = gateway_child(
            self.tmp, self.server.port, "--ws-rate", "0", "--ws-max-per-ip", "0", "--log-level", "INFO"
        ).start()
        return self

    @property
    def ws_url(self) -> str:
        assert self.gateway is not None
        return f"ws://127.0.0.1:{self.gateway.port}/ws"

    def new_log(self) -> str:
        """Gateway log written since the last call."""
        assert self.gateway is not None
        text = self.gateway.log_text()
        new, self.log_seen = text[self.log_seen:], len(text)
        return new

    def stop(self) -> None:
        for child in (self.gateway, self.server):
            if child is not None:
                child.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("fuzzws")).start()
    yield s
    s.stop()


NICKS = itertools.count()


def recv_event(ws: ClientConnection) -> dict[str, Any]:
    event = json.loads(ws.recv(timeout=10))
    assert isinstance(event, dict) and isinstance(event.get("type"), str), event
    return event


def until(ws: ClientConnection, pred: Any) -> list[dict[str, Any]]:
    """Events up to and including the first that matches ``pred`` (bounded by recv's timeout)."""
    got = []
    for _ in range(10_000):
        event = recv_event(ws)
        got.append(event)
        if pred(event):
            return got
    raise AssertionError("no matching event in 10,000")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(frames, min_size=1, max_size=8))
def test_arbitrary_json_frames_get_answers_and_leave_the_socket_usable(stack: Stack, script: list[str]) -> None:
    nick = f"fz{next(NICKS)}"
    with connect(stack.ws_url, max_size=2**22) as ws:
        ws.send(json.dumps({"type": "hello", "nick": nick}))
        until(ws, lambda e: e["type"] == "status" and e["state"] == "connected")
        for i, frame in enumerate(script):
            ws.send(frame)
            # A sentinel the gateway must refuse, after the frame: errors come back in order.
            ws.send(json.dumps({"type": f"sentinel-{i}"}))
            seen = until(ws, lambda e, i=i: e["type"] == "error" and f"sentinel-{i}" in e["message"])
            expected = parse_command(frame, MAX_FRAME)
            if isinstance(expected, CommandError):
                codes = [e["code"] for e in seen if e["type"] == "error"]
                assert codes[-2:] == [expected.code, "bad_type"], (frame[:80], seen[-3:])
        # Still usable: a fresh room, a line, its echo.
        ws.send(json.dumps({"type": "join", "room": f"#check-{nick}"}))
        until(ws, lambda e: e["type"] == "names" and e["room"] == f"#check-{nick}")
        ws.send(json.dumps({"type": "send", "room": f"#check-{nick}", "text": "still here"}))
        until(ws, lambda e: e["type"] == "message" and e["text"] == "still here" and e["self"])
    assert log_problems(stack.new_log()) == []
