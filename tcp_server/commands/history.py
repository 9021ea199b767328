"""CHATHISTORY (IRCv3 draft/chathistory) and the replay of recent lines on JOIN.

The handler checks everything it can synchronously (subcommand, counts, limit, references, who
may read the target), then hands the query to the store with ``fetch``; the reply (a ``batch``)
is sent when the rows arrive. Errors use the spec's three codes: INVALID_PARAMS (anything
malformed, an unknown subcommand, an unknown msgid), INVALID_TARGET (no such target, or one the
client may not read) and MESSAGE_ERROR (the store failed). Who may read what:

- a channel: its members (and IRC operators, for the admin API); others get INVALID_TARGET;
- a private conversation: only messages since the asking connection signed on, unless it is
  logged in to an account: then everything since the account was created, from any connection
  and across reconnects (an account owns its nick, see commands/accounts.py). Without an account
  a nick is not an identity, and whoever takes a nick next must not read the previous holder's
  private messages.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable

from ..history.base import Cond, StoredMessage, TargetActivity
from ..history.keys import channel_key, other_party, private_key
from ..history.query import Ref, UnknownReference, format_timestamp_us, run_query
from ..history.sql import time_us
from ..protocol import (
    Message,
    TokenBucket,
    casefold,
    format_line,
    is_channel_name,
    is_valid_nick,
)
from ..state import TAGS_ALL, TIMED_LEVELS, Channel, Client, ServerState, server_time
from ..state.responses import Late, ResponseBuffer
from .table import command, unknown_command

CAP = "draft/chathistory"
WINDOW_ARGS = {"LATEST": 4, "BEFORE": 4, "AFTER": 4, "AROUND": 4, "BETWEEN": 5, "TARGETS": 4}
"""Parameters each subcommand needs, the subcommand included."""
_batch_ids = itertools.count(1)
MULTILINE, CONCAT = "draft/multiline", "draft/multiline-concat"
ROW_BYTES = 400
"""Most bytes of a multi-line message's row per line when history sends it back as a batch."""


def _fail(rb: ResponseBuffer, code: str, *params: str) -> None:
    rb.reply("FAIL", "CHATHISTORY", code, *params)


def _fail_late(late: Late, code: str, *params: str) -> None:
    """The failure of a fetch, in the request's reserved place (labelled like any reply)."""
    late.release(lambda rb: _fail(rb, code, *params))


def _parse_limit(text: str, maximum: int) -> int | None:
    """A positive count clamped to ``maximum``; None when it is not a positive integer."""
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text) if len(text) <= 9 else maximum
    return min(value, maximum) if value > 0 else None


def _private_scope(state: ServerState, client: Client) -> tuple[Cond, ...]:
    """What of its private conversations a connection may read (see the module docstring)."""
    if client.account:  # everything since the account exists, from any connection
        svc = state.accounts
        created = svc.created_us.get(casefold(client.account), 0) if svc is not None else 0
        return (Cond("time_us", ">=", created),) if created else ()
    return (Cond("time_us", ">=", time_us(client.signon)),)


def private_owner(client: Client) -> str:
    """Whose private conversations a connection reads: its account's when logged in (the account
    owns the nick of that name, so a second connection using a fallback nick like ``alice_`` still
    reads alice's), else its nick's."""
    return client.account or client.nick


def _history_message(client: Client, m: StoredMessage) -> Message:
    """A stored message as this client gets it: time and msgid tags as its capabilities allow
    (``account`` alone for account-tag without message-tags)."""
    tags: dict[str, str] = {}
    level = client.tag_level
    if level in TIMED_LEVELS:
        tags["time"] = server_time(m.time)
    if level == TAGS_ALL:
        tags.update(m.tags)
    elif level > TAGS_ALL and "account" in m.tags:
        tags["account"] = m.tags["account"]
    return Message(m.command, (m.target, m.text), m.source, tags)


