"""Protocol errors that carry the IRC numeric to answer with (like h11's error_status_hint)."""

from __future__ import annotations


class ProtocolError(Exception):
    """A line broke the protocol; ``numeric`` is the reply the peer should get."""

    numeric: str = "421"

    def __init__(self, message: str, numeric: str | None = None) -> None:
        super().__init__(message)
        if numeric is not None:
            self.numeric = numeric


class InputTooLong(ProtocolError):
    """A line (or its tag section) exceeded the size limit: ERR_INPUTTOOLONG."""

    numeric = "417"


class MalformedLine(ProtocolError):
    """A line could not be parsed at all (empty command, bare tags)."""

    numeric = "421"


class BadCharacter(ProtocolError):
    """A line held NUL, or CR/LF before its end: ERR_UNKNOWNERROR, the line is dropped."""

    numeric = "400"
