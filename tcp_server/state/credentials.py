"""Password checks of the server state: OPER and WEBIRC credentials, and the seam that runs a
check off the event loop under the guessing limits (``guard.py``). Synchronous, no I/O: the server
installs the thread pool (``offloader``); without one (in-memory tests) work runs inline.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .guard import AttemptGuard, GuardLimits

if TYPE_CHECKING:
    from ..settings import ServerSettings
    from .client import Client
    from .responses import ResponseBuffer

log = logging.getLogger("tcpchat.server")

Done = Callable[[Any, BaseException | None], None]
Offloader = Callable[[Callable[[], Any], Done], None]


def hash_password(password: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
    """Hash a password with scrypt; returns (salt, digest). Only the hash is kept in memory."""
    salt = salt or os.urandom(16)
    return salt, hashlib.scrypt(password.encode(), salt=salt, n=2**11, r=8, p=1)


def run_inline(fn: Callable[[], Any], done: Done) -> None:
    """The offloader without a server (in-memory tests): run ``fn`` now, then ``done``."""
    try:
        result = fn()
    except Exception as exc:  # handed to ``done`` like a failure in a worker thread
        done(None, exc)
        return
    done(result, None)


class CredentialChecks:
    """``ServerState`` mixes this in: the OPER/WEBIRC hashes and the guarded, offloaded checks."""

    settings: ServerSettings
    if TYPE_CHECKING:

        def disconnect(self, client: Client, reason: str, quit_message: str | None = None) -> None: ...

    def _init_credentials(self, settings: ServerSettings) -> None:
        self._oper_hash = (
            hash_password(settings.oper_password.get_secret_value()) if settings.oper_password else None
        )
        self._webirc_hash = (
            hash_password(settings.webirc_password.get_secret_value()) if settings.webirc_password else None
        )
        self._webirc_known: bytes | None = None
        """SHA-256 of the WEBIRC password last verified: a gateway opens one connection per web
        user, and the scrypt check (milliseconds on the event loop) is then done once, not each time."""
        self.offloader: Offloader = run_inline
        """Runs blocking work (password hashes) off the event loop; the server installs a thread pool."""
        self.auth_guard = AttemptGuard(
            GuardLimits(
                attempts_per_ip=settings.auth_attempts_per_ip,
                window=settings.auth_window,
                failures_per_connection=settings.auth_failures_per_connection,
                in_flight_per_ip=settings.auth_in_flight_per_ip,
                in_flight_total=settings.auth_in_flight_total,
            )
        )

    def offload(self, fn: Callable[[], Any], done: Done) -> None:
        """Run blocking ``fn`` off the event loop; ``done(result, error)`` runs on the loop later."""
        self.offloader(fn, done)

    def guarded_check(
        self, client: Client, kind: str, check: Callable[[], bool], done: Callable[[bool], None],
        rb: ResponseBuffer | None = None,
    ) -> bool:
        """Run a password check for ``client`` under the guessing limits (``guard.py``).

        Returns False, running nothing, when the client is over a limit (the caller sends its own
        refusal). Otherwise ``check`` (the hash) runs off the event loop and ``done(ok)`` runs on
        it later; what ``done`` sends reaches the client before the replies to its later commands.
        With the command's ``rb``, ``done`` answers through it and the answer carries its label.
        A connection that fails too often is then dropped.
        """
        wait = self.auth_guard.admit(client.id, client.ip, time.monotonic())
        if wait is not None:
            log.warning(
                "auth refused kind=%s id=%s nick=%s addr=%s retry_after=%.0f",
                kind, client.id, client.nick, client.ip, wait,
            )
            if self.auth_guard.refused_attempt(client.id):
                self.disconnect(client, "Too many failed password attempts")
            return False
        late = rb.later() if rb is not None else None
        hold = late.hold if late is not None else client.outbox.hold()

        def finished(ok: Any, error: BaseException | None) -> None:
            passed = error is None and bool(ok)
            if error is not None:
                log.error("auth check failed kind=%s id=%s: %r", kind, client.id, error)
            drop = self.auth_guard.finish(client.id, client.ip, passed)
            if client.gone:
                return
            if late is not None:
                late.release(lambda _rb: done(passed))
            else:
                client.outbox.release(hold, lambda: done(passed))
            if drop:
                log.warning("auth drop kind=%s id=%s nick=%s addr=%s", kind, client.id, client.nick, client.ip)
                self.disconnect(client, "Too many failed password attempts")

        self.offload(check, finished)
        return True

    def check_oper(self, name: str, password: str) -> bool:
        """Compare OPER credentials against the stored hash in constant time (blocking: a KDF)."""
        if self._oper_hash is None:
            return False
        salt, digest = self._oper_hash
        ok_pass = hmac.compare_digest(hash_password(password, salt)[1], digest)
        return ok_pass and hmac.compare_digest(name.encode(), self.settings.oper_name.encode())

    def check_webirc(self, password: str, ip: str) -> bool:
        """True when ``ip`` is a trusted gateway and ``password`` matches."""
        if self._webirc_hash is None or ip not in self.settings.webirc_allowed:
            return False
        quick = hashlib.sha256(password.encode()).digest()
        if self._webirc_known is not None and hmac.compare_digest(quick, self._webirc_known):
            return True
        salt, digest = self._webirc_hash
        if hmac.compare_digest(hash_password(password, salt)[1], digest):
            self._webirc_known = quick
            return True
        return False
