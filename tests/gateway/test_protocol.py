"""The /ws JSON protocol in memory: IRC lines in -> browser events out; browser frames -> IRC."""

from __future__ import annotations

import json

import pytest

from tcp_client.decode import EventDecoder
from tcp_client.lines import split_lines
from tcp_server.protocol import format_line, parse_line
from web_gateway.commands import (
    MAX_LINES_PER_SEND,
    CommandError,
    Hello,
    History,
    Join,
    Part,
    Send,
    parse_command,
    to_messages,
)
from web_gateway.events import to_json

MAX = 16 * 1024


def feed(tr: EventDecoder, *lines: str) -> list[dict]:
    """IRC lines through the client's decoder and the gateway's JSON mapping, as the bridge does."""
    out: list[dict] = []
    for line in lines:
        for event in tr.feed(parse_line(line)):
            out.extend(to_json(event))
    return out


@pytest.fixture
def tr() -> EventDecoder:
    return EventDecoder(lambda: "me")


def test_channel_message_carries_id_time_author(tr: EventDecoder) -> None:
    [ev] = feed(tr, "@msgid=abc;time=2026-01-01T00:00:00.000Z :bob!b@h PRIVMSG #lobby :hi there")
    assert ev == {
        "type": "message", "id": "abc", "time": "2026-01-01T00:00:00.000Z", "from": "bob",
        "text": "hi there", "kind": "privmsg", "self": False, "room": "#lobby",
    }


def test_action_and_notice_kinds(tr: EventDecoder) -> None:
    action, notice = feed(tr, ":bob!b@h PRIVMSG #r :\x01ACTION waves\x01", ":bob!b@h NOTICE #r :psst")
    assert (action["kind"], action["text"]) == ("action", "waves")
    assert (notice["kind"], notice["text"]) == ("notice", "psst")


def test_private_messages_are_keyed_by_the_other_person(tr: EventDecoder) -> None:
    incoming, echoed = feed(tr, ":bob!b@h PRIVMSG me :psst", ":Me!m@h PRIVMSG bob :hey")
    assert incoming["nick"] == "bob" and not incoming["self"]
    assert echoed["nick"] == "bob" and echoed["self"] and "room" not in echoed


def test_ctcp_requests_and_server_notices_are_dropped(tr: EventDecoder) -> None:
    assert feed(tr, ":bob!b@h PRIVMSG me :\x01VERSION\x01", ":tcpchat.local NOTICE me :hello") == []


def test_membership_events(tr: EventDecoder) -> None:
    j, p, k, q, n = feed(
        tr,
        ":me!m@h JOIN #lobby",
        ":bob!b@h PART #lobby :bye",
        ":op!o@h KICK #lobby carol :spam",
        ":dan!d@h QUIT :Quit: gone",
        ":bob!b@h NICK robert",
    )
    assert j == {"type": "join", "room": "#lobby", "nick": "me", "self": True}
    assert p == {"type": "part", "room": "#lobby", "nick": "bob", "reason": "bye", "self": False}
    assert k["type"] == "part" and k["nick"] == "carol" and k["by"] == "op" and k["reason"] == "spam"
    assert q == {"type": "quit", "nick": "dan", "reason": "Quit: gone"}
    assert n == {"type": "nick", "old": "bob", "new": "robert", "self": False}


def test_names_are_collected_until_the_end_with_modes(tr: EventDecoder) -> None:
    events = feed(
        tr,
        ":srv 353 me = #lobby :@+alice bob",
        ":srv 353 me = #lobby :+carol",
        ":srv 366 me #lobby :End of /NAMES list",
    )
    assert events == [{
        "type": "names", "room": "#lobby",
        "members": [{"nick": "alice", "modes": "@+"}, {"nick": "bob", "modes": ""},
                    {"nick": "carol", "modes": "+"}],
    }]


def test_channel_mode_changes_become_mode_events(tr: EventDecoder) -> None:
    [ev] = feed(tr, ":alice!a@h MODE #lobby +ov bob carol")
    assert ev == {"type": "mode", "room": "#lobby", "by": "alice", "modes": "+ov", "args": ["bob", "carol"]}
    assert feed(tr, ":me MODE me +i") == []  # our own user modes: nothing to show in a room


def test_topic_events(tr: EventDecoder) -> None:
    shown, changed = feed(tr, ":srv 332 me #r :old topic", ":bob!b@h TOPIC #r :new topic")
    assert shown == {"type": "topic", "room": "#r", "text": "old topic", "by": None}
    assert changed == {"type": "topic", "room": "#r", "text": "new topic", "by": "bob"}


