"""``/ws`` against hostile frames (issue 10): lone surrogates and deep nesting get error events and
leave the socket usable; a socket that never says hello is closed after ``ws_hello_timeout``."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tcp_server.server import ChatServer

from ..browser import RunningGateway, start_gateway
from ..gateway_support import WsClient

HOSTILE_FRAMES = [
    ('{"type":"send","room":"#r","text":"\\ud800"}', "bad_field"),
    ('{"type":"send","room":"#r","text":"ok \\udfff ok"}', "bad_field"),
    ('{"type":"join","room":"#\\ud800"}', "bad_field"),
    ('{"type":"nick","nick":"a\\udc00"}', "bad_field"),
    ('{"type":"topic","room":"#r","text":"\\ud800"}', "bad_field"),
    ('{"type":"part","room":"#r","reason":"\\ud800"}', "bad_field"),
    ('{"type":"history","room":"#r","limit":5,"before":"\\ud800"}', "bad_field"),
    ('{"type":"\\ud800"}', "bad_type"),
    ('{"\\ud800":1}', "bad_type"),
    ("[" * 8000, "bad_json"),
    ("[" * 8000 + "]" * 8000, "bad_json"),
    ('{"a":' * 2500 + "1" + "}" * 2500, "bad_json"),
    ('{"type":"history","room":"#r","limit":' + "9" * 5000 + "}", "bad_json"),
    ('{"type":"history","room":"#r","limit":1e999}', "bad_field"),
    ('{"type":"history","room":"#r","limit":NaN}', "bad_field"),
    ('{"type":"send","room":["#r"],"text":{"t":"x"}}', "bad_field"),
]
"""(frame, error code): each one once killed the connection or could, by raising in the bridge."""


class Records(logging.Handler):
    """Every log record of the gateway and of uvicorn (which does not propagate to the root)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def problems(self) -> list[str]:
        """Warnings, errors and anything with a traceback."""
        return [
            f"{r.name}: {r.getMessage()}"
            for r in self.records
            if r.levelno >= logging.WARNING or r.exc_info or "Traceback" in r.getMessage()
        ]


@pytest.fixture
def gateway_log() -> Iterator[Records]:
    handler = Records()
    loggers = [logging.getLogger(name) for name in ("tcpchat", "uvicorn", "uvicorn.error", "")]
    for lg in loggers:
        lg.addHandler(handler)
    yield handler
    for lg in loggers:
        lg.removeHandler(handler)


async def test_surrogates_deep_nesting_and_huge_numbers_get_error_events_not_a_dead_socket(
    clients: Callable[..., Awaitable[Any]], gateway_log: Records
) -> None:
    alice: WsClient = await clients(ws="alice")
    bob = await clients(tcp="bob")
    await alice.join("#r")
    await bob.join("#r")
    for frame, code in HOSTILE_FRAMES:
        await alice.ws.send(frame)
        error = await alice.expect("error")
        assert error["code"] == code, (frame[:60], error)
    await alice.send(type="send", room="#r", text="still here")
    echo = await alice.expect("message")
    assert echo["text"] == "still here" and echo["self"]
    assert (await bob.expect("PRIVMSG")).params == ("#r", "still here")
    assert gateway_log.problems() == []


async def test_a_lone_surrogate_in_hello_is_refused_and_a_good_hello_then_works(
    gateway: RunningGateway, gateway_log: Records
) -> None:
    ws = await WsClient.open(gateway.ws_url)
    await ws.ws.send('{"type":"hello","nick":"\\ud83d"}')
    assert (await ws.expect("error"))["code"] == "bad_field"
    await ws.hello("carol")
    await ws.close()
    assert gateway_log.problems() == []


async def _closed_with(ws: Any) -> tuple[list[dict[str, Any]], int | None]:
    """Events received until the gateway closes the socket, and the close code."""
    events: list[dict[str, Any]] = []
    try:
        while True:
            events.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    except ConnectionClosed as closed:
        return events, closed.rcvd.code if closed.rcvd else None


async def test_a_socket_that_never_says_hello_is_closed_after_ws_hello_timeout(chat: ChatServer) -> None:
    gw = await start_gateway(chat.port, ws_hello_timeout=0.5)
    try:
        silent = await websockets.connect(gw.ws_url)
        chatty = await websockets.connect(gw.ws_url)  # frames, but never a hello: no excuse
        for _ in range(3):
            await chatty.send(json.dumps({"type": "join", "room": "#r"}))
        registered = await WsClient.open(gw.ws_url)
        await registered.hello("dave")
        events, code = await _closed_with(silent)
        assert [e["code"] for e in events if e["type"] == "error"] == ["hello_timeout"]
        assert code == 1000
        events, _ = await _closed_with(chatty)
        assert [e["code"] for e in events] == ["not_connected"] * 3 + ["hello_timeout"]
        # The registered browser is not affected: it still chats after the deadline.
        await registered.join("#r")
        await registered.send(type="send", room="#r", text="past the deadline")
        assert (await registered.expect("message"))["text"] == "past the deadline"
        await registered.close()
        for _ in range(100):  # the closed sockets no longer count against the address
            if gw.app.state.ws_counter.open == {}:
                break
            await asyncio.sleep(0.05)
        assert gw.app.state.ws_counter.open == {}
    finally:
        await gw.stop()
