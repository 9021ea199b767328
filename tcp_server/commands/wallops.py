"""WALLOPS: an operator's message to every user with user mode ``+w``."""

from __future__ import annotations

from ..protocol import Message
from ..state import Client, ServerState, build_variants, server_time
from ..state.responses import ResponseBuffer
from .table import command


@command("WALLOPS", min_params=1, needs_oper=True)
def wallops(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """WALLOPS :text: operators only; users with +w (the sender too, if +w) receive it."""
    variants = build_variants(client.prefix, "WALLOPS", (msg.params[0],), server_time())
    state.relay((c for c in state.clients.values() if "w" in c.modes and c.registered), variants)
