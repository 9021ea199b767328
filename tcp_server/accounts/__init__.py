"""Accounts: registration, SASL credentials, registered channels and read markers, stored in
the history database (SQLite by default, PostgreSQL with ``database_url``).

The store's methods block and run in worker threads; ``AccountService`` is what handlers use.
"""

from .base import Account, AccountError, AccountStore, ChannelRecord, Loaded
from .factory import make_account_store
from .passwords import ScramKeys, certfp, hash_password, scram_keys, verify_password
from .service import AccountService

__all__ = [
    "Account",
    "AccountError",
    "AccountService",
    "AccountStore",
    "ChannelRecord",
    "Loaded",
    "ScramKeys",
    "certfp",
    "hash_password",
    "make_account_store",
    "scram_keys",
    "verify_password",
]
