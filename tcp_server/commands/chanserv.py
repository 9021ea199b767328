"""Registered channels: ``CS REGISTER #c`` (ergo's ChanServ syntax; ``CHANSERV`` works too).

A logged-in channel operator registers a channel; from then on its topic, modes, key, limit,
ban lists (+b/+e/+I, with who set each entry and when) and operators' accounts are stored and
survive restarts. With accounts on, ``$a:name`` in a list matches whoever is logged in to
account ``name`` (``$a`` alone: anyone logged in), e.g. ``+I $a:alice`` or ``+b $a:troll``. When the channel is empty
(after a restart, or when everyone left) the first JOIN recreates it from the store, so +i,
+k and +l apply to that JOIN too, and nobody gets ``@`` for being first: ``@`` goes to the
accounts in its operator list (the founder, and whoever an operator gave +o while logged in).

- ``CS REGISTER #c``: you must be logged in and an operator of ``#c``.
- ``CS UNREGISTER #c``: the founder or an IRC operator; the channel behaves as today again.
- ``CS INFO #c``: founder and operator accounts.
"""

from __future__ import annotations

import logging
from typing import Any

from ..accounts import ChannelRecord
from ..protocol import Message, casefold
from ..state import Channel, Client, ServerState
from ..state.masks import EXTBANS, LIST_MODES, ListEntry
from ..state.responses import ResponseBuffer
from .table import command

log = logging.getLogger("tcpchat.accounts")


def _lists(channel: Channel) -> dict[str, list[list[Any]]]:
    """The channel's ban, exception and invite-exception lists as JSON-able entries."""
    return {
        mode: [[e.mask, e.setter, e.set_at, e.by_oper] for e in entries.values()]
        for mode, entries in channel.lists.items() if entries
    }


def account_extban(value: str, client: Client) -> bool:
    """``$a:name`` matches a client logged in to account ``name`` (``$a`` alone: to any account)."""
    if not client.account:
        return False
    return not value or casefold(value) == casefold(client.account)


def snapshot(record: ChannelRecord, channel: Channel) -> ChannelRecord:
    """``record`` updated from the live channel, including who holds ``@`` while logged in."""
    record.name = channel.name
    record.topic, record.topic_by, record.topic_at = channel.topic, channel.topic_by, channel.topic_at
    record.modes = "".join(sorted(channel.modes))
    record.key, record.limit = channel.key, channel.limit
    record.bans = _lists(channel)
    ops = set(record.ops)
    for member, modes in channel.members.items():
        if member.account:
            (ops.add if "o" in modes else ops.discard)(casefold(member.account))
    ops.add(record.founder)
    record.ops = sorted(ops)
    return record


def save(state: ServerState, channel: Channel) -> None:
    """Store a registered channel's current state (off the loop); unregistered ones: nothing."""
    svc = state.accounts
    record = svc.channels.get(channel.folded) if svc is not None else None
    if svc is None or record is None:
        return
    snap = ChannelRecord.from_json(snapshot(record, channel).to_json())  # a copy for the thread
    svc.write(state.offload, svc.channel_writer(channel.folded, snap), f"saving {channel.name}")


def restore(state: ServerState, name: str) -> Channel | None:
    """A registered channel recreated, empty, from its record (``ServerState.channel_restorer``)."""
    svc = state.accounts
    folded = casefold(name)
    record = svc.channels.get(folded) if svc is not None else None
    if record is None:
        return None
    channel = Channel(record.name, folded)
    channel.topic, channel.topic_by, channel.topic_at = record.topic, record.topic_by, record.topic_at
    channel.modes = set(record.modes)
    channel.key, channel.limit = record.key, record.limit
    if record.created:
        channel.created = record.created
    for mode, entries in record.bans.items():
        if mode in LIST_MODES and entries:
            channel.lists[mode] = {
                casefold(mask): ListEntry(mask, setter, int(set_at), bool(by_oper))
                for mask, setter, set_at, by_oper in entries
            }
    return channel


def join_modes(state: ServerState, client: Client, channel: Channel, modes: str) -> str:
    """In a registered channel ``@`` comes from the operator list, never from joining first."""
    svc = state.accounts
    record = svc.channels.get(channel.folded) if svc is not None else None
    if record is None:
        return modes
    return "o" if client.account and casefold(client.account) in record.ops else ""


@command("CS", min_params=1)
def chanserv(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """CS REGISTER|UNREGISTER|INFO #channel."""
    svc = state.accounts
    sub = msg.params[0].upper()
    if svc is None or sub not in ("REGISTER", "UNREGISTER", "INFO") or len(msg.params) < 2:
        rb.notice("Usage: CS REGISTER #channel | CS UNREGISTER #channel | CS INFO #channel")
        return
    folded = casefold(msg.params[1])
    record = svc.channels.get(folded)
    channel = state.get_channel(msg.params[1])
    if sub == "INFO":
        if record is None:
            rb.notice(f"{msg.params[1]} is not registered")
        else:
            rb.notice(f"{record.name} founder={record.founder} ops={','.join(record.ops)}")
        return
    if client.account is None:
        rb.notice("Log in to an account first")
        return
    me = casefold(client.account)
    if sub == "UNREGISTER":
        if record is None or (record.founder != me and not client.is_oper):
            rb.notice(f"{msg.params[1]}: only its founder can unregister it")
            return
        del svc.channels[folded]
        svc.write(state.offload, svc.channel_writer(folded, None), f"unregistering {record.name}")
        rb.notice(f"{record.name} is no longer registered")
        return
    if channel is None or not channel.is_op(client):
        rb.notice(f"{msg.params[1]}: you must be an operator of the channel")
        return
    if record is not None:
        rb.notice(f"{channel.name} is already registered to {record.founder}")
        return
    svc.channels[folded] = ChannelRecord(channel.name, folded, me, ops=[me], created=channel.created)
    save(state, channel)
    log.info("channel registered %s founder=%s", channel.name, client.account)
    rb.notice(f"{channel.name} is registered to your account {client.account}")


command("CHANSERV", min_params=1)(chanserv)


def install(state: ServerState) -> None:
    """Wire restore, join modes and saving into the state (called by ``accounts.install``)."""
    state.channel_restorer = lambda name: restore(state, name)
    state.join_modes = lambda client, channel, modes: join_modes(state, client, channel, modes)
    state.on_channel_change.append(lambda channel: save(state, channel))
    EXTBANS["a"] = account_extban
