"""The command table: each command's handler and preconditions, checked once in ``dispatch``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..protocol import Message
from ..protocol import numerics as N
from ..state import Client, ServerState

Handler = Callable[[ServerState, Client, Message], None]


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


def unknown_command(state: ServerState, client: Client, msg: Message) -> None:
    """A real handler for commands we do not know (never a KeyError)."""
    if client.registered:
        state.numeric(client, N.ERR_UNKNOWNCOMMAND, msg.command, "Unknown command")
    else:
        state.numeric(client, N.ERR_NOTREGISTERED, "You have not registered")


_UNKNOWN = Command(unknown_command, pre_registration=True)


def dispatch(state: ServerState, client: Client, msg: Message) -> None:
    """Run ``msg`` for ``client`` after checking registration, parameters and privileges."""
    if client.batch is not None and msg.tags and msg.command != "BATCH" and "batch" in msg.tags:
        for collect in BATCHED:
            collect(state, client, msg)
        return
    cmd = COMMANDS.get(msg.command, _UNKNOWN)
    if not client.registered and not cmd.pre_registration:
        state.numeric(client, N.ERR_NOTREGISTERED, "You have not registered")
        return
    if len(msg.params) < cmd.min_params:
        state.numeric(client, N.ERR_NEEDMOREPARAMS, msg.command, "Not enough parameters")
        return
    if cmd.needs_oper and not client.is_oper:
        state.numeric(client, N.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator")
        return
    cmd.handler(state, client, msg)
