"""draft/multiline: a client batch of PRIVMSG/NOTICE lines relayed and stored as one message.

``BATCH +ref draft/multiline <target>`` opens the batch (its client-only tags and label belong to
the whole message), ``@batch=ref [draft/multiline-concat] PRIVMSG <target> :line`` adds lines
(``dispatch`` routes them here), ``BATCH -ref`` sends it. Recipients with ``draft/multiline``
(and ``batch``) get the same batch with one ``msgid`` on its opening line; the others get the
non-blank lines as plain messages, the ``msgid`` on the first. History stores one message whose
text joins the lines with ``\\n`` (or nothing, for concat lines). Limits: ``multiline_max_bytes``
and ``multiline_max_lines`` (the capability's ``max-bytes``/``max-lines``); breaking one answers
``FAIL BATCH MULTILINE_MAX_BYTES|MULTILINE_MAX_LINES|MULTILINE_INVALID_TARGET|MULTILINE_INVALID``
and the batch is dropped. A batch arrives in one burst, so ``multiline_max_lines`` stays under
``flood_burst`` (defaults 24 and 30): with 100 lines a client would be dropped for Excess Flood.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from ..history.base import StoredMessage
from ..protocol import Message, casefold, escape_tag_value, fit_text, format_params, is_channel_name
from ..protocol import numerics as N
from ..state import Client, ServerState, build_variants, server_time
from ..state.bus import Variants
from ..state.responses import ResponseBuffer
from . import table
from .messaging import _client_tags, _store_then_echo, server_tags
from .replies import fail
from .table import command

CAP = "draft/multiline"
CONCAT = "draft/multiline-concat"
_refs = itertools.count(1)


@dataclass(slots=True)
class OpenBatch:
    """A multiline batch being collected from one client."""

    ref: str
    target: str
    tags: dict[str, str]
    label: str | None
    lines: list[tuple[str, bool]] = field(default_factory=list)
    """(text, concat) per line."""
    size: int = 0
    command: str = ""
    failed: bool = False


def cap_value(state: ServerState) -> str:
    """The capability value: ``max-bytes=N,max-lines=M``."""
    s = state.settings
    return f"max-bytes={s.multiline_max_bytes},max-lines={s.multiline_max_lines}"


def _abort(state: ServerState, client: Client, rb: ResponseBuffer, batch: OpenBatch, code: str, *context: str) -> None:
    batch.failed = True
    fail(rb, "BATCH", code, *context)


def collect(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """One line inside an open multiline batch."""
    batch = client.batch
    assert isinstance(batch, OpenBatch)
    if batch.failed:
        return
    s = state.settings
    if msg.tags.get("batch") != batch.ref or msg.command not in ("PRIVMSG", "NOTICE") or len(msg.params) < 2 or (
        batch.command and msg.command != batch.command
    ):
        _abort(state, client, rb, batch, "MULTILINE_INVALID", "Invalid multiline batch")
        return
    if casefold(msg.params[0]) != casefold(batch.target):
        _abort(state, client, rb, batch, "MULTILINE_INVALID_TARGET", batch.target, msg.params[0],
               "Invalid multiline target")
        return
    batch.command = msg.command
    text, concat = msg.params[1], CONCAT in msg.tags
    if concat and not text:  # the spec forbids it to clients: nothing to join, so refused
        _abort(state, client, rb, batch, "MULTILINE_INVALID", "Blank line with the concat tag")
        return
    batch.size += len(text.encode()) + (1 if batch.lines and not concat else 0)
    batch.lines.append((text, concat))
    if len(batch.lines) > s.multiline_max_lines:
        _abort(state, client, rb, batch, "MULTILINE_MAX_LINES", str(s.multiline_max_lines),
               "Multiline batch max-lines exceeded")
    elif batch.size > s.multiline_max_bytes:
        _abort(state, client, rb, batch, "MULTILINE_MAX_BYTES", str(s.multiline_max_bytes),
               "Multiline batch max-bytes exceeded")


table.BATCHED.append(collect)


@command("BATCH", min_params=1)
def batch_(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """BATCH +ref draft/multiline target | BATCH -ref: send several lines as one message."""
    ref = msg.params[0]
    if ref.startswith("+") and len(ref) > 1:
        if msg.param(1) != CAP or len(msg.params) < 3 or CAP not in client.caps:
            fail(rb, "BATCH", "MULTILINE_INVALID", "Invalid multiline batch")
            return
        if client.batch is not None:
            client.batch = None
            fail(rb, "BATCH", "MULTILINE_INVALID", "Batch already open")
            return
        client.batch = OpenBatch(ref[1:], msg.params[2], _client_tags(client, msg), rb.take_label())
        return
    batch = client.batch
    if not (ref.startswith("-") and isinstance(batch, OpenBatch) and ref[1:] == batch.ref):
        fail(rb, "BATCH", "MULTILINE_INVALID", "Invalid multiline batch")
        return
    client.batch = None
    if batch.failed:
        return
    if not batch.lines or not any(text for text, _ in batch.lines):
        fail(rb, "BATCH", "MULTILINE_INVALID", "Invalid multiline batch")
        return
    _send(state, client, rb, batch)


def _recipients(state: ServerState, client: Client, rb: ResponseBuffer, batch: OpenBatch) -> tuple[str, list[Client]] | None:
    """The target's display name and who receives it; None after sending the error."""
    if is_channel_name(batch.target):
        channel = state.get_channel(batch.target)
        if channel is None:
            rb.numeric(N.ERR_NOSUCHCHANNEL, batch.target, "No such channel")
            return None
        if not channel.can_speak(client):
            rb.numeric(N.ERR_CANNOTSENDTOCHAN, channel.name, "Cannot send to channel")
            return None
        channel.messages += 1
        return channel.name, [m for m in channel.members if m is not client]
    target = state.find_nick(batch.target)
    if target is None:
        rb.numeric(N.ERR_NOSUCHNICK, batch.target, "No such nick/channel")
        return None
    if target.away and batch.command == "PRIVMSG":
        rb.numeric(N.RPL_AWAY, target.nick, target.away)
    return target.nick, [target]


