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


def server_time(ts: float | None = None) -> str:
    """An IRCv3 ``server-time`` value (UTC, millisecond precision).

    Rounds exactly as ``datetime.fromtimestamp`` does (to the microsecond, half to even), so the
    history store's microsecond times agree with the millisecond a client saw.
    """
    frac, whole = math.modf(time.time() if ts is None else ts)
    micros = round(frac * 1e6)
    if micros >= 1_000_000:
        micros -= 1_000_000
        whole += 1
    second = int(whole)
    cache = _second
    if second != cache.second:
        cache.text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        cache.second = second
    return f"{cache.text}{micros // 1000:03d}Z"


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
        body = f":{source} {command} {format_params(params, trailing)}\r\n".encode("utf-8", "replace")
    if len(body) > MAX_LINE_BYTES and params:  # cut the last parameter: every client can parse it
        params = (*params[:-1], fit_text(source, command, " ".join(params[:-1]), params[-1]))
        body = f":{source} {command} {format_params(params, trailing)}\r\n".encode("utf-8", "replace")
    timed = f"@time={time_tag} ".encode() + body
    if tags:
        items = ";".join(k if v == "" else f"{k}={escape_tag_value(v)}" for k, v in tags.items())
        full = f"@time={time_tag};{items} ".encode("utf-8", "replace") + body
    else:
        full = timed
    return body, timed, full
