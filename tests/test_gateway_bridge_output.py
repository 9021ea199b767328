"""Bridge output path in memory: frames sent at once when the socket takes them, a send that has to
wait finished by the writer in order, a stuck browser dropped at ``ws_queue``, and the shared
JSON text of a chat line."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from tcp_client.decode import EventDecoder
from tcp_client.events import ServerLine, SessionStatus
from tcp_client.queue import EventQueue
from tcp_server.protocol import parse_line
from web_gateway.bridge import Bridge
from web_gateway.settings import GatewaySettings

TIMEOUT = 5.0


class FakeWs:
    """Just enough of Starlette's WebSocket: ``send_text`` waits while ``writable`` is clear."""

    def __init__(self) -> None:
        self.client = SimpleNamespace(host="127.0.0.1")
        self.writable = asyncio.Event()
        self.writable.set()
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        await self.writable.wait()
        self.sent.append(text)


def _bridge(ws_queue: int = 16) -> tuple[Bridge, FakeWs]:
    ws = FakeWs()
    bridge = Bridge(ws, GatewaySettings(ws_queue=ws_queue))  # type: ignore[arg-type]
    return bridge, ws


async def test_frames_go_out_at_once_when_the_socket_takes_them() -> None:
    bridge, ws = _bridge()
    bridge.emit({"type": "status", "state": "connected", "nick": "a"})
    bridge.emit("already-encoded")
    assert ws.sent == ['{"type":"status","state":"connected","nick":"a"}', "already-encoded"]
    assert bridge.out.empty()


async def test_a_send_that_waits_is_finished_by_the_writer_in_order() -> None:
    bridge, ws = _bridge()
    writer = asyncio.create_task(bridge.writer())
    ws.writable.clear()  # the browser's socket is full
    for i in range(5):
        bridge.emit(str(i))
    assert ws.sent == [] and bridge.out.qsize() == 5
    await asyncio.sleep(0.01)
    ws.writable.set()
    async with asyncio.timeout(TIMEOUT):
        while len(ws.sent) < 5:
            await asyncio.sleep(0.001)
    assert ws.sent == ["0", "1", "2", "3", "4"]
    bridge.emit("5")  # idle again: straight out
    assert ws.sent[-1] == "5"
    bridge.out.put_nowait(None)
    await asyncio.wait_for(writer, TIMEOUT)


async def test_a_stuck_browser_fills_the_queue_and_is_dropped_and_the_writer_cancels() -> None:
    bridge, ws = _bridge(ws_queue=16)
    writer = asyncio.create_task(bridge.writer())
    ws.writable.clear()
    for i in range(40):
        bridge.emit(str(i))
    assert bridge.done.is_set()
    assert bridge.out.qsize() == 16
    await asyncio.sleep(0.01)
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    assert writer.cancelled() and ws.sent == []


async def test_a_chat_line_is_encoded_once_and_self_is_per_browser() -> None:
    line = b"@msgid=m1;time=2026-01-01T00:00:00.000Z :alice!a@h PRIVMSG #r :hi"
    msg = parse_line(line)
    outputs: list[dict[str, Any]] = []
    texts = []
    for nick in ("bob", "carol", "alice"):
        bridge, ws = _bridge()
        bridge.session = SimpleNamespace(nick=nick)  # type: ignore[assignment]
        [event] = EventDecoder(lambda nick=nick: nick).feed(msg)  # one decoder per session
        bridge.on_upstream(event)
        texts.append(ws.sent[0])
        outputs.append(json.loads(ws.sent[0]))
    assert texts[0] is texts[1]  # the same text object: built once
    assert [o["self"] for o in outputs] == [False, False, True]
    assert outputs[0] == {
        "type": "message",
        "id": "m1",
        "time": "2026-01-01T00:00:00.000Z",
        "from": "alice",
        "text": "hi",
        "kind": "privmsg",
        "self": False,
        "room": "#r",
    }


async def test_event_queue_listen_hands_over_queued_events_then_live_ones_and_the_end_once() -> None:
    q = EventQueue(4)
    q.put(SessionStatus("connecting", "a"))
    q.put(SessionStatus("connected", "a"))
    got: list[Any] = []
    q.listen(got.append)
    q.put(ServerLine("PING", ("x",)))
    q.finish(SessionStatus("closed", "a", "bye"))
    q.finish(SessionStatus("closed", "a", "again"))
    q.put(ServerLine("PING", ("late",)))
    assert [getattr(e, "state", None) or e.command for e in got] == [
        "connecting",
        "connected",
        "PING",
        "closed",
    ]
    assert got[-1].reason == "bye"
