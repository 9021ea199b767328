"""Formatting a relayed message once per tag variant, so fan-out only hands out shared bytes."""

from __future__ import annotations

import itertools
import math
import secrets
import time
from datetime import UTC, datetime

from ..protocol import MAX_LINE_BYTES, TEXT_COMMANDS, escape_tag_value, fit_text, format_params


class _SecondCache:
    """The formatted date and second of the last timestamp: formatting it costs microseconds,
    and a busy server stamps thousands of messages within the same second."""

    __slots__ = ("second", "text")

    def __init__(self) -> None:
        self.second = -1
        self.text = ""


_second = _SecondCache()
_MILLIS = tuple(f"{ms:03d}Z" for ms in range(1000))
"""``000Z`` .. ``999Z``: the end of every time tag, formatted once."""
_now = time.time


def server_time(ts: float | None = None) -> str:
    """An IRCv3 ``server-time`` value (UTC, millisecond precision).

    Rounds exactly as ``datetime.fromtimestamp`` does (to the microsecond, half to even), so the
    history store's microsecond times agree with the millisecond a client saw.
    """
    if ts is None:
        ts = _now()
    if ts >= 0:  # int() truncates as modf does, and ts - second is exactly modf's fraction
        second = int(ts)
        micros = round((ts - second) * 1e6)
    else:
        frac, whole = math.modf(ts)
        second, micros = int(whole), round(frac * 1e6)
    if micros >= 1_000_000:
        micros -= 1_000_000
        second += 1
    cache = _second
    if second != cache.second:
        cache.text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        cache.second = second
    if micros < 0:  # before 1970 (never on a running server): as formatted before
        return f"{cache.text}{micros // 1000:03d}Z"
    return cache.text + _MILLIS[micros // 1000]


class MsgIdGenerator:
    """Unique, compact message ids: a random per-process prefix and a counter."""

    __slots__ = ("_prefix", "_counter")

    def __init__(self, node: str | None = None) -> None:
        self._prefix = (node or secrets.token_hex(4)) + "-"
        self._counter = itertools.count(int(time.time() * 1000) << 8)

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):x}"


def build_variants(
    source: str,
    command: str,
    params: tuple[str, ...],
    time_tag: str,
    tags: dict[str, str] | None = None,
) -> tuple[bytes, bytes, bytes]:
    """Encode one relayed line as (no tags, time tag only, all tags), indexed by ``tag_level``."""
    trailing = command in TEXT_COMMANDS
    if not params:  # e.g. AWAY without text: no trailing space
        body = f":{source} {command}\r\n".encode("utf-8", "replace")
    else:
        if trailing and len(params) == 2:  # PRIVMSG/NOTICE target :text, the hot path
            rest = f"{params[0]} :{params[1]}"
            if "\r" in rest or "\n" in rest or "\x00" in rest:
                rest = format_params(params, trailing)
        else:
            rest = format_params(params, trailing)
        body = f":{source} {command} {rest}\r\n".encode("utf-8", "replace")
        if len(body) > MAX_LINE_BYTES:  # cut the last parameter: every client can parse it
            params = (*params[:-1], fit_text(source, command, " ".join(params[:-1]), params[-1]))
            body = f":{source} {command} {format_params(params, trailing)}\r\n".encode("utf-8", "replace")
    head = "@time=" + time_tag
    timed = (head + " ").encode() + body
    if tags:
        if len(tags) == 1:  # just the msgid, usually: no comprehension frame
            for k, v in tags.items():
                items = k if v == "" else k + "=" + escape_tag_value(v)
        else:
            items = ";".join([k if v == "" else k + "=" + escape_tag_value(v) for k, v in tags.items()])
        full = f"{head};{items} ".encode("utf-8", "replace") + body
    else:
        full = timed
    return body, timed, full
