"""``relay_chat_run``'s joined lines are the per-line builder's lines, concatenated (property
test): a member of a channel receives the same bytes whether a client's lines were relayed one
by one or as one run."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from tcp_server.commands.chatrun import _joined_variants
from tcp_server.protocol import fit_text
from tcp_server.state import server_time
from tcp_server.state.delivery import build_text_variants

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=600)
name = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=" "), min_size=1, max_size=60)
stamp = st.floats(1_000_000_000, 4_100_000_000)
msgid_prefix = st.one_of(st.from_regex(r"\A[0-9a-f]{8}-\Z"), st.text(max_size=8))


class Ids:
    """The ``new_msgid`` of a server state, numbered from 1 (both builders draw the same ids)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.counter = itertools.count(1)

    def new_msgid(self) -> str:
        return f"{self.prefix}{next(self.counter):x}"


@settings(max_examples=400, deadline=None)
@given(name, st.sampled_from(["PRIVMSG", "NOTICE"]), name, st.lists(text, min_size=1, max_size=5), stamp, msgid_prefix)
def test_joined_variants_are_the_lines_built_one_by_one(source, command, target, texts, ts, prefix):
    time_tag = server_time(ts)
    got = _joined_variants(Ids(prefix), source, command, target, texts, time_tag)  # type: ignore[arg-type]
    ids = Ids(prefix)
    lines = [
        build_text_variants(source, command, target, fit_text(source, command, target, t), time_tag, ids.new_msgid())
        for t in texts
    ]
    assert got == tuple(b"".join(line[level] for line in lines) for level in range(5))
