"""PRIVMSG, NOTICE and TAGMSG: relay to channels and nicks, store, echo after commit.

STATUSMSG (``PRIVMSG @#room``, ``+#room``) reaches the channel's operators (or voiced members and
up) and is not stored: CHATHISTORY would show it to every member. A +B (bot) user's messages
carry the ``bot`` tag. Client-only tags (``+typing``, ``+draft/reply``, ``+draft/react``) pass
through to message-tags clients.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..history.base import StoredMessage, stored_message
from ..protocol import (
    CHANTYPES,
    MAX_CLIENT_TAG_BYTES,
    Message,
    casefold,
    fit_text,
    format_line,
    format_tags,
    is_channel_name,
)
from ..protocol import numerics as N
from ..state import TAGS_ALL, Channel, Client, ServerState, build_variants, server_time
from ..state.bus import Variants
from ..state.delivery import build_text_variants
from ..state.responses import ResponseBuffer
from .table import command


def _client_tags(client: Client, msg: Message) -> dict[str, str]:
    """Client-only tags (``+name``) a message-tags client attached, to pass along."""
    if client.tag_level != TAGS_ALL or not msg.tags:
        return {}
    return {k: v for k, v in msg.tags.items() if k.startswith("+")}


def _tags_too_long(state: ServerState, client: Client, rb: ResponseBuffer, msg: Message) -> bool:
    """417 when the client's tag data exceeds 4094 bytes (4096 with the ``@`` and the space).

    The message-tags spec counts every tag the client sent, client-only or not; relayed with the
    server's tags, the section then stays under 8191 bytes.
    """
    if msg.tags and len(format_tags(msg.tags).encode()) - 1 > MAX_CLIENT_TAG_BYTES:
        rb.numeric(N.ERR_INPUTTOOLONG, "Input line too long (client tags)")
        return True
    return False


def _store_then_echo(
    state: ServerState,
    client: Client,
    rb: ResponseBuffer,
    variants: Variants,
    record: StoredMessage,
    relay_later: Callable[[], None] | None = None,
    label: str | None = None,
) -> None:
    """Store the message; the sender's echo (its acknowledgement) waits for the commit.

    The echo takes a place in the sender's output (``rb.later``): replies to its later commands
    wait behind it, so they arrive in the order of its commands, and it carries the command's
    label. With ``relay_after_commit``, ``relay_later`` hands the message to the other recipients
    once it is committed too. ``label``: one the caller took earlier (a multiline batch's, from
    its opening ``BATCH``).
    """
    assert state.history is not None
    # the delayed echo carries the label; in a cluster it also waits for its turn (bus.echo)
    echo = state.bus.echo(rb, variants, True, label) if "echo-message" in client.caps else None

    def committed(error: BaseException | None) -> None:
        if error is None and relay_later is not None:
            relay_later()
        if client.gone:
            return
        failure = None
        if error is not None:
            failure = format_line(
                Message(
                    "FAIL",
                    (record.command, "MESSAGE_NOT_STORED", record.target,
                     f"Message could not be stored: {error}"),
                    state.name,
                )
            )
        if echo is not None:
            echo.committed(failure)
        elif failure is not None:
            client.outbox.send(failure)

    state.history.append(record, committed)


def _deliver_later(
    state: ServerState, recipients: list[Client], variants: Variants, sender: Client
) -> Callable[[], None]:
    """Relay to ``recipients`` (those still connected) when called: after the commit."""

    def deliver() -> None:
        state.relay([m for m in recipients if not m.gone], variants, skip=sender)

    return deliver


STATUS_RANKS = {"@": "o", "+": "ov"}
"""STATUSMSG prefixes (``PRIVMSG @#c``) and the member modes that receive each."""


def server_tags(client: Client, msgid: str) -> dict[str, str]:
    """Tags the server puts on a user's message: ``msgid``, ``bot`` for a +B user, and
    ``account`` for a logged-in one (account-tag; it rides on the tagged variant)."""
    tags = {"msgid": msgid, "bot": ""} if "B" in client.modes else {"msgid": msgid}
    if client.account:
        tags["account"] = client.account
    return tags


def _relay_status(state: ServerState, client: Client, rb: ResponseBuffer, msg: Message, status: str, name: str, text: str) -> None:
    """STATUSMSG: to the channel's operators (``@``) or voiced and up (``+``); never stored."""
    notice = msg.command == "NOTICE"
    channel = state.get_channel(name)
    if channel is None:
        if not notice:
            rb.numeric(N.ERR_NOSUCHCHANNEL, name, "No such channel")
        return
    if not channel.can_speak(client):
        if not notice:
            rb.numeric(N.ERR_CANNOTSENDTOCHAN, channel.name, "Cannot send to channel")
        return
    target = status + channel.name
    text = fit_text(client.prefix, msg.command, target, text)
    tags = {**server_tags(client, state.new_msgid()), **_client_tags(client, msg)}
    variants = build_variants(client.prefix, msg.command, (target, text), server_time(), tags)
    state.bus.to_channel(channel, variants, skip=client, only=STATUS_RANKS[status])
    state.counters.messages += 1
    if "echo-message" in client.caps:
        state.bus.echo(rb, variants)


def _relay(state: ServerState, client: Client, rb: ResponseBuffer, msg: Message, target_name: str, text: str, now: float) -> None:
    """One target of a PRIVMSG/NOTICE (runs once per message: kept free of avoidable calls)."""
    command_ = msg.command
    notice = command_ == "NOTICE"
    first = target_name[0]
    if first in STATUS_RANKS and is_channel_name(target_name[1:]):
        _relay_status(state, client, rb, msg, first, target_name[1:], text)
        return
    msgid = state.new_msgid()
    if msg.tags or "B" in client.modes or client.account:
        tags = {**server_tags(client, msgid), **_client_tags(client, msg)}
    else:  # the usual case, without two helper calls and a dict merge
        tags = {"msgid": msgid}
    history = state.history
    after_commit = history is not None and state.settings.relay_after_commit
    relay_later: Callable[[], None] | None = None
    if first in CHANTYPES:  # is_channel_name (target_name is never empty here)
        channel = state.channels.get(casefold(target_name))
        if channel is None:
            if not notice:
                rb.numeric(N.ERR_NOSUCHCHANNEL, target_name, "No such channel")
            return
        if not channel.can_speak(client):
            if not notice:
                rb.numeric(N.ERR_CANNOTSENDTOCHAN, channel.name, "Cannot send to channel")
            return
        text = fit_text(client.prefix, command_, channel.name, text)
        variants = build_variants(client.prefix, command_, (channel.name, text), server_time(now), tags)
        if after_commit:  # the members at the time it was said, once it is stored
            relay_later = _deliver_later(state, list(channel.members), variants, client)
        else:
            state.bus.to_channel(channel, variants, skip=client)
        channel.messages += 1
        stored_target = channel.name
    else:
        target = state.find_nick(target_name)
        if target is None:
            if not notice:
                rb.numeric(N.ERR_NOSUCHNICK, target_name, "No such nick/channel")
            return
        text = fit_text(client.prefix, command_, target.nick, text)
        variants = build_variants(client.prefix, command_, (target.nick, text), server_time(now), tags)
        if after_commit:
            relay_later = _deliver_later(state, [target], variants, client)
        else:
            state.bus.to_nick(target, variants, sender=None if notice else client)
        if target.away and not notice:
            rb.numeric(N.RPL_AWAY, target.nick, target.away)
        stored_target = target.nick
    state.counters.messages += 1
    if history is None:  # nothing to commit: the echo (if asked for) goes out now (cluster: at its turn)
        if "echo-message" in client.caps:
            state.bus.echo(rb, variants)
        return
    record = stored_message(msgid, now, command_, client.prefix, client.nick, stored_target, text, tags)
    _store_then_echo(state, client, rb, variants, record, relay_later)


@command("PRIVMSG")
def privmsg(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """PRIVMSG target[,target] :text."""
    notice = msg.command == "NOTICE"
    if not msg.params or not msg.params[0]:
        if not notice:
            rb.numeric(N.ERR_NORECIPIENT, f"No recipient given ({msg.command})")
        return
    if len(msg.params) < 2 or not msg.params[1]:
        if not notice:
            rb.numeric(N.ERR_NOTEXTTOSEND, "No text to send")
        return
    if msg.tags and _tags_too_long(state, client, rb, msg):
        return
    raw_targets = msg.params[0]
    if "," not in raw_targets:  # one target (max_targets is at least 1): the usual case
        client.last_active = now = time.time()
        _relay(state, client, rb, msg, raw_targets, msg.params[1], now)
        return
    # duplicates (in any case) get the message once
    targets = list({casefold(t): t for t in raw_targets.split(",") if t}.values())
    if len(targets) > state.settings.max_targets:
        if not notice:
            rb.numeric(N.ERR_TOOMANYTARGETS, msg.params[0], "Too many recipients")
        return
    client.last_active = now = time.time()
    # several targets, several echoes (each after its commit): one labelled batch
    batch = rb.open_label_batch() if "echo-message" in client.caps else None
    for target_name in targets:
        _relay(state, client, rb, msg, target_name, msg.params[1], now)
    rb.close_label_batch(batch)


@command("NOTICE")
def notice(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """NOTICE target :text (never answered with errors, as RFC 1459 asks)."""
    privmsg(state, client, msg, rb)


@command("TAGMSG", min_params=1)
def tagmsg(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """TAGMSG target: client-only tags (typing, reactions) relayed to message-tags clients."""
    tags = _client_tags(client, msg)
    if not tags or _tags_too_long(state, client, rb, msg):
        return
    name = msg.params[0]
    if is_channel_name(name):
        channel = state.get_channel(name)
        if channel is None:
            rb.numeric(N.ERR_NOSUCHCHANNEL, name, "No such channel")
            return
        if not channel.can_speak(client):
            rb.numeric(N.ERR_CANNOTSENDTOCHAN, channel.name, "Cannot send to channel")
            return
        name = channel.name
        target = None
    else:
        channel = None
        target = state.find_nick(name)
        if target is None:
            rb.numeric(N.ERR_NOSUCHNICK, name, "No such nick/channel")
            return
        name = target.nick
    tags = {**server_tags(client, state.new_msgid()), **tags}
    variants = build_variants(client.prefix, "TAGMSG", (name,), server_time(), tags)
    if channel is not None:
        state.bus.to_channel(channel, variants, skip=client, only="tags")
    elif target is client:  # to oneself: delivered (unlabelled), then echoed below, as PRIVMSG is
        rb.outbox.send(variants[client.tag_level])
    elif target is not None:
        state.bus.to_nick(target, variants, only="tags")
    if "echo-message" in client.caps and client.tag_level == TAGS_ALL:
        state.bus.echo(rb, variants)


def plain_relay_channel(state: ServerState, client: Client, target_name: str) -> Channel | None:
    """The channel a chat line to ``target_name`` goes to by the fast paths (``relay_chat_line``,
    ``chatrun.relay_chat_run``): one channel the client may speak in, relayed before its commit.
    None when the general path must handle it (another kind of target, an error to answer, relay
    after commit)."""
    if target_name[0] not in CHANTYPES or "," in target_name:
        return None
    channels = state.channels  # keyed by folded name: a name found as typed is already folded
    channel = channels.get(target_name) or channels.get(casefold(target_name))
    if channel is None or not channel.can_speak(client):
        return None
    if state.history is not None and state.settings.relay_after_commit:
        return None
    return channel


def relay_chat_line(state: ServerState, client: Client, command_: str, target_name: str, text: str) -> bool:
    """A plain ``PRIVMSG #channel :text`` (or NOTICE), as ``split_chat_line`` gives it: relayed,
    stored and echoed exactly as ``privmsg`` does, without a ``Message``, a response buffer (unless
    the echo waits for a commit) or the general case's branches. Nearly every line a chatting
    client sends is one of these.

    Returns False, having done nothing, when the line needs more (another kind of target, an
    error to answer, relay after commit): the caller then parses and dispatches it.
    """
    if not text:
        return False
    channel = plain_relay_channel(state, client, target_name)
    if channel is None:
        return False
    history = state.history
    client.last_active = now = time.time()
    msgid = state.new_msgid()
    name = channel.name
    text = fit_text(client.prefix, command_, name, text)
    if "B" in client.modes or client.account:
        tags = server_tags(client, msgid)
        variants = build_variants(client.prefix, command_, (name, text), server_time(now), tags)
    else:  # the usual case: the line and its msgid tag in one step
        tags = {"msgid": msgid}
        variants = build_text_variants(client.prefix, command_, name, text, server_time(now), msgid)
    state.bus.to_channel(channel, variants, skip=client)
    channel.messages += 1
    state.counters.messages += 1
    if history is None:  # nothing to commit: the echo (if asked for) goes out right away
        if "echo-message" in client.caps:
            if state.bus.clustered:  # ...in a cluster at its turn in the channel's order
                state.bus.echo(ResponseBuffer(state.name, client), variants)
            else:
                client.outbox.send(variants[client.tag_level])
        return True
    record = stored_message(msgid, now, command_, client.prefix, client.nick, name, text, tags)
    if "echo-message" in client.caps:
        _store_then_echo(state, client, ResponseBuffer(state.name, client), variants, record)
    else:  # no echo to hold: only a failure to report (no response buffer, no closure per line)
        history.append(record, NotStored(state, client, record))
    return True


class NotStored:
    """The commit callback of a line whose sender takes no echo: says FAIL if it was not stored
    (what ``_store_then_echo``'s callback does without an echo, for a slotted object's cost)."""

    __slots__ = ("state", "client", "record")

    def __init__(self, state: ServerState, client: Client, record: StoredMessage) -> None:
        self.state = state
        self.client = client
        self.record = record

    def __call__(self, error: BaseException | None) -> None:
        if error is None or self.client.gone:
            return
        record = self.record
        self.client.outbox.send(format_line(Message(
            "FAIL", (record.command, "MESSAGE_NOT_STORED", record.target, f"Message could not be stored: {error}"),
            self.state.name,
        )))
