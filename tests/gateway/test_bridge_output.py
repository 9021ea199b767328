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
    bridge.stop_writer()
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


class FakeDirect:
    """Just enough of ``ws_direct.DirectSocket``: ``pause``/``resume`` as the transport's flow control."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.frames: list[bytes] = []
        self.open = True
        self.paused = False

    def pause(self) -> None:
        self.paused = True
        self.writable.clear()

    def resume(self) -> None:
        self.paused = False
        self.writable.set()

    def send(self, frame: bytes) -> bool:
        if self.open:
            self.frames.append(frame)
        return self.open


class FakeSession:
    nick = "bob"

    def __init__(self) -> None:
        self.paused: list[bool] = []

    def pause_reading(self) -> None:
        self.paused.append(True)

    def resume_reading(self) -> None:
        self.paused.append(False)


def _direct_bridge(ws_queue: int = 16) -> tuple[Bridge, FakeDirect, FakeSession]:
    bridge, _ = _bridge(ws_queue)
    bridge.direct = direct = FakeDirect()  # type: ignore[assignment]
    bridge.session = session = FakeSession()  # type: ignore[assignment]
    return bridge, direct, session


def _payloads(frames: list[bytes]) -> list[str]:
    """The text of unmasked final text frames (RFC 6455 5.2: 7-bit, 16-bit or 64-bit length)."""
    out = []
    for f in frames:
        assert f[0] == 0x81 and not f[1] & 0x80
        n = f[1] & 0x7F
        start = 2 if n < 126 else 4 if n == 126 else 10
        out.append(f[start:].decode())
    return out


async def test_direct_frames_go_straight_out_and_a_chat_frame_is_built_once() -> None:
    line = parse_line(b"@msgid=m1;time=2026-01-01T00:00:00.000Z :alice!a@h PRIVMSG #r :hi")
    sent = []
    for _ in range(2):
        bridge, direct, _ = _direct_bridge()
        bridge.emit({"type": "status", "state": "connected", "nick": "bob"})
        [event] = EventDecoder(lambda: "bob").feed(line)
        bridge.on_upstream(event)
        assert json.loads(_payloads(direct.frames)[1])["text"] == "hi"
        sent.append(direct.frames[1])
    assert sent[0] is sent[1]  # the same frame bytes for every browser of the room


async def test_a_paused_browser_queues_frames_pauses_upstream_and_resumes_in_order() -> None:
    bridge, direct, session = _direct_bridge()
    writer = asyncio.create_task(bridge.writer())
    direct.pause()  # the browser's transport is paused (its socket buffer is full)
    for i in range(5):
        bridge.emit(str(i))
    assert direct.frames == [] and bridge.out.qsize() == 5
    assert session.paused == [True]  # reading from the chat server stopped once, not per frame
    await asyncio.sleep(0.01)
    direct.resume()
    async with asyncio.timeout(TIMEOUT):
        while len(direct.frames) < 5:
            await asyncio.sleep(0.001)
    assert _payloads(direct.frames) == ["0", "1", "2", "3", "4"]
    assert session.paused == [True, False]  # the queue is sent: reading again
    bridge.emit("5")
    assert _payloads(direct.frames)[-1] == "5"
    bridge.stop_writer()
    await asyncio.wait_for(writer, TIMEOUT)


async def test_a_direct_browser_that_never_reads_is_dropped_at_ws_queue() -> None:
    bridge, direct, _ = _direct_bridge(ws_queue=16)
    direct.pause()
    for i in range(40):
        bridge.emit(str(i))
    assert bridge.done.is_set() and bridge.out.qsize() == 16 and direct.frames == []