def _batch_form(source: str, command_: str, target: str, batch: OpenBatch, head_tags: str) -> bytes:
    """The whole message as a ``draft/multiline`` batch (``head_tags``: the opening line's tags)."""
    ref = f"ml{next(_refs)}"
    out = [f"{head_tags}:{source} BATCH +{ref} {CAP} {target}\r\n"]
    for text, concat in batch.lines:
        text = fit_text(source, command_, target, text)
        tag = f"@batch={ref};{CONCAT} " if concat else f"@batch={ref} "
        out.append(f"{tag}:{source} {command_} {format_params((target, text), True)}\r\n")
    out.append(f":{source} BATCH -{ref}\r\n")
    return "".join(out).encode("utf-8", "replace")


def _plain_form(
    source: str, command_: str, target: str, batch: OpenBatch, when: str, tags: dict[str, str]
) -> Variants:
    """The non-blank lines as separate messages, per tag level: the first has every tag, the
    others all but the ``msgid`` (as the spec's example shows ``account`` on each line)."""
    variants = [b"", b"", b"", b"", b""]
    rest = {k: v for k, v in tags.items() if k != "msgid"} or None
    first = True
    for text, _ in batch.lines:
        if not text:
            continue
        line = build_variants(source, command_, (target, text), when, tags if first else rest)
        for level in range(5):
            variants[level] += line[level]
        first = False
    return variants[0], variants[1], variants[2], variants[3], variants[4]


def _send(state: ServerState, client: Client, rb: ResponseBuffer, batch: OpenBatch) -> None:
    found = _recipients(state, client, rb, batch)
    if found is None:
        return
    target, recipients = found
    now = time.time()
    when = server_time(now)
    msgid = state.new_msgid()
    tags = {**server_tags(client, msgid), **batch.tags}
    source, command_ = client.prefix, batch.command
    plain = _plain_form(source, command_, target, batch, when, tags)
    items = ";".join(k if v == "" else f"{k}={escape_tag_value(v)}" for k, v in tags.items())
    account = f"account={escape_tag_value(client.account)}" if client.account else ""
    heads = ("", f"@time={when} ", f"@time={when};{items} ",  # the opening line's tags, per tag level
             f"@{account} " if account else "", f"@time={when};{account} " if account else f"@time={when} ")
    batched: dict[int, bytes] = {}

    def form(member: Client) -> bytes:
        if CAP in member.caps and "batch" in member.caps:
            level = member.tag_level
            if level not in batched:
                batched[level] = _batch_form(source, command_, target, batch, heads[level])
            return batched[level]
        return plain[member.tag_level]

    channel = state.get_channel(batch.target) if is_channel_name(batch.target) else None

    def deliver() -> None:
        forms = [_batch_form(source, command_, target, batch, head) for head in heads[:3]]
        if account:
            forms += [_batch_form(source, command_, target, batch, head) for head in heads[3:]]
        else:  # no account tag: the same objects (the cluster then sends three)
            forms += forms[:2]
        batched_forms: Variants = (forms[0], forms[1], forms[2], forms[3], forms[4])
        if channel is not None:  # through the bus: members on every node
            state.bus.to_channel_batch(channel, plain, batched_forms, client, (CAP, "batch"))
            return
        for member in recipients:  # the bus too: the user may be on another node
            if not member.gone:
                sender = client if command_ == "PRIVMSG" else None
                state.bus.to_nick_batch(member, plain, batched_forms, (CAP, "batch"), sender)

    state.counters.messages += 1
    echo = form(client)
    if state.history is None:
        deliver()
        if "echo-message" in client.caps:
            rb.later(batch.label).send(echo)  # the label of the opening BATCH
        return
    text = "".join(("" if concat or i == 0 else "\n") + t for i, (t, concat) in enumerate(batch.lines))
    record = StoredMessage(msgid, now, command_, source, client.nick, target, text, tags)
    later = state.settings.relay_after_commit
    if not later:
        deliver()
    _store_then_echo(state, client, rb, (echo, echo, echo, echo, echo), record, deliver if later else None, label=batch.label)

