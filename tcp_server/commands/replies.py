"""IRCv3 standard replies (FAIL, WARN, NOTE): one shape for every command's non-numeric errors.

``FAIL <command> <CODE> [<context>...] :<description>``: the command that failed (``*`` when
unknown), a machine-readable code in capitals, context parameters, then human text. Numerics
stay where RFC 1459/2812 defines one; standard replies cover what has none (SETNAME, REDACT,
MARKREAD, multiline batches, CHATHISTORY, storage and internal errors).
"""

from __future__ import annotations

from ..state.responses import ResponseBuffer

KINDS = ("FAIL", "WARN", "NOTE")


def standard_reply(rb: ResponseBuffer, kind: str, command: str, code: str, *context: str) -> None:
    """Send ``kind command code context... :description`` (the last ``context`` item is the text)."""
    rb.reply(kind, command or "*", code, *context)


def fail(rb: ResponseBuffer, command: str, code: str, *context: str) -> None:
    """``FAIL command CODE [context...] :description``."""
    standard_reply(rb, "FAIL", command, code, *context)
