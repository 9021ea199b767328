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

import asyncio
import itertools
import time

from ..history.base import Cond, StoredMessage
from ..history.keys import channel_key, other_party, private_key
from ..history.query import Ref, UnknownReference, format_timestamp_us, run_query
from ..history.sql import time_us
from ..protocol import Message, add_tag, casefold, format_line, is_channel_name, is_valid_nick, label_response
from ..state import TAGS_ALL, TAGS_TIME, Channel, Client, ServerState, server_time
from .table import command, unknown_command

CAP = "draft/chathistory"
WINDOW_ARGS = {"LATEST": 4, "BEFORE": 4, "AFTER": 4, "AROUND": 4, "BETWEEN": 5, "TARGETS": 4}
"""Parameters each subcommand needs, the subcommand included."""
_batch_ids = itertools.count(1)
PACE_BUDGET = 32 * 1024
"""Bytes of history queued to a client at a time (well under the default 96 KiB sendq)."""
PACE_STEP = 0.01
"""Seconds between checks whether a client's send queue has drained."""
PACE_TIMEOUT = 30.0
"""Seconds a client may leave history unread before the sendq rules apply."""


def _fail(state: ServerState, client: Client, code: str, *params: str, label: str | None = None) -> None:
    if label is None:
        state.send_from_server(client, "FAIL", "CHATHISTORY", code, *params)
    else:  # a reply after the fetch carries the command's label itself (labeled-response)
        line = format_line(Message("FAIL", ("CHATHISTORY", code, *params), state.name))
        client.outbox.send(add_tag(line, "label", label))


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


def _history_message(client: Client, m: StoredMessage) -> Message:
    """A stored message as this client gets it: time and msgid tags as its capabilities allow."""
    tags: dict[str, str] = {}
    if client.tag_level >= TAGS_TIME:
        tags["time"] = server_time(m.time)
    if client.tag_level == TAGS_ALL:
        tags.update(m.tags)
    return Message(m.command, (m.target, m.text), m.source, tags)


def _send_batch(
    state: ServerState, client: Client, kind: str, params: tuple[str, ...], lines: list[Message],
    label: str | None = None,
) -> None:
    """``lines`` wrapped in a batch (plain lines for clients without the batch capability).

    ``label`` (labeled-response) goes on the batch start, else on the first line, else an ACK.
    """
    if "batch" not in client.caps:
        plain = [format_line(line) for line in lines]
        if label is not None:
            plain = label_response(plain, label, state.name, None)
        _deliver(client, plain, _budget(state))
        return
    ref = f"ch{next(_batch_ids)}"
    out = [format_line(Message("BATCH", (f"+{ref}", kind, *params), state.name))]
    if label is not None:
        out[0] = add_tag(out[0], "label", label)
    for line in lines:
        out.append(format_line(Message(line.command, line.params, line.source, {**line.tags, "batch": ref})))
    out.append(format_line(Message("BATCH", (f"-{ref}",), state.name)))
    _deliver(client, out, _budget(state))


