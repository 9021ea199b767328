"""IRC messages: parse one line into a ``Message`` and format a ``Message`` back into bytes.

Pure functions, no I/O. Limits follow the IRCv3 message-tags spec: the tag section may be up to
8191 bytes, the rest of the line 512 bytes including CRLF.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import BadCharacter, InputTooLong, MalformedLine

MAX_LINE_BYTES = 512
"""RFC 1459 line limit, CRLF included, tags excluded."""
MAX_TAG_BYTES = 8191
"""IRCv3 limit on the tag section, the leading '@' and trailing space included."""
MAX_CLIENT_TAG_BYTES = 4094
"""IRCv3 limit on the client-only (``+``) tag data a client sends, so relays stay under 8191."""

_TAG_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_TAG_ESCAPE = str.maketrans({";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"})


@dataclass(frozen=True, slots=True)
class Message:
    """One IRC message: optional tags and source, a command, and its parameters."""

    command: str
    params: tuple[str, ...] = ()
    source: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def param(self, index: int, default: str = "") -> str:
        """The parameter at ``index``, or ``default`` when there are fewer."""
        return self.params[index] if index < len(self.params) else default


_new_object = object.__new__
_slots: Any = Message  # its fields are slot descriptors at run time; the checker sees class variables
_set_command = _slots.command.__set__
_set_params = _slots.params.__set__
_set_source = _slots.source.__set__
_set_tags = _slots.tags.__set__


def _parsed(command: str, params: tuple[str, ...], source: str | None, tags: dict[str, str]) -> Message:
    """A ``Message`` built through its slots: the frozen dataclass ``__init__`` costs ~2x more,
    and ``parse_line`` runs once for every line a client sends."""
    msg = _new_object(Message)
    _set_command(msg, command)
    _set_params(msg, params)
    _set_source(msg, source)
    _set_tags(msg, tags)
    return msg


def escape_tag_value(value: str) -> str:
    """Escape a tag value for the wire (IRCv3 message-tags escaping)."""
    # Most values (msgids, times) need no escaping; five substring tests are ~10x cheaper
    # than a translate with multi-character replacements.
    if ";" in value or " " in value or "\\" in value or "\r" in value or "\n" in value:
        return value.translate(_TAG_ESCAPE)
    return value


def unescape_tag_value(value: str) -> str:
    """Undo tag value escaping; a lone trailing backslash is dropped, as the spec says."""
    if "\\" not in value:
        return value
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == "\\":
            i += 1
            if i < n:
                nxt = value[i]
                out.append(_TAG_UNESCAPE.get(nxt, nxt))
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def parse_tags(raw: str) -> dict[str, str]:
    """Parse the tag section (without '@') into a dict; later duplicates win."""
    tags: dict[str, str] = {}
    for item in raw.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        tags[key] = unescape_tag_value(value) if sep else ""
    return tags


def client_tag_bytes(tags: Mapping[str, str]) -> int:
    """Wire size of the client-only (``+``) tags in ``tags``, separators included."""
    return sum(
        len(k.encode()) + 1 + len(escape_tag_value(v).encode()) for k, v in tags.items() if k[:1] == "+"
    )


def format_tags(tags: Mapping[str, str]) -> str:
    """Format tags as ``@k=v;k2`` without the trailing space; empty string for no tags."""
    if not tags:
        return ""
    parts = [k if v == "" else f"{k}={escape_tag_value(v)}" for k, v in tags.items()]
    return "@" + ";".join(parts)


def parse_line(line: bytes | str) -> Message:
    """Parse one line (without its line ending) into a ``Message``.

    Limits are counted in wire bytes (invalid UTF-8 is decoded with U+FFFD afterwards, so
    replacement characters never make a legal line too long).

    Raises:
        InputTooLong: the tag section or the body exceeds its limit.
        BadCharacter: the line holds a NUL or a bare CR/LF (it could smuggle a second line).
        MalformedLine: the line has no command.
    """
    raw = line.encode("utf-8", "replace") if isinstance(line, str) else line
    raw = raw.rstrip(b"\r\n")
    tags: dict[str, str] = {}
    if raw[:1] == b"@":
        space = raw.find(b" ")
        tag_len = len(raw) + 1 if space < 0 else space + 1
        if tag_len > MAX_TAG_BYTES:
            raise InputTooLong("Input line too long (tags)")
        if space < 0:
            raise MalformedLine("No command given")
        tags = parse_tags(raw[1:space].decode("utf-8", "replace"))
        raw = raw[space + 1 :].lstrip(b" ")
    if len(raw) > MAX_LINE_BYTES - 2:
        raise InputTooLong("Input line too long")
    if 13 in raw or 10 in raw or 0 in raw:  # CR, LF, NUL (byte membership: ~8x cheaper)
        raise BadCharacter("Line contains invalid characters")
    try:  # strict decoding is the fast path (an errors argument costs more than the decode)
        text = raw.decode()
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
    source = None
    if text[:1] == ":":
        source, _, text = text.partition(" ")
        source = source[1:]
        text = text.lstrip(" ")
    head, sep, trailing = text.partition(" :")
    if not sep:
        if text[:1] == ":":
            head, sep, trailing = "", ":", text[1:]
        else:
            head = text
    words = head.split(" ")
    if "" in words:
        words = [w for w in words if w]
        if not words:
            raise MalformedLine("No command given")
    command = words[0].upper()
    if sep:
        words.append(trailing)
    return _parsed(command, tuple(words[1:]), source, tags)


_CHAT_COMMANDS = {b"PRIVMSG": "PRIVMSG", b"NOTICE": "NOTICE"}


def split_chat_line(line: bytes) -> tuple[str, str, str] | None:
    """``(command, target, text)`` of a plain ``PRIVMSG target :text`` (or ``NOTICE``) line.

    Nearly every line a chatting client sends has this shape, and splitting it costs a fraction
    of a ``parse_line`` (no ``Message``, no general split). For anything else (tags, a source, a
    lower-case command, several middle parameters, no ``:`` before the text, a character or
    length ``parse_line`` refuses, invalid UTF-8) it returns None: ``parse_line`` then decides. When it returns
    a result, ``parse_line(line)`` gives the same command and parameters, with no tags or source.
    """
    space = line.find(b" ")
    command = _CHAT_COMMANDS.get(line[:space]) if space > 0 else None
    if command is None:
        return None
    colon = line.find(b" :", space)
    if colon <= space + 1 or len(line) > MAX_LINE_BYTES - 2 or 13 in line or 10 in line or 0 in line:
        return None
    target = line[space + 1 : colon]
    if 32 in target:  # a space: several middle parameters
        return None
    text = line[colon + 2 :]
    try:  # strict decoding is the fast path (an errors argument costs more than the decode)
        return command, target.decode(), text.decode()
    except UnicodeDecodeError:  # parse_line decodes it with U+FFFD; the sender is warned
        return None


def chat_run_texts(lines: Sequence[Any], start: int, text: str) -> list[str]:
    """The texts of ``lines[start]`` (a line ``split_chat_line`` took, whose text is ``text``)
    and of the lines right after it with the same command and target, as ``split_chat_line``
    would give them: a pipelining client's lines in one read, split with one prefix test each.
    The run stops before a line ``split_chat_line`` would refuse (e.g. invalid UTF-8).
    """
    first: bytes = lines[start]  # bytes, or ``LINE_TOO_LONG`` (framing) for the others
    cut = first.find(b" :") + 2  # split_chat_line's colon: no " :" comes before it
    prefix = first[:cut]
    texts = [text]
    limit = MAX_LINE_BYTES - 2
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if (
            line.__class__ is not bytes or not line.startswith(prefix)
            or len(line) > limit or 13 in line or 0 in line or 10 in line
        ):
            break
        try:
            texts.append(line[cut:].decode())
        except UnicodeDecodeError:  # as split_chat_line: the general path relays it and warns the sender
            break
    return texts


_LINE_BREAKS = str.maketrans("\r\n\x00", "   ")


def _one_line(text: str) -> str:
    """Replace CR, LF and NUL with spaces so formatted output is always exactly one line."""
    if "\r" in text or "\n" in text or "\x00" in text:
        return text.translate(_LINE_BREAKS)
    return text


TEXT_COMMANDS = frozenset({"PRIVMSG", "NOTICE"})
"""Commands whose last parameter (the text) always goes out as a trailing ``:`` parameter:
valid either way, but simple clients and bots split on `` :``."""


def format_params(params: tuple[str, ...] | list[str], trailing: bool = False) -> str:
    """Join parameters, making the last one trailing when it needs to be (always with ``trailing``)."""
    if not params:
        return ""
    last = params[-1]
    if not trailing and last and " " not in last and last[0] != ":":
        return _one_line(" ".join(params))
    if len(params) == 1:
        return _one_line(":" + last)
    return _one_line(" ".join(params[:-1]) + " :" + last)


def fit_text(source: str, command: str, middle: str, text: str) -> str:
    """``text`` cut at a character boundary so ``:source command middle :text`` fits 512 bytes.

    Relayed lines gain the sender's prefix, so a client's 510-byte line can come out longer than
    any client (ours included) accepts; the server cuts the last parameter instead.
    """
    if (
        len(source) + len(command) + len(middle) + len(text) + 7 <= MAX_LINE_BYTES
        and text.isascii() and source.isascii() and middle.isascii()  # O(1): chars are bytes
    ):
        return text
    budget = MAX_LINE_BYTES - 7 - len(source.encode()) - len(command) - len(middle.encode())
    if len(text) <= budget and (text.isascii() or len(text.encode()) <= budget):
        return text
    return text.encode()[: max(budget, 0)].decode("utf-8", "ignore")


def format_line(message: Message) -> bytes:
    """Format a ``Message`` as wire bytes ending in CRLF (never more than one line)."""
    parts: list[str] = []
    if message.tags:
        parts.append(format_tags(message.tags))
    if message.source:
        parts.append(":" + message.source)
    parts.append(message.command)
    if message.params:
        parts.append(format_params(message.params, message.command in TEXT_COMMANDS))
    return (_one_line(" ".join(parts)) + "\r\n").encode("utf-8", "replace")
