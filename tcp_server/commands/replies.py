"""IRCv3 standard replies (FAIL, WARN, NOTE): one shape for every command's non-numeric errors.

``FAIL <command> <CODE> [<context>...] :<description>``: the command that failed (``*`` when
unknown), a machine-readable code in capitals, context parameters, then human text. Numerics
stay where RFC 1459/2812 defines one; standard replies cover what has none (SETNAME, REDACT,
MARKREAD, multiline batches, CHATHISTORY, storage and internal errors).
"""

from __future__ import annotations

from ..protocol import Message, add_tag, format_line
from ..state import Client, ServerState

KINDS = ("FAIL", "WARN", "NOTE")


def standard_reply(
    state: ServerState, client: Client, kind: str, command: str, code: str, *context: str,
    label: str | None = None,
) -> None:
    """Send ``kind command code context... :description`` (the last ``context`` item is the text)."""
    line = format_line(Message(kind, (command or "*", code, *context), state.name))
    client.outbox.send(line if label is None else add_tag(line, "label", label))


def fail(state: ServerState, client: Client, command: str, code: str, *context: str) -> None:
    """``FAIL command CODE [context...] :description``."""
    standard_reply(state, client, "FAIL", command, code, *context)
