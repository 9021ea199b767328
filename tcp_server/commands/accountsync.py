"""Account and registered-channel changes made on another node (or by an operator here).

Nodes sharing one PostgreSQL database hear each other's account writes (accounts/pgwatch.py)
and call ``apply_change``: the changed record is read again off the event loop and what this
node keeps in memory follows it. Account names decide nick protection, so a nick registered on
node A is protected on node B at once; a dropped account logs its sessions out everywhere; a
registered channel's record (founder, operator accounts, stored topic, modes and lists) decides
``@`` on JOIN and how an empty channel is recreated. Passwords, flags and certificates are read
from the database at each login, so nothing about them is cached.
"""

from __future__ import annotations

import logging

from ..accounts import Account, ChannelRecord, Loaded
from ..accounts.base import ACCOUNT_CHANGED, ALL_CHANGED, CHANNEL_CHANGED
from ..protocol import casefold
from ..protocol import numerics as N
from ..state import Client, ServerState, build_variants, server_time
from .accounts import notice, protect_nick
from .monitor import extended_watchers

log = logging.getLogger("tcpchat.accounts")


def apply_change(state: ServerState, kind: str, folded: str) -> None:
    """Another node changed account or channel ``folded`` (``kind``): reload it off the loop."""
    svc = state.accounts
    if svc is None:
        return
    store = svc.store

    def failed(error: BaseException) -> None:
        log.warning("accounts: reloading %s %r after another node's change failed: %r", kind, folded, error)

    if kind == ACCOUNT_CHANGED:
        def account_read(account: Account | None, error: BaseException | None) -> None:
            if error is not None:
                failed(error)
            else:
                account_changed(state, folded, account is not None)

        state.offload(lambda: store.get(folded), account_read)
    elif kind == CHANNEL_CHANGED:
        def channel_read(record: ChannelRecord | None, error: BaseException | None) -> None:
            if error is not None:
                failed(error)
            else:
                svc.apply_channel(folded, record)

        state.offload(lambda: store.get_channel(folded), channel_read)
    elif kind == ALL_CHANGED:
        def all_read(loaded: Loaded | None, error: BaseException | None) -> None:
            if error is not None or loaded is None:
                failed(error or ValueError("nothing loaded"))
                return
            for gone in svc.names - loaded.names:
                account_changed(state, gone, False)
            for name in loaded.names - svc.names:
                account_changed(state, name, True)
            for channel in set(svc.channels) | set(loaded.channels):
                svc.apply_channel(channel, loaded.channels.get(channel))

        state.offload(store.load, all_read)


def account_changed(state: ServerState, folded: str, exists: bool) -> None:
    """Keep the account names true; protect the nick of a new account, log out a dropped one."""
    svc = state.accounts
    assert svc is not None
    if exists:
        svc.names.add(folded)
        holder = state.nicks.get(folded)
        if holder is not None and holder.id in state.clients:  # a local user (not a remote one)
            protect_nick(state, holder)
        return
    svc.names.discard(folded)
    for client in list(state.clients.values()):
        if client.account and casefold(client.account) == folded and not client.gone:
            log_out(state, client)
        elif client.folded == folded:
            protect_nick(state, client)  # no longer an account's nick: the countdown stops


def log_out(state: ServerState, client: Client) -> None:
    """The client's account is gone: 901, account-notify ``ACCOUNT *`` to peers on every node."""
    name = client.account
    client.account = None
    state.numeric(client, N.RPL_LOGGEDOUT, client.prefix, "You are now logged out")
    notice(state, client, f"The account {name} was dropped")
    variants = build_variants(client.prefix, "ACCOUNT", ("*",), server_time())
    for peer in state.peers_of(client) | extended_watchers(state, client, "account-notify"):
        if "account-notify" in peer.caps:
            peer.outbox.send(variants[peer.tag_level])
    state.bus.user_changed(client, variants, "account-notify")
    protect_nick(state, client)


def install(state: ServerState) -> None:
    """Apply the changes the store hears about from other nodes (called by ``accounts.install``)."""
    svc = state.accounts
    if svc is not None:
        svc.store.on_change = lambda kind, folded: apply_change(state, kind, folded)

