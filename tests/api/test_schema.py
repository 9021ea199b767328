"""Schemathesis over the gateway's OpenAPI schema: generated requests to every ``/api`` operation
against a real uvicorn gateway and a real TCP chat server; no 500s, and every response (status,
content type, body) matches the published schema.

Schemathesis calls are synchronous (requests), so the server and the gateway run in a thread with
their own event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tcp_server.server import ChatServer
from tcp_server.settings import ServerSettings
from web_gateway.app import create_app
from web_gateway.settings import GatewaySettings

from ..admin_harness import ADMIN_PASSWORD, API_TOKEN, OPER_PASSWORD
from ..browser import start_gateway
from ..support import RawClient

EXAMPLES = 30
"""Generated requests per operation (bounded: the file must run in well under a minute)."""
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]


class LiveStack:
    """A chat server (history on) and a gateway in a background event loop."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.url = ""
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        try:
            chat = ChatServer(
                ServerSettings(
                    port=0, history=True, data_dir=self.data_dir, flood_rate=0, use_uvloop=False,
                    oper_password=OPER_PASSWORD,
                )
            )
            await chat.start()
            gw = await start_gateway(
                chat.port, oper_password=OPER_PASSWORD, admin_password=ADMIN_PASSWORD, api_token=API_TOKEN,
                api_timeout=3.0, api_post_rate=50.0, api_post_burst=50, admin_login_attempts=1000, api_read_rate=0,
            )
            resident = await (await RawClient.connect(chat.port)).register("resident")
            await resident.join("#lobby")
            await resident.send("TOPIC #lobby :generated requests land here", "PRIVMSG #lobby :hello")
        except BaseException as exc:  # reported to the test thread
            self.error = exc
            self.ready.set()
            return
        self.url = gw.http_url
        self.ready.set()
        await self.stop.wait()
        await resident.close()
        await gw.stop()
        await chat.shutdown()

    def __enter__(self) -> LiveStack:
        self.thread.start()
        self.ready.wait(30)
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with LiveStack(str(tmp_path_factory.mktemp("history"))) as stack:
        yield stack


def published_schema() -> dict[str, Any]:
    """The schema the gateway serves at /api/openapi.json (checked equal in the test)."""
    return create_app(GatewaySettings()).openapi()


schema = schemathesis.openapi.from_dict(published_schema()).include(path_regex="^/api/")


def auth_for(path: str) -> dict[str, str]:
    if path.startswith("/api/admin"):
        import base64

        return {"Authorization": "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()}
    return {"Authorization": f"Bearer {API_TOKEN}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_matches_its_schema(case: Any, live: LiveStack) -> None:
    case.call_and_validate(base_url=live.url, headers=auth_for(case.operation.path), checks=CHECKS, timeout=15)


def test_served_schema_is_the_one_tested(live: LiveStack) -> None:
    import httpx

    served = httpx.get(f"{live.url}/api/openapi.json", timeout=10).json()
    assert served == published_schema()
