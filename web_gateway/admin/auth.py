"""Admin authentication: password check, server-side sessions, CSRF tokens, login rate limit.

Only a salted scrypt hash of ``TCPCHAT_ADMIN_PASSWORD`` is kept in memory. A session is a random
id kept server-side (so logout really ends it) and sent in a signed cookie that is HttpOnly and
SameSite=Strict. Each session has its own CSRF token, required on every state-changing request
made with the cookie. Failed logins (form or HTTP Basic) are counted per client address; over the
limit the address gets 429 until the window passes, whatever password it sends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..settings import GatewaySettings

log = logging.getLogger("tcpchat.gateway.admin")

USER = "admin"
"""The one admin user name (DESIGN.md)."""
SESSION_COOKIE = "tcpchat_admin"
LOGIN_CSRF_COOKIE = "tcpchat_login_csrf"
CSRF_HEADER = "x-csrf-token"
MAX_SESSIONS = 64
"""Live admin sessions kept; the oldest is dropped beyond this."""
MAX_TRACKED_ADDRESSES = 10_000
"""Addresses whose failed logins are remembered; bounds the limiter's memory."""
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
"""scrypt cost for the admin password (about 16 MiB and tens of milliseconds per check)."""
ADMIN_OFF = "the admin page is off: set TCPCHAT_ADMIN_PASSWORD (user 'admin') and restart the gateway"


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, **SCRYPT)


class AttemptLimiter:
    """Admin password checks per address, counted when a check starts (not when it fails).

    Counting failures after the ~35 ms hash let 200 parallel requests from one address get 103
    checks through before the first failure was counted. Here an attempt is counted before its
    hash starts and a success gives its count back, so at most ``attempts`` checks per ``window``
    run for one address however parallel the requests; at most ``in_flight_per_addr`` hashes of
    one address and ``in_flight_total`` in all run at once (the rest get 429 without hashing),
    which also bounds the memory of the scrypt calls in flight (16 MiB each).
    """

    def __init__(self, attempts: int, window: float, in_flight_per_addr: int, in_flight_total: int) -> None:
        self.attempts = attempts
        self.window = window
        self.in_flight_per_addr = in_flight_per_addr
        self.in_flight_total = in_flight_total
        self._times: OrderedDict[str, deque[float]] = OrderedDict()
        self._running: dict[str, int] = {}
        self._total = 0
        self._lock = threading.Lock()  # sync dependencies run in FastAPI's thread pool

    def _recent(self, addr: str, now: float) -> deque[float]:
        times = self._times.get(addr)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            self._times.pop(addr, None)
        return times

    def retry_after(self, addr: str) -> int:
        """Seconds until ``addr`` may try again (0 = it may try now); counts nothing."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(addr, now)
            if len(times) < self.attempts:
                return 0
            return max(1, int(self.window - (now - times[0]) + 0.999))

    def begin(self, addr: str) -> int:
        """Admit one check from ``addr`` (counted now): 0, or seconds to wait (refused)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(addr, now)
            if len(times) >= self.attempts:
                return max(1, int(self.window - (now - times[0]) + 0.999))
            if self._running.get(addr, 0) >= self.in_flight_per_addr or self._total >= self.in_flight_total:
                return 1
            times.append(now)
            self._times[addr] = times
            self._times.move_to_end(addr)
            while len(self._times) > MAX_TRACKED_ADDRESSES:
                self._times.popitem(last=False)
            self._running[addr] = self._running.get(addr, 0) + 1
            self._total += 1
            return 0

    def end(self, addr: str, ok: bool) -> None:
        """The admitted check of ``addr`` finished; a success gives its attempt back."""
        with self._lock:
            left = self._running.get(addr, 1) - 1
            if left > 0:
                self._running[addr] = left
            else:
                self._running.pop(addr, None)
            self._total -= 1
            if ok:
                times = self._times.get(addr)
                if times:
                    times.pop()


@dataclass
class Session:
    sid: str
    csrf: str
    expires: float


