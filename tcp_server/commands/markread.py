"""MARKREAD (IRCv3 draft/read-marker): where the user stopped reading each channel or query.

``MARKREAD <target>`` asks, ``MARKREAD <target> timestamp=YYYY-MM-DDThh:mm:ss.sssZ`` sets; the
server answers ``MARKREAD <target> timestamp=...`` (or ``*`` when unknown) with the stored value,
which only moves forward. Clients with ``draft/read-marker`` also get it after each JOIN, before
the names. Markers are never shown to others. A connection logged in to an account keeps them per
account: shared by all its connections, stored in the account database and loaded at login, so
they survive reconnects and restarts; otherwise they are per nick and in memory only
(``state/readmarkers.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..history.sql import EPOCH, ONE_US
from ..protocol import Message, casefold, is_channel_name
from ..state import Client, ServerState, server_time
from ..state.responses import ResponseBuffer
from .replies import fail
from .table import command

CAP = "draft/read-marker"
PREFIX = "timestamp="


def owner(client: Client) -> str:
    """Whose markers a connection reads and moves: its account's (``$a:`` is no nick), or its nick's."""
    return f"$a:{casefold(client.account)}" if client.account else client.nick


def load_account_markers(state: ServerState, client: Client, markers: dict[str, int]) -> None:
    """Put an account's stored markers (folded target -> microseconds) in memory at login."""
    for target, time_us in markers.items():
        state.read_markers.advance(owner(client), target, server_time(time_us / 1_000_000))


def _persist(state: ServerState, client: Client, target: str, stamp: str) -> None:
    svc = state.accounts
    if svc is None or not client.account:
        return
    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    account, folded, time_us = casefold(client.account), casefold(target), (when - EPOCH) // ONE_US
    svc.write(state.offload, lambda: svc.store.set_marker(account, folded, time_us), "saving a read marker")


def send_marker(state: ServerState, client: Client, rb: ResponseBuffer, target: str) -> None:
    """``MARKREAD target timestamp=...|*`` for ``client``."""
    stored = state.read_markers.get(owner(client), target)
    rb.reply("MARKREAD", target, PREFIX + stored if stored else "*")


def _valid(stamp: str) -> bool:
    if len(stamp) != 24 or not stamp.endswith("Z"):
        return False
    try:
        datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


@command("MARKREAD")
def markread(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """MARKREAD target [timestamp=...]: get or advance your read marker for a target."""
    if not msg.params or not msg.params[0]:
        fail(rb, "MARKREAD", "NEED_MORE_PARAMS", "Missing parameters")
        return
    target = msg.params[0]
    if is_channel_name(target):
        channel = state.get_channel(target)
        target = channel.name if channel is not None else target
    elif casefold(target) == client.folded or not target.isprintable():
        fail(rb, "MARKREAD", "INVALID_PARAMS", target, "Invalid parameters")
        return
    if len(msg.params) > 1:
        value = msg.params[1]
        stamp = value[len(PREFIX):] if value.startswith(PREFIX) else ""
        if not _valid(stamp):
            fail(rb, "MARKREAD", "INVALID_PARAMS", value, "Invalid parameters")
            return
        if state.read_markers.advance(owner(client), target, stamp) == stamp:
            _persist(state, client, target, stamp)
    send_marker(state, client, rb, target)
