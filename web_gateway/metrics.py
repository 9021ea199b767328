"""The gateway's Prometheus metrics: ``GET /metrics`` (prometheus-client text format).

One registry per app (tests build several apps in one process). Counters are named attributes of
``GatewayMetrics`` so any gateway module can count what it does (``metrics_of(app).api_posts.inc()``);
HTTP requests are counted by a small ASGI middleware, labelled by route template, never by raw
path, so label cardinality stays bounded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

router = APIRouter()


class _LinkCollector(Collector):
    """Whether the gateway's links to the TCP server, and its upstream nodes, are up, read at
    scrape time."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "tcpchat_gateway_irc_link_up", "1 when the gateway's link to the TCP server is registered", labels=["link"]
        )
        for name in ("oper_link", "poster_link"):
            link = getattr(self.app.state, name, None)
            if link is not None:
                family.add_metric([name.removesuffix("_link")], 1.0 if link.connected else 0.0)
        yield family
        pool = getattr(self.app.state, "upstreams", None)
        if pool is not None:  # what the last connection (or health check) learnt of each node
            nodes = GaugeMetricFamily(
                "tcpchat_gateway_upstream_up", "0 while a chat server node is marked down (1: up or not tried)",
                labels=["address"],
            )
            for node in pool.status():
                nodes.add_metric([node.address], 0.0 if node.state == "down" else 1.0)
            yield nodes


class GatewayMetrics:
    """The gateway's metrics, registered in a registry of their own."""

    def __init__(self, app: Any) -> None:
        r = self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "tcpchat_gateway_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=r
        )
        self.websockets = Gauge(
            "tcpchat_gateway_websockets", "Browser WebSockets open now", ["kind"], registry=r
        )
        self.api_posts = Counter(
            "tcpchat_gateway_api_messages_posted", "Messages posted through the HTTP API", registry=r
        )
        self.admin_logins = Counter(
            "tcpchat_gateway_admin_logins", "Admin login attempts by result", ["result"], registry=r
        )
        self.admin_kills = Counter(
            "tcpchat_gateway_admin_kills", "Connections killed from the admin page or API", registry=r
        )
        self.upstream_errors = Counter(
            "tcpchat_gateway_upstream_errors", "Admin/API queries the TCP server could not answer", registry=r
        )
        r.register(_LinkCollector(app))
        ProcessCollector(registry=r)


def metrics_of(app: Any) -> GatewayMetrics:
    """The app's metrics, created on first use."""
    metrics = getattr(app.state, "metrics", None)
    if metrics is None:
        metrics = app.state.metrics = GatewayMetrics(app)
    return metrics  # type: ignore[no-any-return]


class MetricsMiddleware:
    """Counts HTTP requests by method, route template and status (pure ASGI, no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics_of(scope["app"]).http_requests.labels(scope["method"], template, str(status)).inc()


@contextlib.contextmanager
def count_websocket(app: Any, kind: str) -> Iterator[None]:
    """Count an open browser WebSocket (``kind`` = json | irc) for as long as the block runs."""
    gauge = metrics_of(app).websockets.labels(kind)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def install(app: FastAPI) -> None:
    """Add the request-counting middleware and the ``/metrics`` route to ``app``."""
    app.add_middleware(MetricsMiddleware)
    app.include_router(router)
    metrics_of(app)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    return Response(generate_latest(metrics_of(request.app).registry), media_type=CONTENT_TYPE_LATEST)
