"""The HTTP API routes (``/api/...``): thin wrappers over ``ChatService``; documented in OpenAPI."""

from __future__ import annotations

import hmac
import logging
import math
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from ..admin.auth import Session, is_admin, require_admin
from .limits import PerClientLimiter
from .models import (
    ConnectionList,
    ErrorBody,
    Health,
    Killed,
    MessagePage,
    Posted,
    PostMessage,
    RoomDetail,
    RoomList,
    UpstreamList,
)
from .replies import BadInput, history_ref, normalize_room
from .service import ChatService, service_of

log = logging.getLogger("tcpchat.gateway.admin")


async def read_limit(request: Request) -> None:
    """429 when this client address asks more than ``api_read_rate`` queries per second."""
    limiter = getattr(request.app.state, "api_read_limiter", None)
    if limiter is None:
        s = request.app.state.settings
        limiter = request.app.state.api_read_limiter = PerClientLimiter(s.api_read_rate, s.api_read_burst)
    wait = limiter.retry_after(request.client.host if request.client else "unknown")
    if wait:
        retry = max(1, math.ceil(wait))
        raise HTTPException(
            429, f"too many API queries from this address; retry in {retry} s", headers={"Retry-After": str(retry)}
        )


API_MAX_BODY = 16 * 1024
"""Largest request body the API reads (bytes); beyond it 413 before the body is buffered."""
router = APIRouter(prefix="/api", max_body_size=API_MAX_BODY, dependencies=[Depends(read_limit)])

ROOM = Path(
    description="Room name; the leading # may be left out (lobby = #lobby) or sent as %23",
    max_length=200,
)
DEFAULT_LIMIT = 50
NO_STORE = {"Cache-Control": "no-store"}
"""Admin data (addresses) is never cached by browsers or proxies."""
KILL_REASON_MAX = 300
SEARCH_MAX = 200
"""Longest search text (the server's SEARCH takes up to 200 bytes)."""


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    text = {
        400: "Bad input (room name, before/after)",
        401: "Credentials missing or wrong",
        403: "Not allowed (feature off, CSRF, or the server refused)",
        404: "No such room or connection",
        409: "Conflicts with the gateway's own operator link",
        413: f"Request body over {API_MAX_BODY} bytes",
        422: "Invalid parameters or body",
        429: "Rate limited; see Retry-After",
        503: "The TCP server is unreachable, history is off, or the operator link is not an operator",
    }
    return {code: {"model": ErrorBody, "description": text[code]} for code in codes}


def service(request: Request) -> ChatService:
    return service_of(request.app)


Service = Annotated[ChatService, Depends(service)]
Admin = Annotated[bool, Depends(is_admin)]
"""Optional admin credentials: anonymous callers see public rooms only."""


def room_name(svc: ChatService, raw: str) -> str:
    try:
        return normalize_room(raw, svc.channel_len)
    except BadInput as exc:
        raise HTTPException(400, str(exc)) from None


