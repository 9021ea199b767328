"""UTF8ONLY (IRCv3 utf8-only): the server relays only UTF-8.

A line that is not valid UTF-8 is still accepted, decoded with U+FFFD (DESIGN: never a crash,
never a lost line), and its sender is told with ``WARN <command> INVALID_UTF8`` that the message
was modified, as the spec's WARN form describes.
"""

from __future__ import annotations

INVALID_UTF8_CODE = "INVALID_UTF8"
INVALID_UTF8_TEXT = "Your message was not correctly encoded as UTF-8 and had to be modified"


def is_invalid_utf8(line: bytes) -> bool:
    """True when ``line`` is not valid UTF-8 (``parse_line`` replaced some of it with U+FFFD).

    Callers check ``line.isascii()`` first: only the rare non-ASCII line pays for this decode.
    """
    try:
        line.decode()
    except UnicodeDecodeError:
        return True
    return False
