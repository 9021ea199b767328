"""The hot path's shortcuts give exactly what the general code gives (property tests).

A chat line is stamped (``server_time``, cached per millisecond) and encoded by
``build_text_variants``; both must agree with the slow, obvious versions on any input, or a
client would see a wrong time or a different line than CHATHISTORY later replays.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from tcp_server.protocol import (
    LINE_TOO_LONG,
    LineBuffer,
    ProtocolError,
    chat_run_texts,
    parse_line,
    split_chat_line,
)
from tcp_server.state import build_variants, server_time
from tcp_server.state.delivery import build_text_variants

SETTINGS = settings(max_examples=400, deadline=None)

# 2001..2100, and instants at (and within a few microseconds of) millisecond boundaries
base_second = st.integers(min_value=1_000_000_000, max_value=4_100_000_000)
near_edge = st.builds(
    lambda s, ms, us: s + ms / 1000 + us / 1e6,
    base_second, st.integers(0, 999), st.sampled_from([-3, -1, -0.5, 0, 0.5, 1, 3]),
)
anywhere = st.builds(lambda s, f: s + f, base_second, st.floats(0, 1, exclude_max=True))


def reference_time(ts: float) -> str:
    """What the ``server-time`` spec asks, computed the obvious way (datetime rounds to the us)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@SETTINGS
@given(st.lists(st.one_of(near_edge, anywhere), min_size=1, max_size=20))
def test_server_time_matches_datetime_whatever_came_before(stamps):
    # a sequence, so one stamp's cached millisecond is tried against the next
    for ts in stamps:
        assert server_time(ts) == reference_time(ts)


@SETTINGS
@given(near_edge)
def test_server_time_of_a_stamp_repeated_in_its_millisecond_is_stable(ts):
    first = server_time(ts)
    assert server_time(ts) == first == reference_time(ts)


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=600)
name = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=" "), min_size=1, max_size=60)
msgid = st.one_of(st.from_regex(r"\A[0-9a-f]{8}-[0-9a-f]{10,14}\Z"), st.text(min_size=1, max_size=20))


@SETTINGS
@given(name, st.sampled_from(["PRIVMSG", "NOTICE"]), name, text, st.one_of(near_edge, anywhere), msgid)
def test_text_variants_equal_the_general_builder(source, command, target, body, ts, mid):
    stamp = server_time(ts)
    expected = build_variants(source, command, (target, body), stamp, {"msgid": mid})
    assert build_text_variants(source, command, target, body, stamp, mid) == expected
    # a time tag that is not the cached one (a stored message's) gives the same bytes too
    other = reference_time(ts + 1.5)
    expected = build_variants(source, command, (target, body), other, {"msgid": mid})
    assert build_text_variants(source, command, target, body, other, mid) == expected


@SETTINGS
@given(st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"xyz" * 7, b" "]), max_size=40),
       st.sampled_from([4, 16, 64]))
def test_linebuffer_lines_are_the_stream_split_on_lf(parts, limit):
    """Within the limit, lines are the LF-separated pieces, one trailing CR removed, empty ones
    dropped; a longer one is reported once as too long (fed in one piece)."""
    stream = b"".join(parts)
    got = LineBuffer(limit).feed(stream)
    *complete, rest = stream.split(b"\n")
    expected: list[object] = []
    for line in complete:
        if len(line) > limit:
            expected.append("too long")
            continue
        line = line[:-1] if line.endswith(b"\r") else line
        if line:
            expected.append(line)
    if len(rest) > limit:  # an unfinished line already over the limit is reported at once
        expected.append("too long")
    assert [x if isinstance(x, bytes) else "too long" for x in got] == expected


chat_atoms = st.sampled_from([
    b"PRIVMSG", b"NOTICE", b"privmsg", b"PRIVMSGX", b" ", b"  ", b":", b" :", b"#room", b"nick",
    b"@a=b", b"\xe2\x82", b"\xff", b"\xc3\xa9", b"\r", b"\x00", b",", b"x" * 200, b"\t",
])


def parsed_or_error(line: bytes) -> object:
    try:
        msg = parse_line(line)
    except ProtocolError as exc:
        return type(exc)
    return msg


