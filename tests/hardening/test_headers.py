"""Every gateway response carries the usual security headers (issue 10, item 8): pages, the API,
static files, redirects and errors, including the 400 of the Host guard and a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tcp_server.server import ChatServer
from web_gateway.routes import PAGE_HEADERS
from web_gateway.security import DEFAULT_CSP, SECURITY_HEADERS

from ..browser import RunningGateway, start_gateway

REQUESTS = [
    ("GET", "/", {}, 200),
    ("GET", "/healthz", {}, 200),
    ("GET", "/static/app.js", {}, 200),
    ("GET", "/static/chat.css", {}, 200),
    ("GET", "/static/nope.js", {}, 404),
    ("GET", "/static/../web_gateway/settings.py", {}, 404),
    ("GET", "/api/openapi.json", {}, 200),
    ("GET", "/api/health", {}, 200),
    ("GET", "/api/rooms", {}, 200),
    ("GET", "/api/rooms/nochannel", {}, 404),
    ("GET", "/api/admin/connections", {"Authorization": "Basic YWRtaW46d3Jvbmc="}, 403),
    ("POST", "/api/rooms/%23r/messages", {"Authorization": "Bearer x"}, 403),
    ("GET", "/admin", {}, 403),  # admin is off in this gateway: the page says so
    ("GET", "/metrics", {}, 200),
    ("GET", "/no/such/page", {}, 404),
    ("DELETE", "/healthz", {}, 405),
    ("GET", "/", {"Host": "evil.example"}, 400),
    ("GET", "/boom", {}, 500),
]


@pytest.fixture
async def gateway(chat: ChatServer) -> AsyncIterator[RunningGateway]:
    gw = await start_gateway(chat.port)

    async def boom() -> None:
        raise RuntimeError("a bug in a route")

    gw.app.add_api_route("/boom", boom)  # stands for any route with a bug: Starlette answers 500
    yield gw
    await gw.stop()


async def test_every_response_carries_the_security_headers(gateway: RunningGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.http_url, timeout=10) as http:
        for method, path, headers, status in REQUESTS:
            response = await http.request(method, path, headers=headers)
            assert response.status_code == status, (method, path, response.text[:200])
            for name, value in SECURITY_HEADERS.items():
                assert response.headers.get(name) == value, (path, name)
            assert len(response.headers.get_list("X-Content-Type-Options")) == 1, path
            csp = response.headers.get_list("Content-Security-Policy")
            assert len(csp) == 1, (path, csp)
            assert "frame-ancestors 'none'" in csp[0], path


async def test_pages_keep_their_own_policy_and_everything_else_gets_the_closed_one(
    gateway: RunningGateway,
) -> None:
    async with httpx.AsyncClient(base_url=gateway.http_url, timeout=10) as http:
        page = await http.get("/")
        assert page.headers["Content-Security-Policy"] == PAGE_HEADERS["Content-Security-Policy"]
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        for path in ("/api/health", "/static/app.js", "/no/such/page"):
            assert (await http.get(path)).headers["Content-Security-Policy"] == DEFAULT_CSP
