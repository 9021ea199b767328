"""The admin page (``/admin``): login, live connections and rooms, kill; ``router`` is included by
``create_app``. Authentication lives in ``auth.py`` and is shared with the admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter

from .auth import install_auth
from .pages import router as _pages


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    install_auth(app)  # hash the admin password once, before the first request
    yield


router = APIRouter(lifespan=_lifespan)
router.include_router(_pages)

__all__ = ["router"]
