"""The HTTP API (``/api/...``); ``router`` is included by ``create_app``.

Its lifespan creates the upstream links' owner at startup and closes the links when the app stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter

from .accounts import router as _accounts
from .routes import router as _routes
from .service import service_of


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    service_of(app)  # the upstream links connect on first use
    yield
    service = getattr(app.state, "chat_service", None)
    if service is not None:
        await service.close()


router = APIRouter(lifespan=_lifespan)
router.include_router(_routes)
router.include_router(_accounts)

__all__ = ["router"]