def _write_batch(rb: ResponseBuffer, kind: str, params: tuple[str, ...], lines: list[Message]) -> None:
    """``lines`` in a batch of ``kind`` (plain lines for clients without the batch capability).

    A stored message that does not fit one line (rows joined by ``\n``, or a row longer than
    ``ROW_BYTES``: a ``draft/multiline`` batch with concat lines stores one long row) goes back as
    the multiline batch it was sent as, or, to a client without ``draft/multiline``, as its rows
    in plain lines (as the live relay sends it): never as one over-long line.
    The label goes on the batch start (``ResponseBuffer.render``), else on the first line, else
    an ``ACK``.
    """
    ref = rb.start_batch(kind, *params)
    multiline = ref is not None and MULTILINE in rb.client.caps
    for line in lines:
        text = line.params[1] if len(line.params) == 2 else ""
        if "\n" not in text and len(text.encode()) <= ROW_BYTES:
            rb.add(format_line(line))
        elif multiline and ref is not None:
            for part in _multiline_batch(line, ref):
                rb.add(part)
        else:
            for part in _plain_rows(line):
                rb.add(part)
    rb.end_batch(ref)


def _pieces(text: str) -> list[tuple[str, bool]]:
    """A stored message's text as (piece, continues the previous piece) pairs: a piece per row,
    a row longer than ``ROW_BYTES`` cut (on a character boundary) into concat pieces."""
    out: list[tuple[str, bool]] = []
    for row in text.split("\n"):
        first = True
        while first or row:
            piece = row.encode()[:ROW_BYTES].decode("utf-8", "ignore") if len(row.encode()) > ROW_BYTES else row
            out.append((piece, not first))
            row, first = row[len(piece):], False
    return out


def _multiline_batch(line: Message, outer: str) -> list[bytes]:
    """A stored multi-line message (rows joined by ``\n``) as the ``draft/multiline`` batch it was
    sent as, nested in the history batch ``outer``: a line per row, long rows in concat pieces."""
    inner = f"ml{next(_batch_ids)}"
    target, text = line.params
    out = [format_line(Message("BATCH", (f"+{inner}", MULTILINE, target), line.source, {**line.tags, "batch": outer}))]
    for piece, concat in _pieces(text):
        tags = {"batch": inner, CONCAT: ""} if concat else {"batch": inner}
        out.append(format_line(Message(line.command, (target, piece), line.source, tags)))
    out.append(format_line(Message("BATCH", (f"-{inner}",), line.source)))
    return out


def _plain_rows(line: Message) -> list[bytes]:
    """A stored multi-line message for a client without ``draft/multiline``: its non-blank pieces
    as plain lines, all tags on the first, only ``time`` on the rest (the live relay's fallback)."""
    target, text = line.params
    rest = {"time": line.tags["time"]} if "time" in line.tags else {}
    pieces = [piece for piece, _ in _pieces(text) if piece.strip()] or [""]
    return [format_line(Message(line.command, (target, piece), line.source, line.tags if i == 0 else rest))
            for i, piece in enumerate(pieces)]


def _readable_target(
    state: ServerState, client: Client, target: str
) -> tuple[str, str, tuple[Cond, ...]] | None:
    """(key, display name, scope) of a target the client may read, else None."""
    if is_channel_name(target):
        channel = state.get_channel(target)
        if channel is not None and client in channel.members:
            return channel_key(channel.name), channel.name, ()
        if client.is_oper and (channel is not None or len(target) <= state.settings.channel_len):
            return channel_key(target), channel.name if channel else target, ()
        return None
    if not is_valid_nick(target, state.settings.nick_len):
        return None
    return private_key(private_owner(client), target), target, _private_scope(state, client)


def _parse_refs(texts: list[str], allow_star: bool) -> tuple[Ref | None, ...] | str:
    """The parsed references, or the offending text."""
    refs: list[Ref | None] = []
    for text in texts:
        if allow_star and text == "*":
            refs.append(None)
            continue
        try:
            refs.append(Ref.parse(text))
        except (ValueError, OverflowError):
            return text
    return tuple(refs)


