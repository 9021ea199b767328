"""The admin pages: ``/admin`` (connections and rooms), login, logout, and the no-JS kill form.

The page is rendered with the server's current data, then ``static/admin.js`` refreshes it by
short polling of the JSON API every ``admin_poll_interval`` seconds. Every form that changes state
carries a CSRF token; the login form uses a signed double-submit cookie, the others the session's
own token.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..api.service import service_of
from ..metrics import metrics_of
from ..upstream import upstreams_of
from .auth import (
    ADMIN_OFF,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    USER,
    Session,
    auth_of,
    client_addr,
)

FORM_MAX_BODY = 8 * 1024
"""Largest form body the admin pages read (bytes)."""
log = logging.getLogger("tcpchat.gateway.admin")
router = APIRouter(prefix="/admin", include_in_schema=False, max_body_size=FORM_MAX_BODY)

ADMIN_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Own scripts and styles only, never framed, never cached (the page shows addresses)."""
FIELD_MAX = 1024
"""Longest login/kill form field accepted."""


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = request.app.state.templates.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(ADMIN_HEADERS)
    return response  # type: ignore[no-any-return]


def _off(request: Request) -> HTMLResponse:
    return _page(request, "admin_off.html", 403, message=ADMIN_OFF)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _login_page(request: Request, status: int = 200, error: str = "") -> HTMLResponse:
    cookie, token = auth_of(request).login_token()
    response = _page(request, "admin_login.html", status, csrf=token, error=error)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, cookie, httponly=True, samesite="strict", secure=_secure(request), path="/admin"
    )
    return response


def _to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("", response_class=HTMLResponse)
async def admin_page(request: Request) -> Response:
    """The admin page (logged in), else a redirect to the login form."""
    return await _admin_page(request, "")


async def _admin_page(request: Request, error: str) -> Response:
    auth = auth_of(request)
    if not auth.enabled:
        return _off(request)
    session = auth.session_of(request)
    if session is None:
        return _to("/admin/login")
    svc = service_of(request.app)
    problems = [error] if error else []
    connections = rooms = None
    try:
        connections = await svc.connections()
    except HTTPException as exc:
        problems.append(str(exc.detail))
    try:
        rooms = await svc.rooms(admin=True)
    except HTTPException as exc:
        if str(exc.detail) not in problems:
            problems.append(str(exc.detail))
    return _page(
        request,
        "admin.html",
        csrf=session.csrf,
        poll_ms=int(request.app.state.settings.admin_poll_interval * 1000),
        connections=connections,
        rooms=rooms,
        upstreams=upstreams_of(request.app).status(),
        problem=" ".join(problems),
    )


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    auth = auth_of(request)
    if not auth.enabled:
        return _off(request)
    if auth.session_of(request) is not None:
        return _to("/admin")
    return _login_page(request)


def _limited(request: Request, retry: int, addr: str) -> Response:
    """429 for an address over the login limit (no password was checked)."""
    metrics_of(request.app).admin_logins.labels("limited").inc()
    log.warning("admin login refused (rate limited) addr=%s", addr)
    response = _login_page(request, 429, f"Too many failed logins. Try again in {retry} s.")
    response.headers["Retry-After"] = str(retry)
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=FIELD_MAX)] = "",
    password: Annotated[str, Form(max_length=FIELD_MAX)] = "",
    csrf: Annotated[str, Form(max_length=FIELD_MAX)] = "",
) -> Response:
    """Check the credentials (rate limited per address) and open a session."""
    auth = auth_of(request)
    if not auth.enabled:
        return _off(request)
    metrics = metrics_of(request.app).admin_logins
    addr = client_addr(request)
    retry = auth.limiter.retry_after(addr)
    if retry:
        return _limited(request, retry, addr)
    if not auth.login_token_ok(request, csrf):
        metrics.labels("bad_csrf").inc()
        return _login_page(request, 403, "The form expired. Please try again.")
    result = await asyncio.to_thread(auth.check_limited, addr, username or USER, password)
    if result is not True and result is not False:
        return _limited(request, result, addr)
    if not result:
        metrics.labels("failed").inc()
        log.warning("admin login failed addr=%s", addr)
        return _login_page(request, 401, "Wrong user or password.")
    metrics.labels("ok").inc()
    log.info("admin login addr=%s", addr)
    cookie, _ = auth.open_session()
    response = _to("/admin")
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=auth.max_age,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
    return response


def _form_session(request: Request, csrf: str) -> Session | None:
    session = auth_of(request).session_of(request)
    if session is None or not hmac.compare_digest(csrf.encode(), session.csrf.encode()):
        return None
    return session


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str, Form(max_length=FIELD_MAX)] = "") -> Response:
    session = _form_session(request, csrf)
    if session is None:
        raise HTTPException(403, "missing or wrong CSRF token")
    auth_of(request).close_session(session)
    response = _to("/admin/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/kill")
async def kill_form(
    request: Request,
    conn_id: Annotated[int, Form(ge=-(2**62), le=2**62)],  # below zero: a user on another node
    reason: Annotated[str, Form(max_length=300)] = "",
    csrf: Annotated[str, Form(max_length=FIELD_MAX)] = "",
) -> Response:
    """The no-JavaScript kill button: KILL, then back to the page (which no longer lists it)."""
    if not auth_of(request).enabled:
        return _off(request)
    if _form_session(request, csrf) is None:
        raise HTTPException(403, "missing or wrong CSRF token (reload the admin page)")
    reason = " ".join(reason.split()) or "Disconnected by an administrator"
    log.info("admin kill id=%s reason=%r by addr=%s (form)", conn_id, reason, client_addr(request))
    try:
        await service_of(request.app).kill(conn_id, reason)
    except HTTPException as exc:
        return await _admin_page(request, f"kill failed: {exc.detail}")
    return _to("/admin")
