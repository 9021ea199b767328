"""The admin page (``/admin``): login, live connections and rooms, kill; ``router`` is included by
``create_app``. Authentication lives in ``auth.py`` and is shared with the admin API."""

from __future__ import annotations

from .pages import router

__all__ = ["router"]
