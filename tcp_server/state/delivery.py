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


class _MilliCache:
    """The last millisecond's ``server-time`` text and its encoded tag (``@time=...``): a busy
    server stamps many messages within one millisecond, and each one's tag is then a lookup."""

    __slots__ = ("ms", "text", "head")

    def __init__(self) -> None:
        self.ms = -1
        self.text = ""
        self.head = b""


_second = _SecondCache()
_milli = _MilliCache()
_MILLIS = tuple(f"{ms:03d}Z" for ms in range(1000))
"""``000Z`` .. ``999Z``: the end of every time tag, formatted once."""
_now = time.time
_EDGE = 0.005
"""How close (in milliseconds) to a millisecond boundary a timestamp may be and still use the
cache: float error in ``ts * 1000`` plus rounding to the microsecond stay far under 5 us, so a
timestamp further inside its millisecond always formats to that millisecond."""


def server_time(ts: float | None = None) -> str:
    """An IRCv3 ``server-time`` value (UTC, millisecond precision).

    Rounds exactly as ``datetime.fromtimestamp`` does (to the microsecond, half to even), so the
    history store's microsecond times agree with the millisecond a client saw.
    """
    if ts is None:
        ts = _now()
    scaled = ts * 1000.0
    ms = int(scaled)
    inside = _EDGE < scaled - ms < 1.0 - _EDGE  # never near a boundary (nor before 1970)
    cache = _milli
    if inside and ms == cache.ms:
        return cache.text
    text = _exact_time(ts)
    if inside:  # the text depends on ``ms`` alone: later stamps in this millisecond reuse it
        cache.ms, cache.text, cache.head = ms, text, ("@time=" + text).encode()
    return text


def _exact_time(ts: float) -> str:
    """``server_time`` computed from scratch (the millisecond cache's source of truth)."""
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


def time_head(time_tag: str) -> bytes:
    """``@time=<time_tag>`` encoded: the tag of this millisecond is encoded once, when
    ``server_time`` returned its cached text."""
    cache = _milli
    return cache.head if time_tag is cache.text else ("@time=" + time_tag).encode("utf-8", "replace")


def build_variants(
    source: str,
    command: str,
    params: tuple[str, ...],
    time_tag: str,
    tags: dict[str, str] | None = None,
) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """Encode one relayed line as (no tags, time tag only, all tags, account tag only, time and
    account tags), indexed by ``tag_level``. Without an ``account`` tag the last two are the
    first two objects again: nothing more is built, and the cluster sends only three."""
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
    head = time_head(time_tag)
    timed = b"".join((head, b" ", body))
    if not tags:
        return body, timed, timed, body, timed
    if len(tags) == 1:  # just the msgid, usually: no comprehension frame
        for k, v in tags.items():
            items = k if v == "" else k + "=" + escape_tag_value(v)
    else:
        items = ";".join([k if v == "" else k + "=" + escape_tag_value(v) for k, v in tags.items()])
    full = b"".join((head, b";", items.encode("utf-8", "replace"), b" ", body))
    account = tags.get("account")
    if account is None:
        return body, timed, full, body, timed
    tag = ("account=" + escape_tag_value(account)).encode("utf-8", "replace")
    return body, timed, full, b"".join((b"@", tag, b" ", body)), b"".join((head, b";", tag, b" ", body))


def build_text_variants(
    source: str, command: str, target: str, text: str, time_tag: str, msgid: str
) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """``build_variants(source, command, (target, text), time_tag, {"msgid": msgid})`` for a
    PRIVMSG or NOTICE, the line every chat message is: the same bytes without the general case's
    branches (anything unusual, such as a text not cut to fit by ``fit_text``, takes that path)."""
    body = f":{source} {command} {target} :{text}\r\n".encode("utf-8", "replace")
    if (
        len(body) > MAX_LINE_BYTES
        or "\r" in text or "\n" in text or "\x00" in text
        or "\r" in target or "\n" in target or "\x00" in target
    ):
        return build_variants(source, command, (target, text), time_tag, {"msgid": msgid})
    head = time_head(time_tag)
    timed = b"".join((head, b" ", body))
    return (
        body,
        timed,
        b"".join((head, b";msgid=", escape_tag_value(msgid).encode("utf-8", "replace"), b" ", body)),
        body,
        timed,
    )
