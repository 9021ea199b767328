"""HELP and HELPOP: the command list, or one command's help from its handler's docstring.

Replies follow modern IRC: ``704`` (start), ``705`` (text), ``706`` (end), ``524`` when no help
exists for the subject. The help text is the handler docstring, so it cannot drift from the code.
"""

from __future__ import annotations

import textwrap

from ..protocol import Message
from ..protocol import numerics as N
from ..state import Client, ServerState
from ..state.responses import ResponseBuffer
from .table import COMMANDS, command

WIDTH = 70


def _topic_lines(subject: str) -> list[str] | None:
    if subject == "*":
        names = sorted(COMMANDS)
        return ["Commands (HELP <command> for details):", *textwrap.wrap(" ".join(names), WIDTH)]
    cmd = COMMANDS.get(subject)
    if cmd is None or not cmd.handler.__doc__:
        return None
    doc = textwrap.dedent(cmd.handler.__doc__).strip()
    lines = [subject]
    for para in doc.splitlines():
        lines += textwrap.wrap(para, WIDTH) or [""]
    return lines


@command("HELP")
def help_(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """HELP [command]: list the commands, or explain one."""
    subject = msg.param(0, "*").upper() or "*"
    lines = _topic_lines(subject)
    if lines is None:
        rb.numeric(N.ERR_HELPNOTFOUND, subject, "No help available on this topic")
        return
    rb.numeric(N.RPL_HELPSTART, subject, lines[0])
    for line in lines[1:]:
        rb.numeric(N.RPL_HELPTXT, subject, line)
    rb.numeric(N.RPL_ENDOFHELP, subject, "End of /HELP")


@command("HELPOP")
def helpop(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """HELPOP [command]: the same as HELP."""
    help_(state, client, msg, rb)
