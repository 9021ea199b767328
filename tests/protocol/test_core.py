"""Unit tests of the sans-I/O protocol core: parsing, formatting, tag escaping, framing, limits."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tcp_server.protocol import (
    LINE_TOO_LONG,
    MAX_LINE_BYTES,
    MAX_TAG_BYTES,
    InputTooLong,
    LineBuffer,
    MalformedLine,
    Message,
    ProtocolError,
    casefold,
    escape_tag_value,
    format_line,
    is_valid_channel,
    is_valid_nick,
    parse_line,
    unescape_tag_value,
)

from ..support import ROOT

# ---- parse_line ------------------------------------------------------------------------


def test_parse_command_only():
    assert parse_line(b"QUIT") == Message("QUIT")


def test_parse_lowercase_command_is_uppercased():
    assert parse_line(b"privmsg #a :hi").command == "PRIVMSG"


def test_parse_trailing_param_keeps_spaces_and_colons():
    msg = parse_line(b"PRIVMSG #lobby :hello there :) friend")
    assert msg.params == ("#lobby", "hello there :) friend")


def test_parse_empty_trailing_param():
    assert parse_line(b"TOPIC #a :").params == ("#a", "")


def test_parse_trailing_without_middle():
    assert parse_line(b"AWAY :gone fishing").params == ("gone fishing",)


def test_parse_middle_params_and_repeated_spaces():
    assert parse_line(b"USER  bob   0 * :Bob B").params == ("bob", "0", "*", "Bob B")


def test_parse_source_prefix():
    msg = parse_line(b":nick!user@host PRIVMSG bob :yo")
    assert msg.source == "nick!user@host"
    assert msg.command == "PRIVMSG"
    assert msg.params == ("bob", "yo")


def test_parse_tags_source_and_params():
    msg = parse_line(b"@time=2024-01-01T00:00:00.000Z;msgid=abc;+draft/typing :a!b@c TAGMSG #x")
    assert msg.tags == {"time": "2024-01-01T00:00:00.000Z", "msgid": "abc", "+draft/typing": ""}
    assert msg.source == "a!b@c"
    assert msg.params == ("#x",)


def test_parse_tag_values_are_unescaped():
    msg = parse_line(rb"@k=a\:b\sc\\d\re\nf PING x")
    assert msg.tags["k"] == "a;b c\\d\re\nf"


def test_unescape_drops_lone_trailing_backslash_and_unknown_escapes_keep_char():
    assert unescape_tag_value("abc\\") == "abc"
    assert unescape_tag_value("a\\bc") == "abc"


def test_escape_tag_value_escapes_all_special_characters():
    assert escape_tag_value("a;b c\\d\re\nf") == r"a\:b\sc\\d\re\nf"


def test_parse_string_input_same_as_bytes():
    assert parse_line("PRIVMSG #a :hé") == parse_line("PRIVMSG #a :hé".encode())


def test_parse_strips_line_ending():
    assert parse_line(b"PING x\r\n").params == ("x",)


def test_invalid_utf8_is_replaced_not_raised():
    msg = parse_line(b"PRIVMSG #a :caf\xe9 \xff\xfe")
    assert msg.params[1] == "caf\ufffd \ufffd\ufffd"


@pytest.mark.parametrize("line", [b"", b"   ", b"@a=b", b"@a=b ", b":src", b":src   "])
def test_lines_without_a_command_are_malformed(line):
    with pytest.raises(MalformedLine):
        parse_line(line)


def test_body_limit_is_512_including_crlf():
    prefix = b"PRIVMSG #a :"
    ok = prefix + b"x" * (MAX_LINE_BYTES - 2 - len(prefix))
    assert len(parse_line(ok).params[1]) == MAX_LINE_BYTES - 2 - len(prefix)
    with pytest.raises(InputTooLong) as err:
        parse_line(ok + b"x")
    assert err.value.numeric == "417"


def test_body_limit_counts_bytes_not_characters():
    prefix = b"PRIVMSG #a :"
    text = "é" * ((MAX_LINE_BYTES - 2 - len(prefix)) // 2 + 1)  # fewer chars than bytes
    with pytest.raises(InputTooLong):
        parse_line(prefix + text.encode())


def test_body_limit_counts_raw_bytes_of_invalid_utf8():
    """A 500-byte body of invalid bytes is within the limit even though U+FFFD is 3 bytes."""
    prefix = b"PRIVMSG #a :"
    body = prefix + b"\xff" * (MAX_LINE_BYTES - 2 - len(prefix))
    assert parse_line(body).params[1] == "\ufffd" * (MAX_LINE_BYTES - 2 - len(prefix))


def test_tags_do_not_count_toward_the_body_limit():
    tags = b"@+x=" + b"v" * 4000
    body = b"PRIVMSG #a :" + b"y" * 400
    msg = parse_line(tags + b" " + body)
    assert len(msg.tags["+x"]) == 4000


def test_tag_section_limit_8191_bytes():
    # '@' + key '+k=' + value + ' ' must be <= 8191
    fill = MAX_TAG_BYTES - len(b"@+k= ")
    ok = b"@+k=" + b"v" * fill + b" PING x"
    assert parse_line(ok).tags["+k"] == "v" * fill
    with pytest.raises(InputTooLong) as err:
        parse_line(b"@+k=" + b"v" * (fill + 1) + b" PING x")
    assert err.value.numeric == "417"


@pytest.mark.parametrize("bad", [b"PRIVMSG #a :one\rPRIVMSG #b :two", b"PRIVMSG #a :nul\x00byte"])
def test_embedded_cr_and_nul_are_rejected(bad):
    """A bare CR or NUL inside a line could smuggle a second line to other clients."""
    with pytest.raises(ProtocolError):
        parse_line(bad)


def test_protocol_errors_carry_their_numeric():
    assert InputTooLong("x").numeric == "417"
    assert MalformedLine("x").numeric == "421"
    assert ProtocolError("x", numeric="400").numeric == "400"


# ---- format_line -----------------------------------------------------------------------


def test_format_simple():
    assert format_line(Message("PING", ("x",))) == b"PING x\r\n"


def test_format_trailing_when_needed():
    assert format_line(Message("PRIVMSG", ("#a", "hi there"), "n!u@h")) == b":n!u@h PRIVMSG #a :hi there\r\n"
    assert format_line(Message("TOPIC", ("#a", ""))) == b"TOPIC #a :\r\n"
    assert format_line(Message("PRIVMSG", ("#a", ":)"))) == b"PRIVMSG #a ::)\r\n"
    assert format_line(Message("NICK", ("bob",))) == b"NICK bob\r\n"


def test_format_tags_escaped_and_valueless():
    line = format_line(Message("TAGMSG", ("#a",), "s", {"+typing": "", "k": "a b;c"}))
    assert line == b"@+typing;k=a\\sb\\:c :s TAGMSG #a\r\n"


def test_format_never_emits_a_line_break_inside_a_line():
    line = format_line(Message("PRIVMSG", ("#a", "one\r\nQUIT :two"), "s"))
    assert line.count(b"\n") == 1 and line.endswith(b"\r\n")
    assert b"\r" not in line[:-2]


# ---- casemapping and names ---------------------------------------------------------------


def test_rfc1459_casefolding():
    assert casefold("Nick[]\\~") == "nick{}|^"
    assert casefold("#Lobby") == "#lobby"


def test_nick_rules():
    assert is_valid_nick("alice", 30)
    assert is_valid_nick("[bot]_`^{|}-1", 30)
    for bad in ["", "1abc", "-x", "a b", "a,b", "a!b", "a@b", "#chan", "x" * 31, "é"]:
        assert not is_valid_nick(bad, 30), bad


def test_channel_rules():
    assert is_valid_channel("#lobby", 64)
    assert is_valid_channel("&local", 64)
    for bad in ["#", "lobby", "#a b", "#a,b", "#a\x07", "#" + "x" * 64]:
        assert not is_valid_channel(bad, 64), bad


# ---- LineBuffer ------------------------------------------------------------------------


def test_linebuffer_split_packets():
    buf = LineBuffer()
    assert buf.feed(b"PRIV") == []
    assert buf.pending == 4
    assert buf.feed(b"MSG #a :hi\r") == []
    assert buf.feed(b"\nPING x\r\nPO") == [b"PRIVMSG #a :hi", b"PING x"]
    assert buf.feed(b"NG y\n") == [b"PONG y"]
    assert buf.pending == 0


def test_linebuffer_lf_and_crlf_and_blank_lines():
    assert LineBuffer().feed(b"A\nB\r\n\r\n\nC\n") == [b"A", b"B", b"C"]


def test_linebuffer_over_long_line_reported_once_and_dropped():
    buf = LineBuffer(max_line=100)
    out = buf.feed(b"x" * 150)
    assert out == [LINE_TOO_LONG]
    assert buf.pending == 0  # never holds more than the limit
    assert buf.feed(b"y" * 500) == []  # still the same line: not reported again
    assert buf.feed(b"z\r\nPING ok\r\n") == [b"PING ok"]


def test_linebuffer_over_long_complete_line_in_one_packet():
    buf = LineBuffer(max_line=10)
    assert buf.feed(b"A\n" + b"x" * 50 + b"\nB\n") == [b"A", LINE_TOO_LONG, b"B"]


def test_linebuffer_exact_limit_is_accepted():
    buf = LineBuffer(max_line=10)
    assert buf.feed(b"x" * 10 + b"\n") == [b"x" * 10]


def test_linebuffer_default_limit_fits_full_tags_and_body():
    buf = LineBuffer()
    line = b"@" + b"t" * (MAX_TAG_BYTES - 2) + b" " + b"P" * (MAX_LINE_BYTES - 2)
    assert buf.feed(line + b"\r\n") == [line]


# ---- purity ----------------------------------------------------------------------------


def test_protocol_core_imports_no_asyncio_or_socket():
    code = (
        "import sys; import tcp_server.protocol; "
        "bad = [m for m in ('asyncio', 'socket', 'ssl', 'selectors') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_state_and_commands_packages_do_no_io():
    """state/ and commands/ are synchronous: no asyncio, no sockets, no awaits in their sources.

    Work that must wait (a store commit, a password hash, a timer) goes through the seams the
    server installs on the state (``history.append/fetch``, ``offload``, ``call_later``)."""
    for package in ("state", "commands"):
        for path in (ROOT / "tcp_server" / package).glob("*.py"):
            text = path.read_text()
            assert "import asyncio" not in text and "import socket" not in text, path
            assert "await " not in text and "asyncio." not in text, path


def test_fit_text_cuts_at_character_boundaries_to_512_bytes():
    from tcp_server.protocol import fit_text

    src, cmd, mid = "nick!~user@host", "PRIVMSG", "#chan"
    assert fit_text(src, cmd, mid, "short") == "short"
    cut = fit_text(src, cmd, mid, "é" * 400)
    line = format_line(Message(cmd, (mid, cut), src))
    assert 510 <= len(line) <= 512 and 200 < len(cut) < 400 and cut == "é" * len(cut)
    ascii_cut = fit_text(src, cmd, mid, "a" * 600)
    assert len(format_line(Message(cmd, (mid, ascii_cut), src))) in (511, 512)  # ":" only if needed
