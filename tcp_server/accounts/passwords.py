"""Password hashing for accounts: scrypt (memory-hard, salted) and stored SCRAM-SHA-256 keys.

Both are slow on purpose; callers run them off the event loop (``ServerState.guarded_check`` /
``offload``). Only derived values are stored: the scrypt digest for PLAIN and PASS, and the
SCRAM ``StoredKey``/``ServerKey`` (RFC 5802), from which the password cannot be read back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from scramp import ScramMechanism

SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
SCRAM = ScramMechanism("SCRAM-SHA-256")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str, n: int) -> str:
    """``scrypt$N$r$p$salt$digest`` (base64 fields) for a new password."""
    salt = os.urandom(SALT_BYTES)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=256 * n * SCRYPT_R)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded`` (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = encoded.split("$")
        if kind != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), maxmem=256 * int(n) * int(r), dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def burn_time(n: int) -> None:
    """Cost like a real check, so a login to an unknown account does not answer sooner."""
    hashlib.scrypt(b"", salt=b"\0" * SALT_BYTES, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=256 * n * SCRYPT_R)


@dataclass(frozen=True, slots=True)
class ScramKeys:
    """What the server keeps to check SCRAM-SHA-256 logins (RFC 5802 section 3)."""

    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int

    def auth_info(self) -> tuple[bytes, bytes, bytes, int]:
        """The tuple ``scramp`` servers look up."""
        return self.salt, self.stored_key, self.server_key, self.iterations


def scram_keys(password: str, iterations: int) -> ScramKeys:
    """Derive the stored SCRAM keys for ``password`` (PBKDF2-HMAC-SHA-256)."""
    salt, stored, server, count = SCRAM.make_auth_info(password, iteration_count=iterations)
    return ScramKeys(salt, stored, server, count)


def certfp(der: bytes) -> str:
    """A TLS client certificate's fingerprint: SHA-256 of its DER bytes, lowercase hex."""
    return hashlib.sha256(der).hexdigest()