@command("CHATHISTORY", min_params=1)
def chathistory(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """CHATHISTORY LATEST|BEFORE|AFTER|AROUND|BETWEEN|TARGETS ...: replies in a batch."""
    store = state.history
    if store is None:
        unknown_command(state, client, msg, rb)
        return
    sub = msg.params[0].upper()
    needed = WINDOW_ARGS.get(sub)
    if needed is None:
        _fail(rb, "INVALID_PARAMS", msg.params[0], "Unknown CHATHISTORY subcommand")
        return
    if len(msg.params) < needed:
        _fail(rb, "INVALID_PARAMS", sub, "Missing parameters")
        return
    limit = _parse_limit(msg.params[needed - 1], state.settings.chathistory_max)
    if limit is None:
        _fail(rb, "INVALID_PARAMS", sub, msg.params[needed - 1], "Limit must be a positive integer")
        return
    if sub == "TARGETS":
        _targets(state, client, rb, msg.params[1:3], limit)
        return
    target = msg.params[1]
    refs = _parse_refs(list(msg.params[2 : needed - 1]), allow_star=sub == "LATEST")
    if isinstance(refs, str):
        _fail(rb, "INVALID_PARAMS", sub, refs, "Invalid message reference")
        return
    readable = _readable_target(state, client, target)
    if readable is None:
        _fail(rb, "INVALID_TARGET", sub, target, "Messages could not be retrieved")
        return
    key, display, scope = readable

    def start(late: Late, finished: Callable[[], None]) -> None:
        def done(rows: list[StoredMessage] | None, error: BaseException | None) -> None:
            if client.gone:
                return
            if isinstance(error, UnknownReference):
                _fail_late(late, "INVALID_PARAMS", sub, f"msgid={error}", "Unknown message reference")
            elif error is not None or rows is None:
                _fail_late(late, "MESSAGE_ERROR", sub, target, "Messages could not be retrieved")
            else:
                lines = [_history_message(client, m) for m in rows]
                late.release_paced(lambda rb: _write_batch(rb, "chathistory", (display,), lines), finished)
                return
            finished()

        store.fetch(lambda: run_query(store, sub, key, refs, limit, scope), done)

    _queue(state, client, rb, start, sub)


def _targets(state: ServerState, client: Client, rb: ResponseBuffer, texts: tuple[str, ...], limit: int) -> None:
    """CHATHISTORY TARGETS timestamp=A timestamp=B limit: who talked in that window."""
    store = state.history
    assert store is not None
    refs = _parse_refs(list(texts), allow_star=False)
    if isinstance(refs, str) or any(r is None or r.ms is None for r in refs):
        bad = refs if isinstance(refs, str) else " ".join(texts)
        _fail(rb, "INVALID_PARAMS", "TARGETS", bad, "TARGETS needs two timestamps")
        return
    lo, hi = sorted(r.ms for r in refs if r is not None and r.ms is not None)
    window = (Cond("time_us", ">=", (lo + 1) * 1000), Cond("time_us", "<", hi * 1000))
    names = {folded: ch.name for folded, ch in client.channels.items()}
    me = casefold(private_owner(client))

    def start(late: Late, finished: Callable[[], None]) -> None:
        def done(rows: list[TargetActivity] | None, error: BaseException | None) -> None:
            if client.gone:
                return
            if error is not None or rows is None:
                _fail_late(late, "MESSAGE_ERROR", "TARGETS", "*", "Targets could not be retrieved")
                finished()
                return
            lines = [
                Message("CHATHISTORY", ("TARGETS", names.get(row.key) or other_party(row.key, me),
                                        format_timestamp_us(row.time_us)), state.name)
                for row in rows
            ]
            late.release_paced(lambda rb: _write_batch(rb, "draft/chathistory-targets", (), lines), finished)

        store.fetch(
            lambda: store.targets(tuple(names), me, window, _private_scope(state, client), limit), done
        )

    _queue(state, client, rb, start, "TARGETS")


def replay_owner(client: Client) -> str:
    """Who saw a channel up to when (``history/left.py``): the account (``$a:`` is no nick) when
    logged in, so any of its connections counts, else the casefolded nick."""
    return f"$a:{casefold(client.account)}" if client.account else client.folded


def record_left(state: ServerState, client: Client, channel: Channel) -> None:
    """``client`` left ``channel`` (PART, KICK, QUIT, lost connection, shutdown): its next JOIN
    replays from here."""
    store = state.history
    if store is not None and client.folded:
        store.left.record(replay_owner(client), channel_key(channel.name), time_us(time.time()))


def replay_on_join(state: ServerState, client: Client, channel: Channel) -> None:
    """Send a joiner without chathistory what it missed: the lines stored since it last left
    the channel, at most ``history_replay_lines``; on a first join (nothing recorded), the last
    ``history_replay_lines``. Then record the join as seen, so the same lines never come twice."""
    count = state.settings.history_replay_lines
    store = state.history
    if not count or store is None or CAP in client.caps:
        return
    now_us = time_us(time.time())
    who, key = replay_owner(client), channel_key(channel.name)

    def start(late: Late, finished: Callable[[], None]) -> None:
        def done(rows: list[StoredMessage] | None, error: BaseException | None) -> None:
            if client.gone:
                return
            if error is None and channel.folded in client.channels:
                store.left.record(who, key, now_us)  # seen up to the join (matters after a crash)
            lines = [format_line(_history_message(client, m)) for m in rows or ()]

            def write(rb: ResponseBuffer) -> None:
                for line in lines:
                    rb.add(line)

            late.release_paced(write, finished)

        store.fetch(lambda: store.missed(who, key, now_us, count), done)

    _queue(state, client, None, start, None)


# ---- one request at a time per client, paced and rate limited ------------------------------
Start = Callable[[Late, Callable[[], None]], None]
"""Runs one history request: fetch, then ``late.release_paced`` its reply, then ``finished``."""


def _queue(state: ServerState, client: Client, rb: ResponseBuffer | None, start: Start, sub: str | None) -> None:
    """Serve ``start`` after the client's earlier history requests, within its rate.

    A client's requests run one at a time and the next starts only when the previous reply has
    been handed to its socket (``release_paced`` sends it as the socket drains), so one client
    holds at most one reply in memory and a burst of requests cannot grow the server. Each keeps
    its place in the client's output (a hold): replies come in the order of its commands.
    ``rb``: the CHATHISTORY command's buffer (its label goes on the late reply); None for the
    replay on JOIN, which answers no command of its own.
    """
    queue = client.history_queue
    if queue is None:
        queue = client.history_queue = deque()
    if len(queue) >= state.settings.chathistory_queue:
        if sub is not None and rb is not None:
            _fail(rb, "MESSAGE_ERROR", sub, "*", "Too many history requests at once")
        return
    late = rb.later() if rb is not None else Late.unlabelled(state.name, client)
    queue.append((late, start))
    if len(queue) == 1:
        _serve_next(state, client)


def _serve_next(state: ServerState, client: Client, waited: bool = False) -> None:
    queue = client.history_queue
    if client.gone or not queue:
        return
    wait = 0.0 if waited else _take_token(state, client)
    if wait:
        state.call_later(wait, lambda: _serve_next(state, client, waited=True))
        return
    late, start = queue[0]

    def finished() -> None:
        if queue and queue[0][0] is late:
            queue.popleft()
        _serve_next(state, client)

    start(late, finished)


def _take_token(state: ServerState, client: Client) -> float:
    """Take one request from the client's token bucket: 0, or seconds until one is there."""
    rate = state.settings.chathistory_rate
    if not rate:
        return 0.0
    now = time.monotonic()
    bucket = client.history_bucket
    if bucket is None:  # made on first use: most clients never ask for history
        bucket = client.history_bucket = TokenBucket(rate, state.settings.chathistory_burst, now)
    return bucket.reserve(now)  # a refused request waits for the next token, which is then its own


def install(state: ServerState) -> None:
    """Hook the JOIN replay and the recording of leaving times into ``state`` (the server calls
    this once history is open)."""
    if state.history is not None and state.settings.history_replay_lines:
        state.on_join.append(lambda client, channel: replay_on_join(state, client, channel))
        state.on_leave.append(lambda client, channel: record_left(state, client, channel))
