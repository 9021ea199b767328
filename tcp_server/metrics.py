"""The server's Prometheus exporter on ``metrics_port``: ``GET /metrics``.

The state already counts (``ServerState.counters``, per-client lines and bytes), so a collector
reads it at scrape time instead of adding counters to the hot path. The endpoint is served from
the server's own event loop (no thread), so the collector reads the state without locks; h11
parses the request, bounded in size and time.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import h11
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from .server import ChatServer
    from .state import Client

log = logging.getLogger("tcpchat.metrics")

MAX_REQUEST_BYTES = 8 * 1024
"""Largest scrape request (line + headers) accepted; a security limit."""
REQUEST_TIMEOUT = 5.0
"""Seconds a scraper has to send its request and read the answer."""
TRANSPORTS = ("tcp", "tls", "web")


class _Departed:
    """Lines and bytes of connections that have closed, so the totals never go backwards."""

    __slots__ = ("lines_in", "lines_out", "bytes_in", "bytes_out")

    def __init__(self) -> None:
        self.lines_in = self.lines_out = self.bytes_in = self.bytes_out = 0

    def add(self, client: Client, _reason: str) -> None:
        self.lines_in += client.msgs_in
        self.lines_out += client.msgs_out
        self.bytes_in += client.bytes_in
        self.bytes_out += client.bytes_out


class StateCollector(Collector):
    """Reads one ChatServer's state at scrape time."""

    def __init__(self, chat: ChatServer) -> None:
        self.chat = chat
        self.departed = _Departed()
        chat.state.on_disconnect.append(self.departed.add)

    def collect(self) -> Iterator[Metric]:
        state = self.chat.state
        counters = state.counters
        clients = list(state.clients.values())
        gone = self.departed
        by_transport = dict.fromkeys(TRANSPORTS, 0)
        lines_in, lines_out, bytes_in, bytes_out, sendq = (
            gone.lines_in, gone.lines_out, gone.bytes_in, gone.bytes_out, 0,
        )
        registered = 0
        for c in clients:
            by_transport[c.transport] = by_transport.get(c.transport, 0) + 1
            registered += c.registered
            lines_in += c.msgs_in
            lines_out += c.msgs_out
            bytes_in += c.bytes_in
            bytes_out += c.bytes_out
            sendq += c.outbox.sendq_bytes

        open_ = GaugeMetricFamily("tcpchat_connections", "Connections open now", labels=["transport"])
        for transport, count in sorted(by_transport.items()):
            open_.add_metric([transport], count)
        yield open_
        yield GaugeMetricFamily("tcpchat_registered_clients", "Registered clients now", value=registered)
        yield GaugeMetricFamily("tcpchat_channels", "Channels that exist now", value=len(state.channels))
        yield GaugeMetricFamily("tcpchat_sendq_bytes", "Bytes queued to clients now (all sendqs)", value=sendq)
        yield CounterMetricFamily(
            "tcpchat_connections_accepted", "Connections accepted since start", value=counters.connections
        )
        yield CounterMetricFamily(
            "tcpchat_chat_messages", "PRIVMSG/NOTICE messages relayed", value=counters.messages
        )
        yield CounterMetricFamily("tcpchat_lines_received", "IRC lines received", value=lines_in)
        yield CounterMetricFamily("tcpchat_lines_sent", "IRC lines sent", value=lines_out)
        yield CounterMetricFamily("tcpchat_received_bytes", "Bytes received from clients", value=bytes_in)
        yield CounterMetricFamily("tcpchat_sent_bytes", "Bytes sent to clients", value=bytes_out)
        yield CounterMetricFamily(
            "tcpchat_sendq_drops", "Clients dropped for exceeding their sendq", value=counters.sendq_drops
        )
        yield CounterMetricFamily("tcpchat_kills", "Connections killed by operators", value=counters.kills)
        yield CounterMetricFamily(
            "tcpchat_flood_disconnects", "Clients dropped for flooding", value=counters.floods
        )
        yield GaugeMetricFamily(
            "tcpchat_start_time_seconds", "Unix time the server started", value=state.created
        )
        link = self.chat.cluster
        if link is not None:
            yield GaugeMetricFamily(
                "tcpchat_cluster_redis_up", "1 while this node reaches Redis (0: serving its own users alone)",
                value=1.0 if link.bus.up else 0.0,
            )
            yield GaugeMetricFamily(
                "tcpchat_cluster_remote_users", "Users connected to other nodes", value=len(link.bus.mirror.node_of)
            )
            yield CounterMetricFamily(
                "tcpchat_cluster_missed_events", "Channel events missed (sequence gaps)", value=link.bus.gaps
            )
            yield CounterMetricFamily(
                "tcpchat_cluster_filled_messages", "Missed channel messages delivered from history",
                value=link.bus.filled,
            )
        yield GaugeMetricFamily(
            "tcpchat_history_enabled", "1 when messages are stored and CHATHISTORY is offered",
            value=1.0 if state.history is not None else 0.0,
        )


