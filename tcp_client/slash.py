"""What the user types: ``/commands`` and plain text, turned into session calls.

Shared by line mode and the full-screen UI so both understand exactly the same input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tcp_server.protocol import Message, is_channel_name

from .events import SessionClosed
from .lines import LineError, split_text, text_budget
from .model import SERVER_ROOM, ChatModel, Line
from .session import ClientSession

DEFAULT_MAX_INPUT_BYTES = 4096
"""Longest input line accepted; longer ones are refused (shorter ones are split as needed)."""

HELP = (
    ("/join #room [key]", "join a room and make it current"),
    ("/part [#room] [reason]", "leave a room (default: the current one)"),
    ("/msg nick text", "send a private message"),
    ("/query nick", "open a private conversation as the current room"),
    ("/me text", "an action in the current room"),
    ("/nick newnick", "change your nick"),
    ("/topic [text]", "show or set the current room's topic"),
    ("/names [#room]", "list a room's members"),
    ("/list", "list rooms"),
    ("/whois nick", "about a user"),
    ("/away [text]", "set away with a message, or back without one"),
    ("/register password", "make your nick an account (then connect with --account)"),
    ("/quote LINE", "send a raw IRC line"),
    ("/quit [reason]", "leave the chat"),
    ("/help", "this help"),
)
COMMANDS = tuple(usage.split()[0] for usage, _ in HELP)


@dataclass
class InputResult:
    """What the UI should do after one input line."""

    lines: list[Line] = field(default_factory=list)
    switch: str | None = None  # room to make current
    quit: str | None = None  # quit reason when the user asked to leave


async def handle_input(
    session: ClientSession,
    model: ChatModel,
    current: str,
    text: str,
    max_bytes: int = DEFAULT_MAX_INPUT_BYTES,
) -> InputResult:
    """Act on one input line typed while ``current`` is the room in view."""
    result = InputResult()

    def say(kind: str, message: str) -> InputResult:
        result.lines.append(model.local(current, kind, message))
        return result

    if not text.strip():
        return result
    if len(text.encode()) > max_bytes:
        return say("error", f"line too long ({len(text.encode())} bytes, limit {max_bytes}): not sent")
    try:
        if text.startswith("/") and not text.startswith("//"):
            return await _command(session, model, current, text, result, say)
        if text.startswith("//"):
            text = text[1:]
        if current == SERVER_ROOM or not current:
            return say("error", "no current room: /join #room first (or /msg nick text)")
        pieces = len(split_text(text, text_budget("PRIVMSG", current, session.prefix)))
        await session.privmsg(current, text)
        if pieces > 1:
            say("info", f"long message sent as {pieces} lines")
    except LineError as exc:
        say("error", f"not sent: {exc}")
    except SessionClosed as exc:
        say("error", f"not connected: {exc}")
    return result


async def _command(session, model, current, text, result, say) -> InputResult:  # noqa: ANN001
    name, _, rest = text[1:].partition(" ")
    name, rest = name.lower(), rest.strip()
    args = rest.split()
    here = current if is_channel_name(current) else ""
    if name == "help":
        for usage, what in HELP:
            say("info", f"{usage:<24} {what}")
    elif name == "quit":
        result.quit = rest or "Leaving"
    elif name == "join":
        if not args:
            return say("error", "usage: /join #room [key]")
        room = args[0] if is_channel_name(args[0]) else "#" + args[0]
        await session.join(room, args[1] if len(args) > 1 else "")
        result.switch = room
    elif name == "part":
        room = args[0] if args and is_channel_name(args[0]) else here
        reason = rest[len(args[0]):].strip() if args and is_channel_name(args[0]) else rest
        if not room:
            return say("error", "usage: /part #room [reason]")
        await session.part(room, reason)
    elif name in ("msg", "query"):
        if not args or (name == "msg" and len(args) < 2):
            return say("error", f"usage: /{name} nick" + (" text" if name == "msg" else ""))
        model.room(args[0])
        if name == "msg":
            await session.privmsg(args[0], rest[len(args[0]):].strip())
        else:
            result.switch = args[0]
    elif name == "me":
        if not current or current == SERVER_ROOM or not rest:
            return say("error", "usage: /me text (in a room)")
        await session.action(current, rest)
    elif name == "nick":
        if len(args) != 1:
            return say("error", "usage: /nick newnick")
        await session.set_nick(args[0])
    elif name == "topic":
        if not here:
            return say("error", "/topic works in a room")
        await (session.topic(here, rest) if rest else session.send(Message("TOPIC", (here,))))
    elif name == "names":
        room = args[0] if args else here
        if not room:
            return say("error", "usage: /names #room")
        await session.send(Message("NAMES", (room,)))
    elif name == "list":
        await session.send(Message("LIST", tuple(args[:1])))
    elif name == "whois":
        if len(args) != 1:
            return say("error", "usage: /whois nick")
        await session.send(Message("WHOIS", (args[0],)))
    elif name == "away":
        await session.away(rest)
    elif name == "register":
        if not rest:
            return say("error", "usage: /register password")
        await session.send(Message("REGISTER", ("*", "*", rest)))
    elif name == "quote":
        if not rest:
            return say("error", "usage: /quote RAW IRC LINE")
        await session.send(rest)
    else:
        say("error", f"unknown command /{name} (try /help)")
    return result
