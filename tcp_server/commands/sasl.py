"""AUTHENTICATE (IRCv3 SASL 3.1/3.2): PLAIN, SCRAM-SHA-256 and EXTERNAL.

An exchange: ``AUTHENTICATE <mechanism>`` -> ``AUTHENTICATE +``; then base64 in lines of 400
bytes (a shorter line, or ``+``, ends a message); ``AUTHENTICATE *`` aborts (906). Success is
900 + 903, failure 904, a message over ``sasl_max_bytes`` 905, a second login 907, an unknown
mechanism 908 + 904. Every check goes through ``state.guarded_check`` (kind ``sasl``), so
failures count against the per-connection and per-address limits.

SCRAM-SHA-256 (RFC 5802/7677) is served by ``scramp`` from the stored keys; an unknown account
gets keys derived from a per-process secret, so the exchange looks the same until its proof fails.
EXTERNAL maps the TLS client certificate's SHA-256 fingerprint to an account (``NS CERT ADD``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scramp import ScramException

from ..accounts import Account, ScramKeys
from ..accounts.passwords import SCRAM
from ..protocol import Message, casefold
from ..protocol import numerics as N
from ..state import Client, ServerState
from ..state.responses import ResponseBuffer
from .accounts import check_password, log_in, offload_reply
from .registration import sasl_mechanisms
from .table import command

if TYPE_CHECKING:
    from typing_extensions import TypeIs  # typing.TypeIs from Python 3.13

CHUNK = 400
"""Bytes of base64 per AUTHENTICATE line (the spec's limit)."""
_FAKE_KEY = os.urandom(32)


@dataclass(slots=True)
class Exchange:
    """One SASL exchange in progress on a connection."""

    mechanism: str
    buffer: str = ""
    step: int = 0
    busy: bool = False
    """A check of this exchange is running: more input before its answer aborts the exchange."""
    scram: Any = None
    account: Account | None = None
    markers: dict[str, int] | None = None


def _fail(state: ServerState, client: Client, rb: ResponseBuffer, code: str = N.ERR_SASLFAIL, text: str = "SASL authentication failed") -> None:
    svc = state.accounts
    if svc is not None:
        svc.sasl.pop(client.id, None)
    rb.numeric(code, text)


def _succeed(state: ServerState, client: Client, rb: ResponseBuffer, account: Account, markers: dict[str, int] | None) -> None:
    svc = state.accounts
    if svc is not None:
        svc.sasl.pop(client.id, None)
    log_in(state, client, account, markers)
    rb.numeric(N.RPL_SASLSUCCESS, "SASL authentication successful")


def _send(state: ServerState, client: Client, rb: ResponseBuffer, data: bytes) -> None:
    """A server challenge, base64 in 400-byte lines (``+`` after an exact multiple)."""
    text = base64.b64encode(data).decode()
    for i in range(0, len(text), CHUNK):
        rb.reply("AUTHENTICATE", text[i : i + CHUNK])
    if len(text) % CHUNK == 0:
        rb.reply("AUTHENTICATE", "+")


@command("AUTHENTICATE", min_params=1, pre_registration=True)
def authenticate(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """AUTHENTICATE <mechanism> | <base64 chunk> | + | *."""
    svc = state.accounts
    arg = msg.params[0]
    if svc is None or "sasl" not in client.caps:
        rb.numeric(N.ERR_SASLFAIL, "SASL authentication failed (request the sasl capability)")
        return
    exchange = svc.sasl.get(client.id)
    if arg == "*":
        _fail(state, client, rb, N.ERR_SASLABORTED, "SASL authentication aborted")
        return
    if exchange is None:
        _start(state, client, rb, arg.upper())
        return
    if exchange.busy:
        _fail(state, client, rb, N.ERR_SASLABORTED, "SASL authentication aborted (sent before the answer)")
        return
    if arg != "+":
        exchange.buffer += arg
        if len(exchange.buffer) * 3 // 4 > state.settings.sasl_max_bytes:
            _fail(state, client, rb, N.ERR_SASLTOOLONG, "SASL message too long")
            return
        if len(arg) == CHUNK:
            return  # more lines follow
    try:
        data = base64.b64decode(exchange.buffer, validate=True)
    except (binascii.Error, ValueError):
        _fail(state, client, rb)
        return
    exchange.buffer = ""
    exchange.busy = True  # cleared when the step's answer is sent (or the exchange ends)
    if exchange.mechanism == "PLAIN":
        _plain(state, client, rb, exchange, data)
    elif exchange.mechanism == "EXTERNAL":
        _external(state, client, rb, exchange, data)
    else:
        _scram(state, client, rb, exchange, data)


def _start(state: ServerState, client: Client, rb: ResponseBuffer, mechanism: str) -> None:
    svc = state.accounts
    assert svc is not None
    if client.account:
        rb.numeric(N.ERR_SASLALREADY, "You have already authenticated using SASL")
        return
    mechanisms = sasl_mechanisms(state)
    if mechanism not in mechanisms:
        rb.numeric(N.RPL_SASLMECHS, ",".join(mechanisms), "are available SASL mechanisms")
        rb.numeric(N.ERR_SASLFAIL, "SASL authentication failed")
        return
    if mechanism == "EXTERNAL" and client.certfp is None:
        rb.numeric(N.ERR_SASLFAIL, "SASL authentication failed (no client certificate)")
        return
    svc.sasl[client.id] = Exchange(mechanism)
    rb.reply("AUTHENTICATE", "+")


def _refused(state: ServerState, client: Client, rb: ResponseBuffer) -> None:
    _fail(state, client, rb, N.ERR_SASLFAIL, "SASL authentication failed (too many attempts, try later)")


def _live(state: ServerState, client: Client, exchange: Exchange) -> bool:
    """True while ``exchange`` is still the client's (not aborted, client still here)."""
    svc = state.accounts
    return not client.gone and svc is not None and svc.sasl.get(client.id) is exchange


def _plain(state: ServerState, client: Client, rb: ResponseBuffer, exchange: Exchange, data: bytes) -> None:
    """``authzid NUL authcid NUL password`` (authzid empty or the same account)."""
    parts = data.split(b"\0")
    if len(parts) != 3:
        _fail(state, client, rb)
        return
    authzid, authcid, password = (p.decode("utf-8", "replace") for p in parts)
    if authzid and casefold(authzid) != casefold(authcid):
        _fail(state, client, rb)
        return

    def done(account: Account | None, why: str, markers: dict[str, int] | None) -> None:
        if not _live(state, client, exchange):
            return
        if account is None:
            _fail(state, client, rb, text=f"SASL authentication failed{f' (account {why})' if why else ''}")
        else:
            _succeed(state, client, rb, account, markers)

    if not check_password(state, client, "sasl", authcid, password, done, rb):
        _refused(state, client, rb)


def _usable(account: Account | None) -> TypeIs[Account]:
    """A verified, enabled account (for the type checker: not None)."""
    return account is not None and account.verified and not account.disabled


def _external(state: ServerState, client: Client, rb: ResponseBuffer, exchange: Exchange, data: bytes) -> None:
    """The certificate names the account; an authzid, if given, must be that account."""
    svc = state.accounts
    assert svc is not None and client.certfp is not None
    fp = client.certfp
    authzid = data.decode("utf-8", "replace")
    found: list[Account | None] = [None]

    def check() -> bool:
        account = found[0] = svc.store.by_certfp(fp)
        if not _usable(account) or (authzid and casefold(authzid) != account.folded):
            return False
        exchange.markers = svc.store.markers(account.folded)
        return True

    def done(ok: bool) -> None:
        if not _live(state, client, exchange):
            return
        account = found[0]
        if ok and account is not None:
            _succeed(state, client, rb, account, exchange.markers)
        else:
            _fail(state, client, rb)

    if not state.guarded_check(client, "sasl", check, done, rb):
        _refused(state, client, rb)


def _username(client_first: str) -> str | None:
    """The ``n=`` user of a SCRAM client-first message (``=2C`` and ``=3D`` unescaped)."""
    for attr in client_first.split(",")[2:3]:
        if attr.startswith("n="):
            return attr[2:].replace("=2C", ",").replace("=3D", "=")
    return None


def _fake_keys(name: str, iterations: int) -> ScramKeys:
    """Keys for an unknown account: stable per name, so probing names learns nothing."""
    seed = hmac.new(_FAKE_KEY, casefold(name).encode(), hashlib.sha256).digest()
    return ScramKeys(seed[:16], hashlib.sha256(seed + b"s").digest(), hashlib.sha256(seed + b"k").digest(), iterations)


def _scram(state: ServerState, client: Client, rb: ResponseBuffer, exchange: Exchange, data: bytes) -> None:
    """Step 0: client-first -> server-first; 1: client-final -> server-final; 2: ``+`` -> 903."""
    svc = state.accounts
    assert svc is not None
    text = data.decode("utf-8", "replace")
    if exchange.step == 0:
        name = _username(text)
        if not name:
            _fail(state, client, rb)
            return

        def loaded(
            rb: ResponseBuffer, found: tuple[Account | None, dict[str, int]] | None, error: BaseException | None
        ) -> None:
            if not _live(state, client, exchange):
                return
            account, exchange.markers = found if found is not None else (None, None)
            usable = _usable(account) and error is None
            keys = account.scram if usable and account else _fake_keys(name, state.settings.scram_iterations)
            exchange.account = account if usable else None
            server = SCRAM.make_server(lambda _user: keys.auth_info())
            try:
                server.set_client_first(text)
            except ScramException:
                _fail(state, client, rb)
                return
            exchange.scram, exchange.step, exchange.busy = server, 1, False
            _send(state, client, rb, server.get_server_first().encode())

        def lookup() -> tuple[Account | None, dict[str, int]]:
            account = svc.store.get(casefold(name))
            return account, (svc.store.markers(account.folded) if _usable(account) else {})

        offload_reply(state, rb, lookup, loaded)
    elif exchange.step == 1:
        server = exchange.scram

        def check() -> bool:
            try:
                server.set_client_final(text)
            except ScramException:
                return False
            return exchange.account is not None

        def done(ok: bool) -> None:
            if not _live(state, client, exchange):
                return
            if not ok:
                _fail(state, client, rb)
                return
            exchange.step, exchange.busy = 2, False
            _send(state, client, rb, server.get_server_final().encode())

        account = exchange.account
        folded = account.folded if account is not None else ""
        s = state.settings
        if folded and svc.login_blocked(folded, s.auth_failures_per_account, s.auth_window):
            _refused(state, client, rb)
            return

        def finished(ok: bool) -> None:
            if not ok and folded:
                svc.login_failed(folded)
            done(ok)

        if not state.guarded_check(client, "sasl", check, finished, rb):
            _refused(state, client, rb)
    elif exchange.account is not None:
        _succeed(state, client, rb, exchange.account, exchange.markers)
