"""Outgoing-line safety for clients: refuse line injection, split long text at safe boundaries.

Sans-I/O helpers shared by the session and the terminal UI. ``format_line`` in the protocol core
formats whatever it is given; a client must make sure what it formats is one well-formed line.
"""

from __future__ import annotations

from tcp_server.protocol import MAX_LINE_BYTES, Message, ProtocolError, format_line, parse_line

FORBIDDEN = ("\r", "\n", "\x00")
"""Characters that would end or corrupt a line; never allowed in any parameter."""

PREFIX_RESERVE = 1 + 30 + 1 + 17 + 1 + 64
"""Bytes kept free for the ``:nick!~user@host`` prefix the server adds when relaying, when the
session has not learned its own prefix yet (nick 30, user 17, host 64)."""


class LineError(ValueError):
    """The message cannot be sent as one IRC line (injection or over-long)."""


def check_message(msg: Message) -> None:
    """Raise ``LineError`` unless ``msg`` formats as exactly one valid line."""
    if not msg.command or not msg.command.isalnum():
        raise LineError(f"bad command {msg.command!r}")
    for i, param in enumerate(msg.params):
        if any(ch in param for ch in FORBIDDEN):
            raise LineError("parameters must not contain CR, LF or NUL")
        last = i == len(msg.params) - 1
        if not last and (not param or " " in param or param.startswith(":")):
            raise LineError(f"middle parameter {param!r} is empty, has a space or starts with ':'")
    body = format_line(Message(msg.command, msg.params))
    if len(body) > MAX_LINE_BYTES:
        raise LineError(f"line is {len(body)} bytes, the limit is {MAX_LINE_BYTES}")


def as_message(line: Message | str) -> Message:
    """A checked ``Message`` from a raw line or a ``Message``; ``LineError`` when it is unsafe."""
    if isinstance(line, str):
        if any(ch in line for ch in FORBIDDEN):
            raise LineError("a raw line must not contain CR, LF or NUL")
        try:
            line = parse_line(line)
        except ProtocolError as exc:
            raise LineError(str(exc)) from None
    check_message(line)
    return line


def scrub(text: str) -> str:
    """``text`` with lone surrogates (possible in JSON from a browser) replaced by U+FFFD."""
    try:
        text.encode()
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def text_budget(command: str, target: str, prefix: str | None) -> int:
    """Bytes of text that fit in one ``COMMAND target :text`` line as relayed by the server."""
    prefix_len = len(prefix.encode(errors="replace")) + 1 if prefix else PREFIX_RESERVE
    overhead = prefix_len + 1 + len(command) + 1 + len(target.encode(errors="replace")) + 2 + 2
    return MAX_LINE_BYTES - overhead


def split_text(text: str, budget: int) -> list[str]:
    """Split ``text`` into pieces of at most ``budget`` UTF-8 bytes, never inside a character.

    Prefers to break at the last space of a piece; a word longer than the budget is broken at a
    character boundary. Nothing is dropped except the single space a break replaces.
    """
    if budget < 4:
        raise LineError("target too long to send any text")
    if any(ch in text for ch in FORBIDDEN):
        raise LineError("text must not contain CR, LF or NUL")
    text = scrub(text)
    pieces: list[str] = []
    while len(text.encode()) > budget:
        # Longest prefix of text whose encoding fits the budget.
        cut = len(text.encode()[:budget].decode("utf-8", "ignore"))
        space = text.rfind(" ", 0, cut + 1)
        if 0 < space < len(text) - 1:  # a break space is dropped only when text follows it
            pieces.append(text[:space])
            text = text[space + 1 :]
        else:
            pieces.append(text[:cut])
            text = text[cut:]
    if text or not pieces:
        pieces.append(text)
    return pieces


def split_lines(text: str, budget: int) -> list[str]:
    """Multi-line text (from a browser's text box) as IRC-sized lines: split at newlines, each
    line then as ``split_text``; blank lines are dropped and trailing spaces trimmed."""
    return [piece for raw in text.splitlines() if (line := raw.rstrip()) for piece in split_text(line, budget)]
