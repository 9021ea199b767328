"""MARKREAD (IRCv3 draft/read-marker): where the user stopped reading each channel or query.

``MARKREAD <target>`` asks, ``MARKREAD <target> timestamp=YYYY-MM-DDThh:mm:ss.sssZ`` sets; the
server answers ``MARKREAD <target> timestamp=...`` (or ``*`` when unknown) with the stored value,
which only moves forward. Clients with ``draft/read-marker`` also get it after each JOIN, before
the names. Markers are per nick for now (``state/readmarkers.py``) and never shown to others.
"""

from __future__ import annotations

from datetime import datetime

from ..protocol import Message, casefold, is_channel_name
from ..state import Client, ServerState
from .replies import fail
from .table import command

CAP = "draft/read-marker"
PREFIX = "timestamp="


def send_marker(state: ServerState, client: Client, target: str) -> None:
    """``MARKREAD target timestamp=...|*`` for ``client``."""
    stored = state.read_markers.get(client.nick, target)
    state.send_from_server(client, "MARKREAD", target, PREFIX + stored if stored else "*")


def _valid(stamp: str) -> bool:
    if len(stamp) != 24 or not stamp.endswith("Z"):
        return False
    try:
        datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


@command("MARKREAD")
def markread(state: ServerState, client: Client, msg: Message) -> None:
    """MARKREAD target [timestamp=...]: get or advance your read marker for a target."""
    if not msg.params or not msg.params[0]:
        fail(state, client, "MARKREAD", "NEED_MORE_PARAMS", "Missing parameters")
        return
    target = msg.params[0]
    if is_channel_name(target):
        channel = state.get_channel(target)
        target = channel.name if channel is not None else target
    elif casefold(target) == client.folded or not target.isprintable():
        fail(state, client, "MARKREAD", "INVALID_PARAMS", target, "Invalid parameters")
        return
    if len(msg.params) > 1:
        value = msg.params[1]
        stamp = value[len(PREFIX):] if value.startswith(PREFIX) else ""
        if not _valid(stamp):
            fail(state, client, "MARKREAD", "INVALID_PARAMS", value, "Invalid parameters")
            return
        state.read_markers.advance(client.nick, target, stamp)
    send_marker(state, client, target)