class AdminAuth:
    """The admin credentials, sessions and login limiter of one gateway app."""

    def __init__(self, settings: GatewaySettings, secret: str) -> None:
        self.enabled = settings.admin_password is not None
        self._salt = secrets.token_bytes(16)
        self._digest = (
            _hash(settings.admin_password.get_secret_value(), self._salt)
            if settings.admin_password is not None
            else b""
        )
        self.max_age = settings.admin_session_max_age
        self.limiter = AttemptLimiter(
            settings.admin_login_attempts,
            settings.admin_login_window,
            settings.admin_login_in_flight_per_ip,
            settings.admin_login_in_flight_total,
        )
        self._used_login_tokens: OrderedDict[str, float] = OrderedDict()
        self._signer = URLSafeTimedSerializer(secret, salt="tcpchat-admin-session")
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def check_limited(self, addr: str, user: str, password: str) -> bool | int:
        """``check`` under the per-address limits: the result, or seconds to wait (not checked).

        Blocking (one scrypt): call it from a worker thread."""
        retry = self.limiter.begin(addr)
        if retry:
            return retry
        ok = False
        try:
            ok = self.check(user, password)
        finally:
            self.limiter.end(addr, ok)
        return ok

    def check(self, user: str, password: str) -> bool:
        """Constant-time comparison of the credentials with the stored hash.

        Costs one scrypt (tens of milliseconds of CPU): call it off the event loop (sync
        dependencies already run in the thread pool; async routes use ``asyncio.to_thread``)."""
        if not self.enabled:
            return False
        ok_user = hmac.compare_digest(user.encode(), USER.encode())
        ok_pass = hmac.compare_digest(_hash(password, self._salt), self._digest)
        return ok_user and ok_pass

    # ---- sessions --------------------------------------------------------------------------
    def open_session(self) -> tuple[str, Session]:
        """A new session and the signed cookie value that names it."""
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), time.time() + self.max_age)
        with self._lock:
            self._sessions[session.sid] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return self._signer.dumps(session.sid), session

    def session_of(self, request: Request) -> Session | None:
        """The live session named by the request's cookie, if any."""
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw or not self.enabled:
            return None
        try:
            sid = self._signer.loads(raw, max_age=self.max_age)
        except BadSignature:
            return None
        session = self._sessions.get(sid) if isinstance(sid, str) else None
        if session is None or session.expires < time.time():
            return None
        return session

    def close_session(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.sid, None)

    # ---- login CSRF (before a session exists: double-submit cookie) ------------------------
    def login_token(self) -> tuple[str, str]:
        """(cookie value, form value) for the login form."""
        token = secrets.token_urlsafe(24)
        return self._signer.dumps(["login", token]), token

    def login_token_ok(self, request: Request, form_value: str) -> bool:
        """The login form's CSRF pair matches and was not used before (each form posts once)."""
        raw = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        try:
            kind, token = self._signer.loads(raw, max_age=self.max_age)
        except (BadSignature, ValueError, TypeError):
            return False
        if kind != "login" or not hmac.compare_digest(str(token), form_value):
            return False
        now = time.monotonic()
        with self._lock:
            used = self._used_login_tokens
            while used and next(iter(used.values())) < now:  # expired tokens fail the signature anyway
                used.popitem(last=False)
            if token in used:
                return False
            used[token] = now + self.max_age
            while len(used) > MAX_TRACKED_ADDRESSES:
                used.popitem(last=False)
        return True


def client_addr(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def too_many(retry: int) -> HTTPException:
    return HTTPException(
        429,
        f"too many failed admin logins from this address; try again in {retry} s",
        headers={"Retry-After": str(retry)},
    )


def auth_of(request: Request) -> AdminAuth:
    """The app's AdminAuth, created on first use (settings and secret come from ``create_app``)."""
    return install_auth(request.app)


_CREATE_LOCK = threading.Lock()


def install_auth(app: Any) -> AdminAuth:
    """Create the app's AdminAuth once (at startup; lazily, under a lock, if startup was skipped)."""
    state = app.state
    with _CREATE_LOCK:
        auth = getattr(state, "admin_auth", None)
        if auth is None:
            secret = getattr(state, "session_secret", None) or secrets.token_hex(32)
            auth = state.admin_auth = AdminAuth(state.settings, secret)
    return auth  # type: ignore[no-any-return]


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return ("", "")
    return user, password


def require_admin(request: Request) -> Session | None:
    """FastAPI dependency for admin API calls: the session cookie (plus CSRF header on changes)
    or HTTP Basic ``admin:<password>``. Returns the session (None for Basic)."""
    auth = auth_of(request)
    if not auth.enabled:
        raise HTTPException(403, ADMIN_OFF)
    session = auth.session_of(request)
    if session is not None:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                raise HTTPException(403, f"missing or wrong CSRF token (send the {CSRF_HEADER} header)")
        return session
    addr = client_addr(request)
    creds = _basic(request)
    if creds is not None:
        result = auth.check_limited(addr, *creds)
        if result is True:
            return None
        if result is not False:
            raise too_many(result)
        log.warning("admin Basic auth failed addr=%s path=%s", addr, request.url.path)
        raise HTTPException(401, "wrong admin user or password", headers=_challenge(request))
    raise HTTPException(
        401,
        "admin login required: log in at /admin or send HTTP Basic admin:<password>",
        headers=_challenge(request),
    )


def _challenge(request: Request) -> dict[str, str]:
    """Ask for Basic credentials, except from the admin page's own scripts (no browser dialog)."""
    if request.headers.get("x-requested-with") == "tcpchat-admin":
        return {}
    return {"WWW-Authenticate": 'Basic realm="tcpchat admin"'}


def is_admin(request: Request) -> bool:
    """For endpoints open to everyone that show more to admins: True with a valid session or
    Basic credentials, False without credentials; wrong Basic credentials still fail (401/429)."""
    auth = auth_of(request)
    if not auth.enabled:
        return False
    if auth.session_of(request) is not None:
        return True
    if _basic(request) is None:
        return False
    require_admin(request)
    return True