def build_registry(chat: ChatServer) -> CollectorRegistry:
    """A registry of its own per server (tests run several servers in one process)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(chat))
    ProcessCollector(registry=registry)
    return registry


def _response(conn: h11.Connection, status: int, body: bytes, content_type: str) -> bytes:
    headers = [
        ("content-type", content_type),
        ("content-length", str(len(body))),
        ("connection", "close"),
    ]
    out = conn.send(h11.Response(status_code=status, headers=headers)) or b""
    out += conn.send(h11.Data(data=body)) or b""
    return out + (conn.send(h11.EndOfMessage()) or b"")


async def _read_request(reader: asyncio.StreamReader, conn: h11.Connection) -> h11.Request | None:
    while True:
        event = conn.next_event()
        if isinstance(event, h11.Request):
            return event
        if event is not h11.NEED_DATA:
            return None
        conn.receive_data(await reader.read(4096))


def make_handler(registry: CollectorRegistry):  # type: ignore[no-untyped-def]
    """An asyncio stream handler answering ``GET /metrics`` (one request per connection)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BYTES)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                request = await _read_request(reader, conn)
                if request is None:
                    return
                path = request.target.split(b"?", 1)[0]
                if request.method not in (b"GET", b"HEAD"):
                    data = _response(conn, 405, b"method not allowed\n", "text/plain; charset=utf-8")
                elif path in (b"/metrics", b"/"):
                    body = generate_latest(registry) if request.method == b"GET" else b""
                    data = _response(conn, 200, body, CONTENT_TYPE_LATEST)
                else:
                    data = _response(conn, 404, b"not found: try /metrics\n", "text/plain; charset=utf-8")
                writer.write(data)
                await writer.drain()
        except h11.RemoteProtocolError as exc:
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                status = exc.error_status_hint
                writer.write(_response(conn, status, b"bad request\n", "text/plain; charset=utf-8"))
        except (TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.close()

    return handle


def start_metrics(chat: ChatServer, host: str, port: int) -> None:
    """Serve ``chat``'s metrics on ``host:port`` (0 picks a free port; the address is printed).

    The socket is bound now, so the chosen port is known when this returns; it is recorded in
    ``chat.addresses`` as kind ``metrics`` and closed by ``chat.shutdown()`` with the listeners.
    """
    registry = build_registry(chat)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(chat.settings.listen_backlog)
    sock.setblocking(False)
    addr = sock.getsockname()
    chat.addresses.append((addr[0], addr[1], "metrics"))
    chat.metrics_registry = registry  # type: ignore[attr-defined]
    print(f"metrics listening on {addr[0]}:{addr[1]}", flush=True)
    log.info("metrics listening on %s:%s", addr[0], addr[1])

    async def serve() -> None:
        server = await asyncio.start_server(make_handler(registry), sock=sock)
        chat.listeners.append(server)

    def closed_if_cancelled(task: asyncio.Task[None]) -> None:
        if task.cancelled():
            sock.close()

    task = asyncio.get_running_loop().create_task(serve())
    task.add_done_callback(closed_if_cancelled)
    chat._tasks.append(task)  # keeps a reference; shutdown cancels it if still pending