def require_token(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """``Authorization: Bearer <TCPCHAT_API_TOKEN>`` (posting is off without a token configured)."""
    token = request.app.state.settings.api_token
    if token is None:
        raise HTTPException(403, "posting through the API is off: set TCPCHAT_API_TOKEN on the gateway")
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise HTTPException(
            401, "send Authorization: Bearer <TCPCHAT_API_TOKEN>", headers={"WWW-Authenticate": "Bearer"}
        )
    if not hmac.compare_digest(value.strip().encode(), token.get_secret_value().encode()):
        raise HTTPException(401, "wrong API token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


@router.get("/health", response_model=Health, responses=_errors(429, 503))
async def health(svc: Service) -> JSONResponse:
    """Liveness of the gateway and of its operator link to the TCP server (503 when the link is down)."""
    result = await svc.health()
    return JSONResponse(result.model_dump(), status_code=200 if result.status == "ok" else 503)


@router.get("/rooms", response_model=RoomList, responses=_errors(401, 429, 503))
async def rooms(svc: Service, admin: Admin) -> RoomList:
    """Rooms with member count, topic, modes and message rate (secret/private ones: admins only)."""
    return RoomList(rooms=await svc.rooms(admin))


@router.get("/rooms/{room}", response_model=RoomDetail, responses=_errors(400, 401, 404, 429, 503))
async def room(svc: Service, admin: Admin, room: Annotated[str, ROOM]) -> RoomDetail:
    """One room with its members (secret/private ones: admins only)."""
    return await svc.room(room_name(svc, room), admin)


@router.get("/rooms/{room}/messages", response_model=MessagePage, responses=_errors(400, 401, 404, 429, 503))
async def messages(
    svc: Service,
    admin: Admin,
    room: Annotated[str, ROOM],
    before: Annotated[str | None, Query(description="Messages before this msgid or ISO 8601 time", max_length=128)] = None,
    after: Annotated[str | None, Query(description="Messages after this msgid or ISO 8601 time", max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most messages returned")] = DEFAULT_LIMIT,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=SEARCH_MAX, pattern=r"^[^\r\n\x00]*\S[^\r\n\x00]*$",
              description="Search: only the newest messages containing all these words (full-text)"),
    ] = None,
) -> MessagePage:
    """The room's stored history (CHATHISTORY), oldest first; 503 when history is off. With ``q``,
    the newest messages that contain every word of it (the server's full-text index).

    Anonymous callers read existing public rooms only (not +s, +p, +i or +k); admins any room,
    including one that everyone has left."""
    name = room_name(svc, room)
    try:
        before_ref = history_ref(before) if before else None
        after_ref = history_ref(after) if after else None
    except BadInput as exc:
        raise HTTPException(400, str(exc)) from None
    limit = min(limit, svc.settings.api_history_max)
    if q is not None and (before_ref or after_ref):
        raise HTTPException(400, "q cannot be combined with before or after")
    return await svc.history(name, before_ref, after_ref, limit, admin, query=q)


@router.post(
    "/rooms/{room}/messages",
    response_model=Posted,
    status_code=201,
    dependencies=[Depends(require_token)],
    responses=_errors(400, 401, 403, 404, 413, 429, 503),
)
async def post_message(svc: Service, room: Annotated[str, ROOM], body: PostMessage) -> Posted:
    """Post a message as the API user (nick ``api_nick``, default ``api``); TCP and web users see it."""
    return await svc.post(room_name(svc, room), body.text)


@router.get("/admin/connections", response_model=ConnectionList, responses=_errors(401, 403, 429, 503))
async def connections(svc: Service, _: Annotated[Session | None, Depends(require_admin)]) -> Response:
    """Every connection the TCP server holds (STATS l), with totals. Admin only."""
    listing = await svc.connections()  # already validated: serialise once, skip re-validation
    return Response(listing.model_dump_json(), media_type="application/json", headers=NO_STORE)


@router.get("/admin/upstreams", response_model=UpstreamList, responses=_errors(401, 403, 429))
async def upstreams(svc: Service, _: Annotated[Session | None, Depends(require_admin)]) -> UpstreamList:
    """The chat server nodes the gateway connects users to, each up or down (since when, why).
    Admin only (``/api/health`` shows the same to anyone)."""
    return UpstreamList(upstreams=await svc.upstreams())


@router.delete(
    "/admin/connections/{conn_id}", response_model=Killed, responses=_errors(401, 403, 404, 409, 429, 503)
)
async def kill(
    request: Request,
    svc: Service,
    _: Annotated[Session | None, Depends(require_admin)],
    conn_id: Annotated[
        int, Path(ge=-(2**62), le=2**62, description="Connection id from the list (below zero: on another node)")
    ],
    reason: Annotated[
        str, Query(min_length=1, max_length=KILL_REASON_MAX, pattern=r"^[^\r\n\x00]+$")
    ] = "Disconnected by an administrator",
) -> Killed:
    """Disconnect a connection (KILL) with a reason the client sees. Admin only."""
    log.info("admin kill id=%s reason=%r by addr=%s", conn_id, reason, request.client.host if request.client else "?")
    return await svc.kill(conn_id, reason)
