"""The FastAPI app factory: ``create_app(settings)``; ``tcpchat gateway`` runs it under uvicorn."""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from tcp_server import __version__

from .admin import router as admin_router
from .api import router as api_router
from .api.limits import JsonTooLarge
from .assets import STATIC_DIR, TEMPLATES_DIR
from .metrics import install as install_metrics
from .routes import router
from .security import ConnectionCounter, HostGuard, SecurityHeaders
from .settings import GatewaySettings
from .upstream import UpstreamPool

log = logging.getLogger("tcpchat.gateway")


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway app; ``app.state.settings`` is the one settings object every route reads."""
    settings = settings or GatewaySettings()
    app = FastAPI(
        title="tcpchat web gateway",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",  # the HTTP API's schema (web_gateway/api); no docs UI
    )
    app.state.settings = settings
    app.state.upstreams = UpstreamPool.from_settings(settings)  # the chat server nodes (upstream.py)
    if settings.webirc_password is None:
        log.warning(
            "TCPCHAT_WEBIRC_PASSWORD is unset: the chat server will see every web user as the "
            "gateway's own address; set the same password on server and gateway"
        )
    app.state.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    app.state.ws_counter = ConnectionCounter(settings.ws_max_per_ip)
    app.state.session_secret = (
        settings.session_secret.get_secret_value() if settings.session_secret else secrets.token_hex(32)
    )
    app.include_router(router)
    app.include_router(admin_router)
    app.include_router(api_router)
    install_metrics(app)  # GET /metrics and request counts (web_gateway/metrics.py)
    app.add_middleware(JsonTooLarge)  # bodies over the API/admin limits: 413 in JSON (api/limits.py)
    app.add_middleware(HostGuard, allowed_hosts=settings.hosts)  # DNS rebinding (security.py)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    # Outermost, around Starlette's own error handler too, so a 500 carries the headers as well.
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityHeaders(build_stack())  # type: ignore[method-assign]
    return app
