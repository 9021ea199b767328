"""In-process cost of the server's per-message path (``python -m bench.hotpath``).

Builds a real ``ChatServer`` state with ``Connection`` objects on null transports (no sockets, so
no syscalls), registers and joins them through ``data_received`` like clients would, then feeds
``PRIVMSG`` lines and runs the output flusher. What is left is the Python work per message (frame,
parse, dispatch, relay, format, queue, join): the part of ``rooms`` that is ours to optimise,
measured without the noise of a shared machine. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import time
from pathlib import Path

from tcp_server.commands.history import install as install_history_hooks
from tcp_server.history.factory import open_history
from tcp_server.server import ChatServer
from tcp_server.settings import ServerSettings
from tcp_server.transport import Connection, OutputFlusher


class NullTransport:
    """Takes writes and forgets them; enough of the transport API for ``Connection``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.written = 0

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", self.port) if name == "peername" else default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def run(
    clients: int, rooms: int, messages: int, tagged_every: int, batch: int, history: bool = False
) -> dict[str, object]:
    tmp = tempfile.TemporaryDirectory(prefix="bench-hotpath-")
    settings = ServerSettings(  # type: ignore[call-arg]
        flood_rate=0, history=history, data_dir=Path(tmp.name), max_clients_per_ip=0
    )
    server = ChatServer(settings)
    server.flusher = flusher = OutputFlusher(asyncio.get_running_loop())
    if history:  # what ChatServer.start does, without listening
        server.state.history = await open_history(settings)
        install_history_hooks(server.state)
    conns: list[Connection] = []
    transports: list[NullTransport] = []
    for i in range(clients):
        conn = Connection(server)
        transport = NullTransport(10000 + i)
        conn.connection_made(transport)  # type: ignore[arg-type]
        caps = "CAP LS 302\r\nCAP REQ :message-tags server-time\r\nCAP END\r\n" if tagged_every and i % tagged_every == 0 else ""
        conn.data_received(f"{caps}NICK r{i}\r\nUSER r{i} 0 * :bench\r\nJOIN #room{i % rooms}\r\n".encode())
        conns.append(conn)
        transports.append(transport)
    flusher.flush()
    pad = "x" * 32
    lines = [
        b"".join(
            f"PRIVMSG #room{i % rooms} :{i} {s} {time.monotonic_ns()} {pad}\r\n".encode() for s in range(batch)
        )
        for i in range(clients)
    ]
    before = sum(t.written for t in transports)
    gc.collect()
    rounds = max(1, messages // (clients * batch))
    t0 = time.process_time()
    for _ in range(rounds):
        for conn, data in zip(conns, lines, strict=True):
            conn.data_received(data)
        flusher.flush()
    if server.state.history is not None:  # commit what is queued and send the acks, timed too
        await server.state.history.close()  # (the writer child's own CPU is not counted here)
    elapsed = time.process_time() - t0
    tmp.cleanup()
    sent = rounds * clients * batch
    members = clients // rooms
    deliveries = sent * (members - 1)
    return {
        "clients": clients,
        "rooms": rooms,
        "messages": sent,
        "us_per_message": round(elapsed * 1e6 / sent, 3),
        "us_per_delivery": round(elapsed * 1e6 / deliveries, 4),
        "bytes_out": sum(t.written for t in transports) - before,
        "history": history,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--rooms", type=int, default=50)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--tagged-every", type=int, default=2, help="every Nth client asks for tags (0: none)")
    ap.add_argument("--batch", type=int, default=1, help="lines per data_received")
    ap.add_argument("--repeat", type=int, default=3, help="best of N")
    ap.add_argument("--history", action="store_true", help="with the SQLite history store on")
    args = ap.parse_args()
    best = None
    for _ in range(args.repeat):
        res = asyncio.run(
            run(args.clients, args.rooms, args.messages, args.tagged_every, args.batch, args.history)
        )
        if best is None or res["us_per_message"] < best["us_per_message"]:  # type: ignore[operator]
            best = res
    print(json.dumps(best))


if __name__ == "__main__":
    main()
