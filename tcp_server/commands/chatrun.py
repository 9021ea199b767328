"""Consecutive chat lines of one client to one channel, relayed together.

A busy client's read usually carries a few ``PRIVMSG #room :text`` lines (a pipelining client,
a paste, a bot). ``relay_chat_line`` relays each one to every member: a Python call per line and
member. ``relay_chat_run`` formats each line as it would, then hands every member the lines
joined, in one call: each member receives the same bytes in the same order, the per-member work
is done once per run instead of once per line, and the lines share the member's next write.
"""

from __future__ import annotations

import time

from ..history.base import stored_message
from ..protocol import MAX_LINE_BYTES, escape_tag_value, fit_text
from ..state import ServerState, build_variants, server_time
from ..state.bus import Variants
from ..state.client import Client
from ..state.delivery import build_text_variants, time_head
from ..state.responses import ResponseBuffer
from .messaging import NotStored, _store_then_echo, plain_relay_channel, server_tags

ChatLine = tuple[str, str, str]
"""``(command, target, text)`` as ``split_chat_line`` gives it."""


def relay_chat_run(state: ServerState, client: Client, command_: str, target_name: str, texts: list[str]) -> bool:
    """``relay_chat_line`` for each of ``texts`` in order, the relay to members done once.

    Returns False, having done nothing, wherever ``relay_chat_line`` would return False for one
    of the lines, and in a cluster (its bus publishes each message on its own): the caller then
    handles the lines one by one.
    """
    if "" in texts or state.bus.clustered:
        return False
    channel = plain_relay_channel(state, client, target_name)
    if channel is None:
        return False
    history = state.history
    client.last_active = now = time.time()
    name, prefix = channel.name, client.prefix
    time_tag = server_time(now)
    special = "B" in client.modes or client.account
    done: list[tuple[str, str, dict[str, str], Variants]] = []
    echo = "echo-message" in client.caps
    stored: list[tuple[str, str]] | None = None  # (msgid, text) to store, when no echo waits
    if special or (history is not None and echo):  # each echo needs its own line
        plain: list[bytes] = []
        timed: list[bytes] = []
        tagged: list[bytes] = []
        account: list[bytes] = []
        timed_account: list[bytes] = []
        for text in texts:
            msgid = state.new_msgid()
            text = fit_text(prefix, command_, name, text)
            if special:
                tags = server_tags(client, msgid)
                variants = build_variants(prefix, command_, (name, text), time_tag, tags)
            else:
                tags = {"msgid": msgid}
                variants = build_text_variants(prefix, command_, name, text, time_tag, msgid)
            plain.append(variants[0])
            timed.append(variants[1])
            tagged.append(variants[2])
            if client.account:
                account.append(variants[3])
                timed_account.append(variants[4])
            done.append((msgid, text, tags, variants))
        joined_plain, joined_timed = b"".join(plain), b"".join(timed)
        joined: Variants = (
            joined_plain, joined_timed, b"".join(tagged),
            b"".join(account) if client.account else joined_plain,
            b"".join(timed_account) if client.account else joined_timed,
        )
    else:
        if history is not None:
            stored = []
        joined = _joined_variants(state, prefix, command_, name, texts, time_tag, stored)
    state.bus.to_channel(channel, joined, skip=client)
    n = len(texts)
    channel.messages += n
    state.counters.messages += n
    extra = n - 1  # the transport counts the joined lines as one (``msgs_out``, per queued item)
    for member in channel.members:
        member.msgs_out += extra
    if history is None:  # nothing to commit: the echoes (if asked for) go out right away
        if echo:
            client.outbox.send(joined[client.tag_level])
        else:
            client.msgs_out -= extra
        return True
    client.msgs_out -= extra  # its echoes go out one by one
    if stored is not None:  # no echo to hold: the records, each with a FAIL-only callback
        append, nick = history.append, client.nick
        for msgid, text in stored:
            record = stored_message(msgid, now, command_, prefix, nick, name, text, {"msgid": msgid})
            append(record, NotStored(state, client, record))
        return True
    for msgid, text, tags, variants in done:  # each echo waits for its own commit
        record = stored_message(msgid, now, command_, prefix, client.nick, name, text, tags)
        _store_then_echo(state, client, ResponseBuffer(state.name, client), variants, record)
    return True


def _joined_variants(
    state: ServerState, prefix: str, command_: str, name: str, texts: list[str], time_tag: str,
    stored: list[tuple[str, str]] | None = None,
) -> Variants:
    """The run's lines joined, per variant: ``build_text_variants`` of each line (a new msgid
    each), concatenated, built without a tuple per line. ``stored`` collects each line's msgid
    and text as sent (what history keeps)."""
    bodies: list[bytes] = []
    tagged: list[bytes] = []
    head = time_head(time_tag)
    tag_head = head + b";msgid="
    new_msgid = state.new_msgid
    odd_name = "\r" in name or "\n" in name or "\x00" in name  # never in a channel's name
    for text in texts:
        msgid = new_msgid()
        text = fit_text(prefix, command_, name, text)
        if stored is not None:
            stored.append((msgid, text))
        body = f":{prefix} {command_} {name} :{text}\r\n".encode("utf-8", "replace")
        if len(body) > MAX_LINE_BYTES or "\r" in text or "\n" in text or "\x00" in text or odd_name:
            variants = build_text_variants(prefix, command_, name, text, time_tag, msgid)
            bodies.append(variants[0])
            tagged.append(variants[2])
            continue
        bodies.append(body)
        tagged += (tag_head, escape_tag_value(msgid).encode("utf-8", "replace"), b" ", body)
    plain, timed = b"".join(bodies), (head + b" ").join([b"", *bodies])
    return plain, timed, b"".join(tagged), plain, timed  # no account: the sender has none
