"""The account store interface and its records: accounts, certificate fingerprints, registered
channels, read markers.

Methods other than ``start``/``close`` block (a database round trip); the server calls them
through ``ServerState.offload`` or ``guarded_check``, never on the event loop. ``start`` returns
what the server keeps in memory (account names, registered channels), so handlers never wait
for the database to answer "is this nick registered?".
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .passwords import ScramKeys


class AccountError(Exception):
    """The store could not do what was asked (closed, database error)."""


@dataclass(frozen=True, slots=True)
class Account:
    """One registered account. ``folded`` (casefolded name) is its key."""

    name: str
    folded: str
    password: str
    """``scrypt$...`` digest (see passwords.py), never the password."""
    scram: ScramKeys
    created_us: int
    verified: bool = True
    disabled: bool = False


@dataclass(slots=True)
class ChannelRecord:
    """What a registered channel keeps across restarts (stored as JSON, so fields can grow)."""

    name: str
    folded: str
    founder: str
    """The folded account that registered it."""
    topic: str = ""
    topic_by: str = ""
    topic_at: int = 0
    modes: str = "nt"
    key: str | None = None
    limit: int | None = None
    ops: list[str] = field(default_factory=list)
    """Folded accounts that get ``@`` when they join logged in (the founder always does)."""
    bans: dict[str, list[list[Any]]] = field(default_factory=dict)
    """List modes (``b``, ``e``, ``I``): entries ``[mask, setter, set_at, by_oper]``."""
    created: int = 0

    def to_json(self) -> str:
        """The stored form."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ChannelRecord:
        """Read a stored record, ignoring fields a newer server wrote."""
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What ``start`` hands the server: kept in memory while it runs."""

    names: set[str]
    channels: dict[str, ChannelRecord]


ACCOUNT_CHANGED = "a"
"""``on_change`` kind: the account ``folded`` was created, changed or dropped elsewhere."""
CHANNEL_CHANGED = "c"
"""``on_change`` kind: the registered channel ``folded`` was saved or dropped elsewhere."""
ALL_CHANGED = "*"
"""``on_change`` kind: changes may have been missed (the watch reconnected): reload everything."""


class AccountStore(ABC):
    """Accounts and registered channels in the history database (SQLite or PostgreSQL)."""

    on_change: Callable[[str, str], None] | None = None
    """Called on the event loop with ``(kind, folded)`` when another server sharing the database
    changed an account or a registered channel (``*_CHANGED``); set by the server. A store that
    no other server shares (SQLite) never calls it."""

    @abstractmethod
    async def start(self) -> Loaded:
        """Create or migrate the tables; return the account names and registered channels."""

    @abstractmethod
    async def close(self) -> None:
        """Release the connection."""

    @abstractmethod
    def create(self, account: Account, certfp: str | None = None) -> bool:
        """Insert ``account`` (and a certificate fingerprint); False when the name is taken."""

    @abstractmethod
    def get(self, folded: str) -> Account | None:
        """The account called ``folded``, if any."""

    @abstractmethod
    def by_certfp(self, certfp: str) -> Account | None:
        """The account a certificate fingerprint is registered to, if any."""

    @abstractmethod
    def add_certfp(self, folded: str, certfp: str) -> bool:
        """Register ``certfp`` to the account; False when another account has it."""

    @abstractmethod
    def set_flags(self, folded: str, verified: bool | None = None, disabled: bool | None = None) -> bool:
        """Approve or disable an account; False when it does not exist."""

    @abstractmethod
    def set_password(self, folded: str, password: str, scram: ScramKeys) -> bool:
        """Replace the account's password digest and SCRAM keys; False when it does not exist."""

    @abstractmethod
    def list_accounts(self) -> list[Account]:
        """Every account, by name."""

    @abstractmethod
    def drop_account(self, folded: str) -> bool:
        """Delete the account, its certificates and read markers; False when it does not exist."""

    @abstractmethod
    def load(self) -> Loaded:
        """Every account name and registered channel, as ``start`` returns them (a resync)."""

    @abstractmethod
    def get_channel(self, folded: str) -> ChannelRecord | None:
        """The registered channel ``folded``, if it is registered."""

    @abstractmethod
    def save_channel(self, record: ChannelRecord) -> None:
        """Insert or replace a registered channel."""

    @abstractmethod
    def drop_channel(self, folded: str) -> None:
        """Forget a registered channel."""

    @abstractmethod
    def set_marker(self, account: str, target: str, time_us: int) -> int:
        """Move the account's read marker on ``target`` forward; returns the stored value."""

    @abstractmethod
    def get_marker(self, account: str, target: str) -> int | None:
        """The account's read marker on ``target`` (microseconds), if set."""

    @abstractmethod
    def markers(self, account: str) -> dict[str, int]:
        """All of the account's read markers: folded target -> microseconds."""
