"""SEARCH (vendor command): full-text search in a channel's stored history.

``SEARCH <channel> <limit> :<words>`` answers, like CHATHISTORY, with a batch of the matching
messages (oldest first) of type ``tcpchat.example/search``: the ``limit`` newest messages that
contain every word (case-insensitive; SQLite FTS5 or PostgreSQL full-text search, see
``history/sql.py``). Who may search is who may read the channel's history: its members and IRC
operators (the gateway's operator link serves ``GET /api/rooms/{room}/messages?q=``). It shares
CHATHISTORY's per-client queue and rate. Errors: ``FAIL SEARCH NEED_MORE_PARAMS|INVALID_PARAMS|
INVALID_TARGET|MESSAGE_ERROR``; without history the command is unknown (421).
"""

from __future__ import annotations

from collections.abc import Callable

from ..history.base import StoredMessage
from ..protocol import Message, is_channel_name
from ..state import Client, ServerState
from ..state.responses import Late, ResponseBuffer
from .history import _history_message, _parse_limit, _queue, _readable_target, _write_batch
from .table import command, unknown_command

BATCH_TYPE = "tcpchat.example/search"
MAX_WORDS_BYTES = 200
"""Longest search text accepted (bytes)."""


def _fail(rb: ResponseBuffer, code: str, *context: str) -> None:
    rb.reply("FAIL", "SEARCH", code, *context)


@command("SEARCH", min_params=1)
def search(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """SEARCH <channel> <limit> :<words>: the newest messages of the channel with all the words."""
    store = state.history
    if store is None:
        unknown_command(state, client, msg, rb)
        return
    if len(msg.params) < 3:
        _fail(rb, "NEED_MORE_PARAMS", "Usage: SEARCH <channel> <limit> :<words>")
        return
    target, words = msg.params[0], msg.params[2]
    limit = _parse_limit(msg.params[1], state.settings.chathistory_max)
    if limit is None:
        _fail(rb, "INVALID_PARAMS", msg.params[1], "Limit must be a positive integer")
        return
    if not words.split() or len(words.encode()) > MAX_WORDS_BYTES:
        _fail(rb, "INVALID_PARAMS", "*", f"Search for 1 to {MAX_WORDS_BYTES} bytes of words")
        return
    readable = _readable_target(state, client, target) if is_channel_name(target) else None
    if readable is None:
        _fail(rb, "INVALID_TARGET", target, "Messages could not be searched")
        return
    key, display, _ = readable

    def start(late: Late, finished: Callable[[], None]) -> None:
        def done(rows: list[StoredMessage] | None, error: BaseException | None) -> None:
            if client.gone:
                return
            if error is not None or rows is None:
                late.release(lambda rb: _fail(rb, "MESSAGE_ERROR", target, "Messages could not be searched"))
                finished()
                return
            lines = [_history_message(client, m) for m in rows]
            late.release_paced(lambda rb: _write_batch(rb, BATCH_TYPE, (display,), lines), finished)

        store.fetch(lambda: store.search(key, words, limit), done)

    _queue(state, client, rb, start, "SEARCH")
