"""REDACT (IRCv3 draft/message-redaction): delete a message from history and tell its readers.

``REDACT <target> <msgid> [:reason]``. Who may: the sender, for messages this connection sent
(a nick is not an identity: whoever takes a nick later cannot redact the previous holder's
messages; accounts will widen this), a channel's operators for any message in it, and IRC
operators. The message is deleted from the history store, so ``CHATHISTORY`` no longer returns
it, and ``REDACT`` goes (with its own ``msgid``) to the target's members, or the two sides of a
private conversation, that negotiated ``draft/message-redaction``. Needs history: without a store
there is nothing to check against (``UNKNOWN_MSGID``). Errors are ``FAIL REDACT`` with
``INVALID_TARGET``, ``REDACT_FORBIDDEN``, ``UNKNOWN_MSGID``.
"""

from __future__ import annotations

from ..history.base import StoredMessage
from ..history.keys import channel_key, private_key
from ..history.sql import time_us
from ..protocol import Message, casefold, is_channel_name
from ..state import Client, ServerState, build_variants, server_time
from ..state.responses import ResponseBuffer
from .messaging import server_tags
from .table import command

CAP = "draft/message-redaction"


def _fail(rb: ResponseBuffer, code: str, *context: str) -> None:
    rb.reply("FAIL", "REDACT", code, *context)


def _may_redact(state: ServerState, client: Client, record: StoredMessage, is_channel_op: bool) -> bool:
    if client.is_oper or is_channel_op:
        return True
    own = casefold(record.sender) == client.folded
    if client.account:
        return own
    return own and time_us(record.time) >= time_us(client.signon)


@command("REDACT", min_params=2)
def redact(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """REDACT target msgid [:reason]: delete a message you sent (channel operators: any)."""
    target_name, msgid = msg.params[0], msg.params[1]
    reason = msg.param(2)
    if is_channel_name(target_name):
        channel = state.get_channel(target_name)
        if channel is None or client not in channel.members:
            _fail(rb, "INVALID_TARGET", target_name, f"You cannot delete messages from {target_name}")
            return
        key, name, is_op = channel_key(channel.name), channel.name, channel.is_op(client)
    else:
        other = state.find_nick(target_name)
        name = other.nick if other is not None else target_name
        key, is_op, channel = private_key(client.nick, name), False, None
    store = state.history
    if store is None:
        _fail(rb, "UNKNOWN_MSGID", name, msgid, "This message does not exist or is too old")
        return
    late = rb.later()  # the reply keeps its place among this client's replies, with the label

    def allowed(record: StoredMessage) -> bool:
        return _may_redact(state, client, record, is_op)

    def done(outcome: tuple[StoredMessage | None, bool] | None, error: BaseException | None) -> None:
        if client.gone:
            late.release()
            return
        if error is not None or outcome is None:
            reply = ("UNKNOWN_MSGID", name, msgid, "This message could not be redacted")
        elif outcome[0] is None:
            reply = ("UNKNOWN_MSGID", name, msgid, "This message does not exist or is too old")
        elif not outcome[1]:
            reply = ("REDACT_FORBIDDEN", name, msgid, "You are not authorised to delete this message")
        else:
            late.release(lambda rb: _announce(state, client, rb, name, msgid, reason))
            return
        late.release(lambda rb: _fail(rb, *reply))

    store.fetch(lambda: store.delete_if(key, msgid, allowed), done)

def _announce(state: ServerState, client: Client, rb: ResponseBuffer, name: str, msgid: str, reason: str) -> None:
    params = (name, msgid, reason) if reason else (name, msgid)
    variants = build_variants(client.prefix, "REDACT", params, server_time(), server_tags(client, state.new_msgid()))
    if is_channel_name(name):
        channel = state.get_channel(name)
        readers = set(channel.members) if channel is not None else set()
    else:
        other = state.find_nick(name)
        readers = {other} if other is not None else set()
    readers.discard(client)
    state.relay((r for r in readers if CAP in r.caps), variants)
    rb.add(variants[client.tag_level])