def test_error_numerics_become_error_events(tr: EventDecoder) -> None:
    [inuse] = feed(tr, ":srv 433 me bob :Nickname is already in use")
    assert inuse == {"type": "error", "code": "433", "message": "Nickname is already in use",
                     "target": "bob"}
    [op] = feed(tr, ":srv 482 me #r :You're not channel operator")
    assert op["code"] == "482" and op["target"] == "#r"


def test_chathistory_batch_becomes_one_history_event(tr: EventDecoder) -> None:
    events = feed(
        tr,
        ":srv BATCH +h1 chathistory #lobby",
        "@batch=h1;msgid=1;time=2026-01-01T00:00:00Z :a!a@h PRIVMSG #lobby :one",
        "@batch=h1;msgid=2;time=2026-01-01T00:00:01Z :b!b@h PRIVMSG #lobby :two",
        ":srv BATCH -h1",
    )
    assert len(events) == 1
    hist = events[0]
    assert hist["type"] == "history" and hist["room"] == "#lobby"
    assert [m["text"] for m in hist["messages"]] == ["one", "two"]
    assert [m["id"] for m in hist["messages"]] == ["1", "2"]


def test_every_event_is_json_serialisable(tr: EventDecoder) -> None:
    events = feed(tr, ":bob!b@h PRIVMSG #r :<script>alert(1)</script>", ":bob!b@h JOIN #r")
    text = json.dumps(events)
    assert "<script>" in text  # the gateway passes text as data; the page renders it as text


# -- browser -> IRC ----------------------------------------------------------------------


def test_valid_commands_parse() -> None:
    assert parse_command('{"type":"hello","nick":"alice"}', MAX) == Hello("alice")
    assert parse_command('{"type":"join","room":"#lobby"}', MAX) == Join("#lobby")
    assert parse_command('{"type":"part","room":"#lobby"}', MAX) == Part("#lobby", "")
    assert parse_command('{"type":"send","nick":"bob","text":"hi"}', MAX) == Send("bob", "hi")
    assert parse_command('{"type":"history","room":"#r","limit":5}', MAX) == History("#r", 5)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ("[1,2]", "bad_json"),
        ('{"type":"launch"}', "bad_type"),
        ('{"nick":"x"}', "bad_type"),
        ('{"type":"join","room":"lobby"}', "bad_field"),
        ('{"type":"join","room":"#a b"}', "bad_field"),
        ('{"type":"hello","nick":"a\\r\\nQUIT"}', "bad_field"),
        ('{"type":"send","room":"#r","text":""}', "bad_field"),
        ('{"type":"send","room":"#r","text":5}', "bad_field"),
        ('{"type":"send","room":"#r","text":"x","kind":"ctcp"}', "bad_field"),
        ('{"type":"history","room":"#r","limit":100000}', "bad_field"),
        ('{"type":"history","room":"#r","limit":true}', "bad_field"),
    ],
)
def test_bad_frames_get_a_clear_error(frame: str, code: str) -> None:
    result = parse_command(frame, MAX)
    assert isinstance(result, CommandError) and result.code == code and result.message


def test_oversized_frame_is_refused_before_parsing() -> None:
    frame = json.dumps({"type": "send", "room": "#r", "text": "x" * 2000})
    assert parse_command(frame, 1024) == CommandError(
        "too_large", f"frame of {len(frame)} bytes is over the 1024-byte limit"
    )


def test_send_cannot_smuggle_extra_irc_lines() -> None:
    msgs = to_messages(Send("#r", "hi\r\nQUIT :owned"))
    assert [m.params for m in msgs] == [("#r", "hi"), ("#r", "QUIT :owned")]
    for m in msgs:
        assert format_line(m).count(b"\r\n") == 1


def test_long_text_is_split_on_character_boundaries() -> None:
    text = "é" * 400
    lines = split_lines(text, 100)
    assert "".join(lines) == text and all(len(line.encode()) <= 100 for line in lines)


def test_too_many_lines_is_refused() -> None:
    frame = json.dumps({"type": "send", "room": "#r", "text": "x\n" * (MAX_LINES_PER_SEND + 1)})
    result = parse_command(frame, MAX)
    assert isinstance(result, CommandError) and result.code == "too_large"


def test_action_and_history_messages() -> None:
    [me] = to_messages(Send("#r", "waves", "action"))
    assert me.params == ("#r", "\x01ACTION waves\x01")
    [latest] = to_messages(History("#r", 50))
    assert latest.params == ("LATEST", "#r", "*", "50")
    [before] = to_messages(History("#r", 10, "abc"))
    assert before.params == ("BEFORE", "#r", "msgid=abc", "10")


def test_history_limit_is_the_ws_history_max_setting() -> None:
    frame = '{"type":"history","room":"#r","limit":300}'
    assert parse_command(frame, MAX, max_history=300) == History("#r", 300)
    refused = parse_command(frame, MAX, max_history=299)
    assert refused == CommandError("bad_field", "'limit' must be an integer from 1 to 299")
