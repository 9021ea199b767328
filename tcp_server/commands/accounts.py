"""Accounts on the wire: REGISTER/VERIFY (draft/account-registration), PASS account:password,
logging in (900, account-notify), protected nicks, NS CERT and the operators' ACCOUNTADMIN.

Password checks and account creation run through ``state.guarded_check`` (counted against the
attempt limit, the KDF off the event loop); the reply is sent from its ``done`` callback.

- ``REGISTER <account> <email|*> <password>``: the account name must be the current nick (so
  the registrant holds it); ``*`` means the current nick. With ``account_verification=admin``
  the account waits for an operator (``ACCOUNTADMIN APPROVE name``); ``VERIFY`` then answers
  ``FAIL VERIFY INVALID_CODE`` (no codes are mailed; there is no mail server).
- A nick that equals an account name is protected: a connection that takes it without being
  logged in to that account is told so and, after ``nick_enforce_timeout`` seconds, renamed to
  ``Guest<n>``.
- ``NS CERT ADD``: a logged-in TLS connection registers its client certificate fingerprint for
  SASL EXTERNAL (REGISTER over TLS with a client certificate does so too).
- ``ACCOUNTADMIN`` (operators) lives in accountadmin.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..accounts import Account, hash_password, scram_keys, verify_password
from ..accounts.passwords import burn_time
from ..protocol import Message, casefold, is_valid_nick
from ..protocol import numerics as N
from ..state import Client, ServerState, build_variants, server_time
from ..state.responses import ResponseBuffer
from .markread import load_account_markers
from .monitor import extended_watchers
from .replies import fail
from .table import command

log = logging.getLogger("tcpchat.accounts")

GUEST_TRIES = 100
"""``Guest<n>`` names tried (each taken one skipped) before a protected nick stays as it is."""


def notice(state: ServerState, client: Client, text: str) -> None:
    """A server NOTICE to the client (before registration its nick is ``*``)."""
    state.send_from_server(client, "NOTICE", client.nick, text)


def offload_reply(
    state: ServerState, rb: ResponseBuffer, fn: Callable[[], Any],
    done: Callable[[ResponseBuffer, Any, BaseException | None], None],
) -> None:
    """``state.offload`` whose reply keeps its place (the client's later replies wait behind it)
    and carries the command's label: ``done(reply, result, error)`` writes it to ``reply``."""
    late = rb.later()

    def back(result: Any, error: BaseException | None) -> None:
        if not rb.client.gone:
            late.release(lambda reply: done(reply, result, error))

    state.offload(fn, back)


# ---- logging in -------------------------------------------------------------------------
def log_in(state: ServerState, client: Client, account: Account, markers: dict[str, int] | None = None) -> None:
    """Mark ``client`` as logged in to ``account``: 900, account-notify, nick protection, and
    the account's read ``markers`` (loaded with the account, in the worker thread)."""
    svc = state.accounts
    client.account = account.name
    load_account_markers(state, client, markers or {})
    if svc is not None:
        svc.created_us[account.folded] = account.created_us
    log.info("login id=%s account=%s", client.id, account.name)
    mask = client.prefix if client.registered else f"{client.nick}!{client.user or '*'}@{client.host}"
    state.numeric(client, N.RPL_LOGGEDIN, mask, account.name, f"You are now logged in as {account.name}")
    if client.registered:
        variants = build_variants(client.prefix, "ACCOUNT", (account.name,), server_time())
        # channel peers, and extended-monitor watchers (who asked for account-notify too)
        for peer in state.peers_of(client) | extended_watchers(state, client, "account-notify"):
            if "account-notify" in peer.caps:
                peer.outbox.send(variants[peer.tag_level])
        state.bus.user_changed(client, variants, "account-notify")  # peers on other nodes
        protect_nick(state, client)


@dataclass(slots=True)
class PasswordCheck:
    """A blocking PLAIN/PASS check for a worker thread; ``account`` is set when it matches."""

    state: ServerState
    name: str
    password: str
    account: Account | None = None
    refused: str = ""
    markers: dict[str, int] | None = None

    def __call__(self) -> bool:
        svc = self.state.accounts
        assert svc is not None
        found = svc.store.get(casefold(self.name))
        if found is None:
            burn_time(self.state.settings.account_scrypt_n)
            return False
        if not verify_password(self.password, found.password):
            return False
        if found.disabled or not found.verified:
            self.refused = "disabled" if found.disabled else "waiting for approval"
            return False
        self.account = found
        self.markers = svc.store.markers(found.folded)
        return True


def check_password(
    state: ServerState, client: Client, kind: str, name: str, password: str,
    done: Callable[[Account | None, str, dict[str, int] | None], None], rb: ResponseBuffer | None = None,
) -> bool:
    """Check ``name``/``password`` off the loop; ``done(account or None, why, read markers)``.

    False, checking nothing, when the client's address or connection is over its limit, or the
    account has failed ``auth_failures_per_account`` logins within ``auth_window``.
    """
    svc = state.accounts
    assert svc is not None
    folded = casefold(name)
    s = state.settings
    if svc.login_blocked(folded, s.auth_failures_per_account, s.auth_window):
        return False
    check = PasswordCheck(state, name, password)

    def finished(ok: bool) -> None:
        svc.logging_in.discard(client.id)
        if not ok:
            svc.login_failed(folded)
        done(check.account if ok else None, check.refused, check.markers)
        if not ok:
            protect_nick(state, client)  # registration may have finished while we checked

    if not state.guarded_check(client, kind, check, finished, rb):
        return False
    svc.logging_in.add(client.id)
    return True


# ---- protected nicks --------------------------------------------------------------------
def protect_nick(state: ServerState, client: Client) -> None:
    """After a nick change or registration: start or stop the protected-nick countdown."""
    svc = state.accounts
    if svc is None or not client.registered:
        return
    owned = client.account is not None and casefold(client.account) == client.folded
    if client.id in svc.logging_in:
        return  # a login is being checked; its outcome decides (see check_password)
    if client.folded not in svc.names or owned:
        svc.enforce.pop(client.id, None)
        return
    timeout = state.settings.nick_enforce_timeout
    svc.enforce[client.id] = time.monotonic() + timeout
    notice(state, client, f"The nick {client.nick} belongs to an account. Log in to it (SASL, or "
                          f"PASS {client.nick}:password) or change nick within {timeout:g} seconds, "
                          f"or you will be renamed.")


def enforce(state: ServerState, client_id: int) -> None:
    """The countdown ran out: rename the client to ``Guest<n>`` if it still holds the nick."""
    svc = state.accounts
    client = state.clients.get(client_id)
    if svc is None or client is None or client.gone or not client.registered:
        return
    if client.folded not in svc.names or (client.account and casefold(client.account) == client.folded):
        return
    rename_to_guest(state, client, GUEST_TRIES)


def rename_to_guest(state: ServerState, client: Client, tries: int) -> None:
    """Claim a free ``Guest<n>`` through the bus (cluster-wide in a cluster), then announce it."""
    from .registration import _nick_claimed

    svc = state.accounts
    assert svc is not None
    guest = f"Guest{next(svc.guest_numbers)}"
    old_prefix, old_nick = client.prefix, client.nick

    def claimed(ok: bool) -> None:
        if client.gone:
            return
        if not ok:
            if tries > 1:
                rename_to_guest(state, client, tries - 1)
            return
        _nick_claimed(state, client, ResponseBuffer(state.name, client), guest, old_prefix, old_nick, True)
        notice(state, client, "You were renamed: that nick belongs to a registered account.")

    state.bus.claim_nick(client, guest, claimed)


# ---- REGISTER / VERIFY --------------------------------------------------------------------
@dataclass(slots=True)
class Creation:
    """The blocking part of REGISTER for a worker thread: derive the keys, insert the account."""

    state: ServerState
    name: str
    password: str
    certfp: str | None
    account: Account | None = None

    def __call__(self) -> bool:
        s = self.state.settings
        svc = self.state.accounts
        assert svc is not None
        account = Account(
            self.name, casefold(self.name), hash_password(self.password, s.account_scrypt_n),
            scram_keys(self.password, s.scram_iterations), int(time.time() * 1_000_000),
            verified=s.account_verification == "none",
        )
        if not svc.store.create(account, self.certfp):
            return False
        self.account = account
        return True


@command("REGISTER", min_params=3, pre_registration=True)
def register(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """REGISTER <account|*> <email|*> <password>."""
    svc = state.accounts
    if svc is None or not state.settings.account_registration:
        fail(rb, "REGISTER", "TEMPORARILY_UNAVAILABLE", msg.params[0], "Registration is disabled")
        return
    name = client.nick if msg.params[0] == "*" else msg.params[0]
    password = msg.params[2]
    if client.nick == "*" or not client.folded:
        fail(rb, "REGISTER", "NEED_NICK", "*", "Choose a nick first")
        return
    if client.account:
        fail(rb, "REGISTER", "ALREADY_AUTHENTICATED", name, "You are already logged in")
        return
    if not is_valid_nick(name, state.settings.nick_len):
        fail(rb, "REGISTER", "BAD_ACCOUNT_NAME", name, "Account names follow the rules of nicks")
        return
    folded = casefold(name)
    if folded != client.folded:
        fail(rb, "REGISTER", "ACCOUNT_NAME_MUST_BE_NICK", name, "Register your current nick")
        return
    if folded in svc.names:
        fail(rb, "REGISTER", "ACCOUNT_EXISTS", name, "Account already exists")
        return
    if len(password) < state.settings.account_min_password or password == "*":
        fail(rb, "REGISTER", "WEAK_PASSWORD", name,
             f"Use at least {state.settings.account_min_password} characters")
        return
    svc.names.add(folded)  # reserved now: a second REGISTER of the name fails at once
    creation = Creation(state, name, password, client.certfp)

    def done(created: bool) -> None:
        if not created or creation.account is None:
            fail(rb, "REGISTER", "ACCOUNT_EXISTS", name, "Account already exists")
            return
        log.info("register account=%s id=%s", name, client.id)
        svc.names.add(folded)  # again: a full reload (accountsync.py) may have run meanwhile
        if client.gone:
            return
        if state.settings.account_verification == "none":
            rb.reply("REGISTER", "SUCCESS", name, "Account created")
            svc.enforce.pop(client.id, None)
            log_in(state, client, creation.account)
        else:
            rb.reply("REGISTER", "VERIFICATION_REQUIRED", name, "An operator will approve your account")

    if not state.guarded_check(client, "register", creation, done, rb):
        svc.names.discard(folded)
        fail(rb, "REGISTER", "TEMPORARILY_UNAVAILABLE", name, "Too many attempts, try later")


@command("VERIFY", min_params=2, pre_registration=True)
def verify(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """VERIFY <account> <code>: accounts here are approved by operators, not by codes."""
    if client.account:
        fail(rb, "VERIFY", "ALREADY_AUTHENTICATED", msg.params[0], "You are already logged in")
        return
    fail(rb, "VERIFY", "INVALID_CODE", msg.params[0], "An operator approves new accounts")


# ---- PASS account:password --------------------------------------------------------------------
def pass_login(state: ServerState, client: Client, rb: ResponseBuffer, text: str) -> None:
    """``PASS account:password`` when the server has no connection password: log in."""
    name, _, password = text.partition(":")

    def done(account: Account | None, why: str, markers: dict[str, int] | None) -> None:
        if client.gone:
            return
        if account is None:
            rb.numeric(N.ERR_PASSWDMISMATCH, f"Password incorrect{f' ({why})' if why else ''}")
            return
        log_in(state, client, account, markers)

    if not check_password(state, client, "pass", name, password, done, rb):
        rb.numeric(N.ERR_PASSWDMISMATCH, "Too many attempts, try later")


# ---- NS CERT --------------------------------------------------------------------------------------
@command("NS", min_params=1)
def nickserv(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """NS CERT ADD: register this connection's TLS client certificate for SASL EXTERNAL."""
    svc = state.accounts
    words = [p.upper() for p in msg.params[:2]]
    if svc is None or words != ["CERT", "ADD"]:
        rb.notice("Usage: NS CERT ADD (logged in, over TLS with a client certificate)")
        return
    if client.account is None or client.certfp is None:
        rb.notice("Log in over TLS with a client certificate first")
        return
    fp, folded = client.certfp, casefold(client.account)

    def done(reply: ResponseBuffer, ok: bool | None, error: BaseException | None) -> None:
        text = "Certificate added" if ok else "That certificate belongs to another account"
        reply.notice(text if error is None else "Could not store the certificate")

    offload_reply(state, rb, lambda: svc.store.add_certfp(folded, fp), done)


def install(state: ServerState) -> None:
    """Hook accounts into the server (called once at start, after the store opened)."""
    svc = state.accounts
    if svc is None:
        return
    from .accountsync import install as install_sync
    from .chanserv import install as install_channels

    state.on_disconnect.append(lambda client, reason: svc.forget(client.id))
    state.on_nick.append(lambda client: protect_nick(state, client))
    svc.start_enforcer(state.settings.nick_enforce_timeout, lambda client_id: enforce(state, client_id))
    install_channels(state)
    install_sync(state)
