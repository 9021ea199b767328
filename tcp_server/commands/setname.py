"""SETNAME (IRCv3 setname): change the realname while connected.

The user, peers sharing a channel and extended-monitor watchers that negotiated ``setname`` see
``:nick!user@host SETNAME :new name``; an empty or over-long name is
``FAIL SETNAME INVALID_REALNAME`` (the limit is ``realname_len``, advertised as ``NAMELEN``).
"""

from __future__ import annotations

from ..protocol import Message
from ..state import Client, ServerState, build_variants, server_time
from ..state.responses import ResponseBuffer
from .monitor import extended_watchers
from .replies import fail
from .table import command

CAP = "setname"


@command("SETNAME", min_params=1)
def setname(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """SETNAME :realname: change your realname (peers with the setname capability are told)."""
    name = msg.params[0]
    if not name or len(name) > state.settings.realname_len:
        fail(rb, "SETNAME", "INVALID_REALNAME", "Realname is not valid")
        return
    client.realname = name
    variants = build_variants(client.prefix, "SETNAME", (name,), server_time())
    for peer in state.peers_of(client) | extended_watchers(state, client, CAP) | {client}:
        if CAP in peer.caps:
            peer.outbox.send(variants[peer.tag_level])
    state.bus.user_changed(client, variants, CAP)
