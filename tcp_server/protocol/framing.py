"""Line framing with a size limit: bytes in, complete lines out (sans-I/O)."""

from __future__ import annotations

from .message import MAX_LINE_BYTES, MAX_TAG_BYTES

DEFAULT_MAX_LINE = MAX_TAG_BYTES + MAX_LINE_BYTES
"""Largest line we accept from the wire: a full tag section plus a full body."""


class LineTooLong:
    """Marker yielded in place of a line that exceeded the framing limit (and was dropped)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "LINE_TOO_LONG"


LINE_TOO_LONG = LineTooLong()


class LineBuffer:
    """Splits a byte stream into lines ending in ``\\n`` (an optional ``\\r`` is stripped).

    The buffer never holds more than ``max_line`` bytes of an unfinished line: an over-long
    line is discarded up to its end and reported once as ``LINE_TOO_LONG``.
    """

    __slots__ = ("_buf", "_max", "_discarding")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._buf = b""
        self._max = max_line
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes | LineTooLong]:
        """Add received bytes; return the complete lines (without line endings) they finish."""
        buf = self._buf + data if self._buf else data
        parts = buf.split(b"\n")  # one C call instead of a find per line (runs once per read)
        rest = parts.pop()
        max_line = self._max
        out: list[bytes | LineTooLong] = []
        for line in parts:
            if self._discarding:
                self._discarding = False
            elif len(line) > max_line:
                out.append(LINE_TOO_LONG)
            else:
                if line[-1:] == b"\r":
                    line = line[:-1]
                if line:
                    out.append(line)
        if len(rest) > max_line:
            if not self._discarding:
                out.append(LINE_TOO_LONG)
            self._discarding = True
            rest = b""
        self._buf = rest
        return out

    @property
    def pending(self) -> int:
        """Bytes held for an unfinished line."""
        return len(self._buf)

    @property
    def at_line_start(self) -> bool:
        """True when the next byte fed starts a new line (nothing held, nothing being discarded)."""
        return not self._buf and not self._discarding