def _budget(state: ServerState) -> int:
    """Bytes of history a client may have queued before the rest waits."""
    return min(PACE_BUDGET, state.settings.sendq // 2)


def _deliver(client: Client, lines: list[bytes], budget: int, waited: float = 0.0) -> None:
    """Send ``lines`` paced by the client's send queue, so a big batch does not trip the sendq.

    Lines go out while the queue is under ``budget`` bytes (at most half the sendq); the rest
    waits for the socket to drain. A client that does not read for ``PACE_TIMEOUT`` gets
    everything at once and is dropped by the sendq like any slow reader.
    """
    i = 0
    while i < len(lines) and not client.gone:
        if client.outbox.sendq_bytes >= budget and waited < PACE_TIMEOUT:
            rest = lines[i:]
            asyncio.get_running_loop().call_later(
                PACE_STEP, _deliver, client, rest, budget, waited + PACE_STEP
            )
            return
        client.outbox.send(lines[i])
        i += 1


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
    return private_key(client.nick, target), target, _private_scope(state, client)


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
def chathistory(state: ServerState, client: Client, msg: Message) -> None:
    """CHATHISTORY LATEST|BEFORE|AFTER|AROUND|BETWEEN|TARGETS ...: replies in a batch."""
    store = state.history
    if store is None:
        unknown_command(state, client, msg)
        return
    sub = msg.params[0].upper()
    needed = WINDOW_ARGS.get(sub)
    if needed is None:
        _fail(state, client, "INVALID_PARAMS", msg.params[0], "Unknown CHATHISTORY subcommand")
        return
    if len(msg.params) < needed:
        _fail(state, client, "INVALID_PARAMS", sub, "Missing parameters")
        return
    limit = _parse_limit(msg.params[needed - 1], state.settings.chathistory_max)
    if limit is None:
        _fail(state, client, "INVALID_PARAMS", sub, msg.params[needed - 1], "Limit must be a positive integer")
        return
    if sub == "TARGETS":
        _targets(state, client, msg.params[1:3], limit)
        return
    target = msg.params[1]
    refs = _parse_refs(list(msg.params[2 : needed - 1]), allow_star=sub == "LATEST")
    if isinstance(refs, str):
        _fail(state, client, "INVALID_PARAMS", sub, refs, "Invalid message reference")
        return
    readable = _readable_target(state, client, target)
    if readable is None:
        _fail(state, client, "INVALID_TARGET", sub, target, "Messages could not be retrieved")
        return
    key, display, scope = readable
    label = client.take_label()  # the reply comes after the fetch and carries the label itself

    def done(rows: list[StoredMessage] | None, error: BaseException | None) -> None:
        if client.gone:
            return
        if isinstance(error, UnknownReference):
            _fail(state, client, "INVALID_PARAMS", sub, f"msgid={error}", "Unknown message reference",
                  label=label)
        elif error is not None or rows is None:
            _fail(state, client, "MESSAGE_ERROR", sub, target, "Messages could not be retrieved", label=label)
        else:
            lines = [_history_message(client, m) for m in rows]
            _send_batch(state, client, "chathistory", (display,), lines, label)

    store.fetch(lambda: run_query(store, sub, key, refs, limit, scope), done)


def _targets(state: ServerState, client: Client, texts: tuple[str, ...], limit: int) -> None:
    """CHATHISTORY TARGETS timestamp=A timestamp=B limit: who talked in that window."""
    store = state.history
    assert store is not None
    refs = _parse_refs(list(texts), allow_star=False)
    if isinstance(refs, str) or any(r is None or r.ms is None for r in refs):
        bad = refs if isinstance(refs, str) else " ".join(texts)
        _fail(state, client, "INVALID_PARAMS", "TARGETS", bad, "TARGETS needs two timestamps")
        return
    lo, hi = sorted(r.ms for r in refs if r is not None and r.ms is not None)
    window = (Cond("time_us", ">=", (lo + 1) * 1000), Cond("time_us", "<", hi * 1000))
    names = {folded: ch.name for folded, ch in client.channels.items()}
    me = casefold(client.nick)
    label = client.take_label()

    def done(rows: list | None, error: BaseException | None) -> None:  # type: ignore[type-arg]
        if client.gone:
            return
        if error is not None or rows is None:
            _fail(state, client, "MESSAGE_ERROR", "TARGETS", "*", "Targets could not be retrieved", label=label)
            return
        lines = [
            Message("CHATHISTORY", ("TARGETS", names.get(row.key) or other_party(row.key, me),
                                    format_timestamp_us(row.time_us)), state.name)
            for row in rows
        ]
        _send_batch(state, client, "draft/chathistory-targets", (), lines, label)

    store.fetch(
        lambda: store.targets(tuple(names), me, window, _private_scope(state, client), limit), done
    )


def replay_on_join(state: ServerState, client: Client, channel: Channel) -> None:
    """Send the last ``history_replay_lines`` of a channel to a joiner without chathistory."""
    count = state.settings.history_replay_lines
    store = state.history
    if not count or store is None or CAP in client.caps:
        return
    before_join = (Cond("time_us", "<", time_us(time.time())),)
    key = channel_key(channel.name)

    def done(rows: list[StoredMessage] | None, error: BaseException | None) -> None:
        if client.gone or not rows:
            return
        _deliver(client, [format_line(_history_message(client, m)) for m in rows], _budget(state))

    store.fetch(lambda: store.select(key, before_join, count, newest_first=True), done)


def install(state: ServerState) -> None:
    """Hook the JOIN replay into ``state`` (the server calls this once history is open)."""
    if state.history is not None and state.settings.history_replay_lines:
        state.on_join.append(lambda client, channel: replay_on_join(state, client, channel))
