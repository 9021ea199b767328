"""The HTTP API (``/api/...``); ``router`` is included by ``create_app``.

Its lifespan closes the upstream links when the app stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter

from .routes import router as _routes


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    yield
    service = getattr(app.state, "chat_service", None)
    if service is not None:
        await service.close()


router = APIRouter(lifespan=_lifespan)
router.include_router(_routes)

__all__ = ["router"]
