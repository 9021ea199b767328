"""A burst of big CHATHISTORY requests: served one at a time per client, paced by its socket.

Several clients each pipeline many requests of 1,000 rows and read slowly. The server keeps at
most about one chunk of each reply in its buffers (no client is dropped for its sendq, nothing
polls), every request is answered completely and in order, and a chatting user in another room
receives every line meanwhile.
"""

from __future__ import annotations

import asyncio
import socket
import tracemalloc

from tcp_server.protocol import parse_line

from ..support import RawClient

CAPS = "message-tags server-time echo-message batch draft/chathistory labeled-response"
ROWS = 1000


async def _fill(srv_port: int, count: int) -> None:
    writer = await RawClient.connect(srv_port)
    await writer.register("filler", CAPS)
    await writer.join("#big")
    for start in range(0, count, 100):
        await writer.send(*[f"PRIVMSG #big :{'x' * 150} {n}" for n in range(start, start + 100)])
        for _ in range(100):
            await writer.expect("PRIVMSG")
    await writer.close()


class _RawReader:
    """A client on a plain socket that reads only when told (an asyncio reader would buffer
    eagerly in this process and hide what the server holds back)."""

    def __init__(self, port: int, nick: str, requests: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        self.sock.connect(("127.0.0.1", port))
        lines = [
            "CAP LS 302", f"CAP REQ :{CAPS}", f"NICK {nick}", f"USER {nick} 0 * :x", "CAP END", "JOIN #big",
            *[f"@label=h{i} CHATHISTORY LATEST #big * {ROWS}" for i in range(requests)], f"PING after{nick}",
        ]
        self.sock.sendall("".join(line + "\r\n" for line in lines).encode())
        self.sock.setblocking(False)
        self.requests = requests
        self.buf = b""

    async def lines(self):  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        while True:
            while b"\r\n" not in self.buf:
                data = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), 60)
                assert data, "closed"
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            yield parse_line(line)


async def _read_batches(reader: _RawReader) -> list[tuple[str, int]]:
    """(label, rows) of each batch, in arrival order, up to the PONG."""
    out: list[tuple[str, int]] = []
    rows = 0
    label = ""
    async for m in reader.lines():
        if m.command == "BATCH" and m.params[0].startswith("+"):
            label, rows = m.tags.get("label", ""), 0
        elif m.command == "BATCH":
            out.append((label, rows))
        elif m.command == "PRIVMSG" and "batch" in m.tags:
            rows += 1
        elif m.command == "FAIL":
            raise AssertionError(m)
        elif m.command == "PONG":
            assert len(out) == reader.requests
            break
    reader.sock.close()
    return out


async def test_a_history_burst_is_paced_bounded_and_complete(make_server, tmp_path):
    srv = await make_server(
        history=True, data_dir=tmp_path, chathistory_max=ROWS, sendq=96 * 1024, chathistory_rate=0
    )
    await _fill(srv.port, ROWS)
    chatters = [await RawClient.connect(srv.port) for _ in range(2)]
    for i, c in enumerate(chatters):
        await c.register(f"chat{i}")
        await c.join("#calm")
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    readers = [_RawReader(srv.port, f"hist{i}", 8) for i in range(3)]
    peak = 0
    stop = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, max(conn.sendq_bytes for conn in srv.connections))
            await asyncio.sleep(0.005)

    async def chat() -> int:
        got = 0
        for n in range(50):
            await chatters[0].send(f"PRIVMSG #calm :calm {n}")
        while got < 50:
            m = await chatters[1].recv()
            assert m is not None
            got += m.command == "PRIVMSG"
        return got

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(1.0)  # the readers do not read yet: the server must hold back, not buffer
    held_back = peak
    grown = tracemalloc.get_traced_memory()[0] - before  # replies fetched and kept in memory
    tracemalloc.stop()
    print(f"held back {held_back} bytes in socket buffers, {grown} bytes allocated while nobody read")
    results = await asyncio.gather(chat(), *(_read_batches(r) for r in readers))
    stop.set()
    await watcher
    assert results[0] == 50
    for batches in results[1:]:
        assert batches == [(f"h{i}", ROWS) for i in range(8)]  # complete, in the order asked
    chunk = 32 * 1024
    assert held_back <= chunk + 4096  # one chunk in the socket buffer at most, not 8 x 1000 rows
    assert grown < 3 * 1024 * 1024  # about one reply per client in memory, not all 24 of them
    assert peak < 96 * 1024  # never near the sendq: nobody was dropped
    assert srv.state.counters.sendq_drops == 0
    for c in chatters:
        await c.close()


async def test_requests_over_the_rate_wait_and_are_all_answered(make_server, tmp_path):
    srv = await make_server(history=True, data_dir=tmp_path, chathistory_rate=20, chathistory_burst=2)
    c = await RawClient.connect(srv.port)
    await c.register("eager", CAPS)
    await c.join("#r")
    await c.send(*[f"@label=r{i} CHATHISTORY LATEST #r * 10" for i in range(6)], "PING done")
    labels = []
    while True:
        m = await c.recv()
        assert m is not None and m.command != "FAIL"
        if m.command == "BATCH" and m.params[0].startswith("+"):
            labels.append(m.tags["label"])
        if m.command == "PONG":
            break
    assert labels == [f"r{i}" for i in range(6)]
    await c.close()


async def test_too_many_waiting_requests_get_fail(make_server, tmp_path):
    srv = await make_server(history=True, data_dir=tmp_path, chathistory_queue=3, chathistory_rate=1, chathistory_burst=1)
    c = await RawClient.connect(srv.port)
    await c.register("greedy", CAPS)
    await c.join("#q")
    await c.send(*["CHATHISTORY LATEST #q * 10" for _ in range(5)])
    fail = await c.expect("FAIL")
    assert list(fail.params[:2]) == ["CHATHISTORY", "MESSAGE_ERROR"] and "Too many" in fail.params[-1]
    await c.close()
