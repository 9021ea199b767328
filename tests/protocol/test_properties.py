"""Property tests (hypothesis) of the protocol core: round trips, and no crash on any input."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tcp_server.protocol import (
    MAX_LINE_BYTES,
    MAX_TAG_BYTES,
    LineBuffer,
    Message,
    ProtocolError,
    escape_tag_value,
    format_line,
    parse_line,
    unescape_tag_value,
)

SETTINGS = settings(max_examples=300, deadline=None)

_FORBIDDEN = "\r\n\x00"
safe_text = st.text(st.characters(blacklist_characters=_FORBIDDEN, blacklist_categories=("Cs",)))
word = st.text(
    st.characters(blacklist_characters=_FORBIDDEN + " ", blacklist_categories=("Cs",)), min_size=1
)
middle = word.filter(lambda w: not w.startswith(":"))
command = st.one_of(st.from_regex(r"\A[A-Z]{1,12}\Z"), st.from_regex(r"\A[0-9]{3}\Z"))
tag_key = st.from_regex(r"\A\+?([a-z0-9.-]+/)?[A-Za-z0-9-]{1,20}\Z")
tags = st.dictionaries(tag_key, safe_text, max_size=5)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    params = draw(st.lists(middle, max_size=6))
    if draw(st.booleans()):
        params.append(draw(safe_text))
    source = draw(st.none() | word.filter(lambda w: not w.startswith("@")))
    return Message(draw(command), tuple(params), source, draw(tags))


@SETTINGS
@given(messages())
def test_parse_of_format_is_identity(msg):
    line = format_line(msg)
    body = line.split(b" ", 1)[1] if msg.tags else line
    assume(len(body) <= MAX_LINE_BYTES)
    assume(not msg.tags or len(line) - len(body) <= MAX_TAG_BYTES)
    assert parse_line(line) == msg


@SETTINGS
@given(safe_text)
def test_tag_escaping_round_trips(value):
    escaped = escape_tag_value(value)
    assert not set(escaped) & set("; \r\n")
    assert unescape_tag_value(escaped) == value


@SETTINGS
@given(st.binary(max_size=700))
def test_arbitrary_bytes_parse_or_raise_protocol_error(data):
    try:
        msg = parse_line(data)
    except ProtocolError:
        return
    assert msg.command
    # whatever parsed formats back into exactly one line
    out = format_line(msg)
    assert out.endswith(b"\r\n") and out.count(b"\n") == 1


@SETTINGS
@given(st.builds(Message, st.text(min_size=1), st.lists(st.text()).map(tuple), st.none() | st.text()))
def test_format_always_emits_exactly_one_line(msg):
    out = format_line(msg)
    assert out.endswith(b"\r\n")
    assert b"\r" not in out[:-2] and b"\n" not in out[:-2] and b"\x00" not in out


@SETTINGS
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=8))
def test_linebuffer_chunking_does_not_change_lines(data, cuts):
    whole = LineBuffer(max_line=200).feed(data)
    buf = LineBuffer(max_line=200)
    pieces: list[object] = []
    prev = 0
    for cut in sorted(set(cuts)):
        pieces += buf.feed(data[prev:cut])
        prev = max(prev, cut)
    pieces += buf.feed(data[prev:])
    assert pieces == whole
    assert buf.pending <= 200
    for line in pieces:
        if isinstance(line, bytes):
            assert b"\n" not in line and not line.endswith(b"\r") and line
