"""The command table: each command's handler and preconditions, checked once in ``dispatch``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..protocol import MAX_LABEL_BYTES, Message
from ..protocol import numerics as N
from ..state import Client, ServerState
from ..state.responses import ResponseBuffer

Handler = Callable[[ServerState, Client, Message, ResponseBuffer], None]
"""``handler(state, client, msg, rb)``: replies to ``client`` go to ``rb``, lines to others through
``state.relay`` / ``state.bus``."""


@dataclass(frozen=True, slots=True)
class Command:
    """A command's handler and what must hold before it runs."""

    handler: Handler
    min_params: int = 0
    pre_registration: bool = False
    needs_oper: bool = False


COMMANDS: dict[str, Command] = {}
BATCHED: list[Handler] = []
"""Where lines tagged with the client's open batch go instead (multiline.py registers one)."""


def command(
    name: str, min_params: int = 0, pre_registration: bool = False, needs_oper: bool = False
) -> Callable[[Handler], Handler]:
    """Register ``handler`` under ``name`` in ``COMMANDS``."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(handler, min_params, pre_registration, needs_oper)
        return handler

    return register


def unknown_command(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """A real handler for commands we do not know (never a KeyError)."""
    if client.registered:
        rb.numeric(N.ERR_UNKNOWNCOMMAND, msg.command, "Unknown command")
    else:
        rb.numeric(N.ERR_NOTREGISTERED, "You have not registered")


_UNKNOWN = Command(unknown_command, pre_registration=True)


def label_of(client: Client, msg: Message) -> str | None:
    """The command's ``label`` tag when the client negotiated labeled-response and it is valid."""
    label = msg.tags.get("label") if msg.tags else None
    if not label or "labeled-response" not in client.caps or len(label.encode()) > MAX_LABEL_BYTES:
        return None
    return label


def dispatch(state: ServerState, client: Client, msg: Message) -> None:
    """Run ``msg`` for ``client`` with a fresh response buffer, then flush it (labelled).

    While a labelled command runs, its buffer stands in as the client's outbox, so lines to the
    client from shared code (a relay that includes it) are part of the labelled reply.
    """
    label = label_of(client, msg) if msg.tags else None
    if label is None:  # the hot path: the buffer writes straight through
        run(state, client, msg, ResponseBuffer(state.name, client))
        return
    rb = ResponseBuffer(state.name, client, label)
    client.outbox = rb
    try:
        run(state, client, msg, rb)
    finally:
        if client.outbox is rb:
            client.outbox = rb.outbox
        rb.flush()


def run(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """Check registration, parameters and privileges once, then call the command's handler."""
    if client.batch is not None and msg.tags and msg.command != "BATCH" and "batch" in msg.tags:
        for collect in BATCHED:
            collect(state, client, msg, rb)
        return
    cmd = COMMANDS.get(msg.command, _UNKNOWN)
    if not client.registered and not cmd.pre_registration:
        rb.numeric(N.ERR_NOTREGISTERED, "You have not registered")
        return
    if len(msg.params) < cmd.min_params:
        rb.numeric(N.ERR_NEEDMOREPARAMS, msg.command, "Not enough parameters")
        return
    if cmd.needs_oper and not client.is_oper:
        rb.numeric(N.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator")
        return
    cmd.handler(state, client, msg, rb)
