"""ACCOUNTADMIN: the operators' account commands (the admin page and API use them).

- ``ACCOUNTADMIN LIST``: one NOTICE per account, ``<name> verified|pending[ disabled]
  connections=<n>``, then ``End of account list``.
- ``ACCOUNTADMIN APPROVE|DISABLE|ENABLE <name>``: approve a pending registration, refuse or allow
  logins (a disabled account's live connections stay; new logins fail).
- ``ACCOUNTADMIN DROP <name>``: delete the account (its certificates and read markers too); its
  sessions are logged out and its nick is free, on every node sharing the database.
- ``ACCOUNTADMIN RESETPASS <name> <newpass>``: a new password (salted scrypt and SCRAM keys,
  derived in a worker thread under the operator's attempt limit, never logged).

Each answer is a NOTICE ``<verb> <name>: done|no such account|...`` so a script can wait for it.
"""

from __future__ import annotations

import logging
from typing import Any

from ..accounts import Account, hash_password, scram_keys
from ..protocol import Message, casefold
from ..state import Client, ServerState
from ..state.responses import ResponseBuffer
from .accounts import offload_reply
from .accountsync import account_changed
from .table import command

log = logging.getLogger("tcpchat.accounts")

USAGE = (
    "Usage: ACCOUNTADMIN LIST | APPROVE name | DISABLE name | ENABLE name | DROP name | RESETPASS name newpass"
)
FLAG_CHANGES: dict[str, dict[str, bool]] = {
    "APPROVE": {"verified": True}, "DISABLE": {"disabled": True}, "ENABLE": {"disabled": False},
}


@command("ACCOUNTADMIN", min_params=1, needs_oper=True)
def accountadmin(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """ACCOUNTADMIN LIST | APPROVE name | DISABLE name | ENABLE name | DROP name | RESETPASS name newpass."""
    svc = state.accounts
    sub = msg.params[0].upper()
    if svc is None:
        rb.notice("Accounts are off")
        return
    if sub == "LIST":
        _list(state, rb)
        return
    if sub == "RESETPASS" and len(msg.params) >= 3:
        _reset_password(state, client, rb, msg.params[1], msg.params[2])
        return
    if sub == "DROP" and len(msg.params) >= 2:
        _drop(state, client, rb, msg.params[1])
        return
    if sub not in FLAG_CHANGES or len(msg.params) < 2:
        rb.notice(USAGE)
        return
    name, changes = msg.params[1], FLAG_CHANGES[sub]
    log.info("accountadmin %s account=%s by id=%s", sub.lower(), name, client.id)

    def changed(reply: ResponseBuffer, ok: bool | None, error: BaseException | None) -> None:
        reply.notice(f"{sub.lower()} {name}: {'done' if ok else 'no such account'}")

    offload_reply(state, rb, lambda: svc.store.set_flags(casefold(name), **changes), changed)


def _list(state: ServerState, rb: ResponseBuffer) -> None:
    svc = state.accounts
    assert svc is not None

    def listed(reply: ResponseBuffer, rows: list[Account] | None, error: BaseException | None) -> None:
        online: dict[str, int] = {}
        for c in state.clients.values():
            if c.account:
                key = casefold(c.account)
                online[key] = online.get(key, 0) + 1
        for a in rows or []:
            flags = ("verified" if a.verified else "pending") + (" disabled" if a.disabled else "")
            reply.notice(f"{a.name} {flags} connections={online.get(a.folded, 0)}")
        reply.notice("End of account list")

    offload_reply(state, rb, svc.store.list_accounts, listed)


def _drop(state: ServerState, client: Client, rb: ResponseBuffer, name: str) -> None:
    """Delete the account; this node applies it at once, the others when the database tells them."""
    svc = state.accounts
    assert svc is not None
    folded = casefold(name)
    log.info("accountadmin drop account=%s by id=%s", name, client.id)

    def dropped(reply: ResponseBuffer, ok: bool | None, error: BaseException | None) -> None:
        if ok:
            account_changed(state, folded, False)
        result = "done" if ok else "no such account" if error is None else "failed"
        reply.notice(f"drop {name}: {result}")

    offload_reply(state, rb, lambda: svc.store.drop_account(folded), dropped)


def _reset_password(state: ServerState, client: Client, rb: ResponseBuffer, name: str, password: str) -> None:
    """Derive the new keys off the loop (counted like an OPER check), then store them."""
    svc = state.accounts
    assert svc is not None
    s = state.settings
    if len(password) < s.account_min_password or password == "*":
        rb.notice(f"resetpass {name}: use at least {s.account_min_password} characters")
        return
    folded = casefold(name)
    result: dict[str, Any] = {}

    def work() -> bool:
        result["ok"] = svc.store.set_password(
            folded, hash_password(password, s.account_scrypt_n), scram_keys(password, s.scram_iterations)
        )
        return True

    def done(_: bool) -> None:
        ok = bool(result.get("ok"))
        if ok:
            svc.forgive(folded)
        log.info("accountadmin resetpass account=%s by id=%s ok=%s", name, client.id, ok)
        rb.notice(f"resetpass {name}: {'done' if ok else 'no such account'}")

    if not state.guarded_check(client, "resetpass", work, done, rb):
        rb.notice(f"resetpass {name}: too many attempts, try later")
