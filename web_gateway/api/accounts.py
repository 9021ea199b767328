"""Admin API for accounts (``/api/admin/accounts...``), over the gateway's operator link.

The TCP server owns the accounts; the operator link asks it with ``ACCOUNTADMIN`` (see
``tcp_server/commands/accountadmin.py``): ``LIST`` for the list, joined here with ``STATS l``
(the ``tcpchat.example/account`` tag) for each account's connections, and ``APPROVE``, ``DISABLE``,
``ENABLE``, ``DROP``, ``RESETPASS`` for the actions, each answered by one NOTICE ``<verb> <name>: <result>``.
A new password travels in the request body only and is never logged.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field

from tcp_server.protocol import Message, casefold

from ..admin.auth import Session, require_admin
from ..oper_link import Until
from .models import Connection, ErrorBody
from .routes import NO_STORE, read_limit
from .service import ChatService, service_of

log = logging.getLogger("tcpchat.gateway.admin")

router = APIRouter(prefix="/api/admin/accounts", dependencies=[Depends(read_limit)])
NAME = Path(description="Account name", min_length=1, max_length=100, pattern=r"^[^\s,*?!@#:]+$")
END_OF_LIST = "End of account list"
ACCOUNTS_OFF = "accounts are off on the TCP server (it runs without history or with --no-accounts)"


class AccountInfo(BaseModel):
    """One account and the connections logged in to it now."""

    name: str
    state: str = Field(description="active, pending (waits for approval) or disabled")
    verified: bool
    disabled: bool
    connections: list[Connection]


class AccountList(BaseModel):
    accounts: list[AccountInfo]


class AccountChanged(BaseModel):
    name: str
    action: str
    result: str = Field(description="The server's answer, e.g. done")


class NewPassword(BaseModel):
    password: str = Field(min_length=1, max_length=300, pattern=r"^[^\r\n\x00]+$")


Admin = Annotated[Session | None, Depends(require_admin)]
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 429, 503)
}


def _svc(request: Request) -> ChatService:
    return service_of(request.app)


Service = Annotated[ChatService, Depends(_svc)]


def _notice_starting(prefix: str) -> Until:
    def until(msg: Message) -> bool:
        if msg.command == "481":  # the link is no operator
            return True
        text = msg.params[-1] if msg.command == "NOTICE" and msg.params else ""
        return text.startswith(prefix) or text == "Accounts are off"

    return until


def _answer(lines: list[Message]) -> str:
    last = lines[-1]
    if last.command == "481":
        raise HTTPException(503, "the gateway's operator link is not an IRC operator (TCPCHAT_OPER_PASSWORD)")
    if last.params[-1] == "Accounts are off":
        raise HTTPException(503, ACCOUNTS_OFF)
    return last.params[-1]


@router.get("", response_model=AccountList, responses=ERRORS)
async def list_accounts(svc: Service, _: Admin, response: Response) -> AccountList:
    """Every account with its state and the connections logged in to it. Admin only."""
    response.headers.update(NO_STORE)
    lines = await svc._ask(svc.oper, [Message("ACCOUNTADMIN", ("LIST",))], _notice_starting(END_OF_LIST))
    _answer(lines)
    by_account: dict[str, list[Connection]] = {}
    for conn in (await svc.connections()).connections:
        if conn.account:
            by_account.setdefault(casefold(conn.account), []).append(conn)
    accounts = []
    for msg in lines:
        if msg.command != "NOTICE" or msg.params[-1] == END_OF_LIST:
            continue
        words = msg.params[-1].split()
        if len(words) < 3 or not words[-1].startswith("connections="):
            continue
        name, verified, disabled = words[0], "verified" in words[1:], "disabled" in words[1:]
        state = "disabled" if disabled else "active" if verified else "pending"
        accounts.append(AccountInfo(name=name, state=state, verified=verified, disabled=disabled,
                                    connections=by_account.get(casefold(name), [])))
    return AccountList(accounts=accounts)


async def _act(svc: ChatService, verb: str, name: str, *extra: str) -> AccountChanged:
    prefix = f"{verb.lower()} {name}: "
    lines = await svc._ask(svc.oper, [Message("ACCOUNTADMIN", (verb, name, *extra))], _notice_starting(prefix))
    result = _answer(lines)[len(prefix):]
    if result == "no such account":
        raise HTTPException(404, f"no account named {name}")
    if result != "done":
        raise HTTPException(400, f"the server refused: {result}")
    return AccountChanged(name=name, action=verb.lower(), result=result)


@router.post("/{name}/approve", response_model=AccountChanged, responses=ERRORS)
async def approve(svc: Service, _: Admin, name: Annotated[str, NAME]) -> AccountChanged:
    """Approve a registration waiting for an operator (``--account-verification admin``)."""
    log.info("admin approve account=%s", name)
    return await _act(svc, "APPROVE", name)


@router.post("/{name}/disable", response_model=AccountChanged, responses=ERRORS)
async def disable(svc: Service, _: Admin, name: Annotated[str, NAME]) -> AccountChanged:
    """Refuse the account's logins from now on (its live connections stay; kill them if needed)."""
    log.info("admin disable account=%s", name)
    return await _act(svc, "DISABLE", name)


@router.post("/{name}/enable", response_model=AccountChanged, responses=ERRORS)
async def enable(svc: Service, _: Admin, name: Annotated[str, NAME]) -> AccountChanged:
    """Allow a disabled account's logins again."""
    log.info("admin enable account=%s", name)
    return await _act(svc, "ENABLE", name)


@router.delete("/{name}", response_model=AccountChanged, responses=ERRORS)
async def drop(svc: Service, _: Admin, name: Annotated[str, NAME]) -> AccountChanged:
    """Delete the account: its sessions are logged out and its nick is free (on every node)."""
    log.info("admin drop account=%s", name)
    return await _act(svc, "DROP", name)


@router.post("/{name}/password", response_model=AccountChanged, responses=ERRORS)
async def reset_password(svc: Service, _: Admin, name: Annotated[str, NAME], body: NewPassword) -> AccountChanged:
    """Set a new password (the server's minimum length applies). The password is not logged."""
    log.info("admin password reset account=%s", name)
    return await _act(svc, "RESETPASS", name, body.password)
