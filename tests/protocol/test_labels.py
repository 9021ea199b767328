"""Unit tests of labeled-response wrapping on formatted bytes (no sockets)."""

from __future__ import annotations

from tcp_server.protocol import add_tag, label_response, parse_line


def parsed(lines):
    return [parse_line(x) for x in lines]


def test_add_tag_to_plain_and_tagged_lines():
    assert add_tag(b":s PONG s x\r\n", "label", "a b") == b"@label=a\\sb :s PONG s x\r\n"
    assert add_tag(b"@time=1 :s PRIVMSG #a :x\r\n", "label", "L") == b"@label=L;time=1 :s PRIVMSG #a :x\r\n"


def test_no_output_is_a_labelled_ack():
    (ack,) = parsed(label_response([], "abc", "srv", "b1"))
    assert ack.command == "ACK" and ack.tags == {"label": "abc"} and ack.source == "srv"


def test_one_line_gets_the_label():
    (line,) = parsed(label_response([b":srv 401 me x :No such nick\r\n"], "L1", "srv", "b1"))
    assert line.command == "401" and line.tags == {"label": "L1"}


def test_several_lines_become_a_labeled_response_batch():
    chunks = [b":srv 311 me bob u h * :r\r\n", b":srv 312 me bob srv :x\r\n:srv 318 me bob :End\r\n"]
    out = parsed(label_response(chunks, "L2", "srv", "b7"))
    assert out[0].command == "BATCH" and out[0].params == ("+b7", "labeled-response")
    assert out[0].tags == {"label": "L2"}
    assert [m.command for m in out[1:-1]] == ["311", "312", "318"]
    assert all(m.tags == {"batch": "b7"} for m in out[1:-1])
    assert out[-1].command == "BATCH" and out[-1].params == ("-b7",) and not out[-1].tags


def test_without_batch_cap_only_the_first_line_is_labelled():
    out = parsed(label_response([b":s A\r\n", b":s B\r\n"], "L", "s", None))
    assert [m.tags for m in out] == [{"label": "L"}, {}]


def test_nested_batch_lines_keep_their_own_batch_tag():
    chunks = [
        b":s BATCH +inner chathistory #a\r\n",
        b"@batch=inner :n PRIVMSG #a :old\r\n",
        b":s BATCH -inner\r\n",
    ]
    out = parsed(label_response(chunks, "L", "s", "outer"))
    assert out[1].tags == {"batch": "outer"}  # the inner batch opens inside ours
    assert out[2].tags == {"batch": "inner"}
    assert out[3].tags == {"batch": "outer"}