@settings(max_examples=2000, deadline=None)
@given(st.lists(chat_atoms, max_size=10).map(b"".join))
def test_split_chat_line_agrees_with_parse_line(line):
    split = split_chat_line(line)
    if split is None:
        return  # parse_line decides (checked by its own tests)
    command, target, text = split
    msg = parsed_or_error(line)
    assert not isinstance(msg, type), f"parse_line refused what split_chat_line took: {msg}"
    assert (msg.command, msg.params, msg.source, dict(msg.tags)) == (command, (target, text), None, {})


@SETTINGS
@given(st.sampled_from(["PRIVMSG", "NOTICE"]), name.filter(lambda n: n[0] != ":"), text)
def test_split_chat_line_takes_every_plain_chat_line(command, target, body):
    """The fast path is not a corner case: any well-formed one-target line that fits takes it."""
    line = f"{command} {target} :{body}".encode()
    if len(line) > 510 or any(c in line for c in b"\r\n\x00"):
        assert split_chat_line(line) is None
    else:
        assert split_chat_line(line) == (command, target, body)


run_line = st.one_of(
    st.just(LINE_TOO_LONG),
    st.tuples(
        # mostly the same command and target, so that runs form
        st.sampled_from([b"PRIVMSG"] * 4 + [b"NOTICE", b"privmsg"]),
        st.sampled_from([b"#a"] * 6 + [b"#A", b"#b", b"#\xff", b"#\xfe", b"#a #b", b"nick"]),
        st.sampled_from([b" :"] * 4 + [b" ::", b" "]),
        st.lists(st.sampled_from([b"hi", b" ", b"\xc3\xa9", b"\xff", b"\r", b"\x00", b"x" * 250, b"x" * 490]), max_size=4).map(b"".join),
    ).map(lambda parts: parts[0] + b" " + b"".join(parts[1:])),
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(run_line, min_size=1, max_size=8), st.data())
def test_chat_run_texts_are_what_split_chat_line_gives_each_line(lines, data):
    """A run is a stretch of lines that split to the first one's command and target; each text
    is the one ``split_chat_line`` gives, and the stretch stops at the first line whose bytes
    before the text differ (or that is not a chat line)."""
    starts = [i for i, line in enumerate(lines) if line is not LINE_TOO_LONG and split_chat_line(line)]
    if not starts:
        return
    start = data.draw(st.sampled_from(starts))
    command, target, text = split_chat_line(lines[start])
    texts = chat_run_texts(lines, start, text)
    assert texts[0] == text
    for line, got in zip(lines[start:], texts, strict=False):
        assert split_chat_line(line) == (command, target, got)
    end = start + len(texts)
    prefix = lines[start][: lines[start].find(b" :") + 2]  # the bytes before the text
    if end < len(lines) and lines[end] is not LINE_TOO_LONG:  # the run is as long as it can be
        assert split_chat_line(lines[end]) is None or not lines[end].startswith(prefix)


ops = st.lists(
    st.one_of(
        st.just(("hold",)), st.tuples(st.just("send"), st.binary(min_size=1, max_size=5)),
        st.tuples(st.just("release"), st.integers(0, 5), st.lists(st.binary(min_size=1, max_size=5), max_size=3)),
    ),
    max_size=40,
)


def run_ordered(script: list[tuple[object, ...]], many: bool) -> tuple[list[bytes], int]:
    from tcp_server.state.ordering import OrderedOutput

    out: list[bytes] = []

    def emit(data: bytes | list[bytes]) -> None:
        if isinstance(data, list):
            out.extend(data)
        else:
            out.append(data)

    order = OrderedOutput(emit, lists=many)
    holds = []
    for op in script:
        if op[0] == "hold":
            holds.append(order.hold())
        elif op[0] == "send":
            (order.take if order.active else out.append)(op[1])  # as Connection.send does
        elif holds:
            hold = holds[op[1] % len(holds)]
            order.release(hold, lambda lines=op[2]: [order.take(x) for x in lines])
    return out, order.held_bytes


@SETTINGS
@given(ops)
def test_late_replies_release_in_the_same_order_with_bulk_emission(script):
    """What waited behind a hold goes out in one call (``lists``): the same bytes, same order."""
    assert run_ordered(script, many=True) == run_ordered(script, many=False)
