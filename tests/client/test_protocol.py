"""The client session's sans-I/O core: bytes in, typed events and bytes out, no sockets."""

from __future__ import annotations

import pytest

from tcp_client.config import SessionConfig
from tcp_client.events import ChatMessage, History, Joined, NickChanged, ServerLine
from tcp_client.protocol import ClientProtocol
from tcp_client.registration import RegistrationClosed, RegistrationError, WebIrc
from tcp_client.requests import Collector

CAPS = b":srv CAP * LS :message-tags server-time echo-message batch draft/chathistory sasl\r\n"
WELCOME = b":srv 001 me :Welcome me!u@h\r\n:srv 005 me CHATHISTORY=100 :are supported\r\n:srv 422 me :No MOTD\r\n"


def _lines(core: ClientProtocol) -> list[bytes]:
    return core.data_to_send().splitlines()


def _registered(**kw: object) -> ClientProtocol:
    core = ClientProtocol(SessionConfig("127.0.0.1", 6667, "me", **kw))  # type: ignore[arg-type]
    core.connection_made()
    core.receive_data(CAPS)
    core.receive_data(b":srv CAP me ACK :message-tags server-time echo-message batch draft/chathistory\r\n")
    core.receive_data(WELCOME)
    core.data_to_send()
    core.events_received()
    assert core.registered
    return core


def test_registration_sends_the_handshake_and_requests_only_offered_caps() -> None:
    config = SessionConfig("127.0.0.1", 6667, "me", password="pw",
                           webirc=WebIrc("secret", "gw", "host.example", "203.0.113.9"))
    core = ClientProtocol(config)
    core.connection_made()
    assert _lines(core) == [
        b"WEBIRC secret gw host.example 203.0.113.9", b"PASS pw", b"CAP LS 302", b"NICK me",
        b"USER me 0 * me",
    ]
    core.receive_data(CAPS)
    [req] = _lines(core)
    assert set(req.split(b" ", 2)[2].lstrip(b":").split()) == {
        b"message-tags", b"server-time", b"echo-message", b"batch", b"draft/chathistory"}  # not sasl
    core.receive_data(b":srv CAP me ACK :message-tags server-time batch draft/chathistory\r\n")
    assert _lines(core) == [b"CAP END"]
    assert not core.registered
    core.receive_data(WELCOME)
    assert core.registered and core.prefix == "me!u@h" and core.isupport["CHATHISTORY"] == "100"
    assert core.has_history() and "echo-message" not in core.caps
    welcome = [e for e in core.events_received() if isinstance(e, ServerLine)]
    assert [e.command for e in welcome] == ["CAP", "CAP", "001", "005"]  # the consumer sees the burst


def test_nick_in_use_falls_back_then_a_fatal_refusal_fails() -> None:
    core = ClientProtocol(SessionConfig("127.0.0.1", 6667, "me"))
    core.connection_made()
    core.data_to_send()
    core.receive_data(b":srv 433 * me :Nickname is already in use\r\n")
    assert _lines(core) == [b"NICK me_"]
    core.receive_data(b":srv 001 me_ :Welcome\r\n:srv 376 me_ :End\r\n")
    assert core.registered and core.nick == "me_" and core.wanted_nick == "me"
    core.receive_data(b":me!u@h QUIT :ghost gone\r\n")  # the stale connection held our nick
    assert _lines(core) == [b"NICK me"]

    strict = ClientProtocol(SessionConfig("127.0.0.1", 6667, "9bad", nick_fallback=False))
    strict.connection_made()
    strict.receive_data(b":srv 432 * 9bad :Erroneous nickname\r\n")
    assert isinstance(strict.failure, RegistrationError) and strict.failure.fatal
    assert not strict.registered


def test_closed_during_registration_says_why() -> None:
    core = ClientProtocol(SessionConfig("127.0.0.1", 6667, "me"))
    core.connection_made()
    core.receive_data(b"ERROR :Closing link: banned\r\n")
    core.connection_lost()
    assert isinstance(core.failure, RegistrationError) and core.failure.message == "Closing link: banned"
    quiet = ClientProtocol(SessionConfig("127.0.0.1", 6667, "me"))
    quiet.connection_made()
    quiet.connection_lost()
    assert isinstance(quiet.failure, RegistrationClosed)


def test_ping_is_answered_in_the_same_read_and_partial_lines_wait() -> None:
    core = _registered()
    core.receive_data(b"PING :abc\r\n:bob!b@h PRIVMSG #r :hal")
    assert _lines(core) == [b"PONG abc"]
    assert not [e for e in core.events_received() if isinstance(e, ChatMessage)]
    core.receive_data(b"f a line\r\n")
    [chat] = core.events_received()
    assert isinstance(chat, ChatMessage) and chat.text == "half a line"


def test_own_join_tracks_channels_and_asks_for_history() -> None:
    core = _registered(history_on_join=25)
    core.receive_data(b":me!u@h JOIN #Lobby\r\n")
    assert core.channels == {"#lobby": "#Lobby"} and core.prefix == "me!u@h"
    assert _lines(core) == [b"CHATHISTORY LATEST #Lobby * 25"]
    [joined] = core.events_received()
    assert joined == Joined("#Lobby", "me", True)
    core.receive_data(b":me!u@h NICK other\r\n")
    [nick] = core.events_received()
    assert nick == NickChanged("me", "other", True) and core.nick == "other"
    core.receive_data(b":op!o@h KICK #lobby other :bye\r\n")
    assert core.channels == {}


def test_duplicates_are_dropped_and_held_lines_follow_the_gap_fill() -> None:
    core = _registered()
    core.receive_data(b":me!u@h JOIN #r\r\n@msgid=1 :bob!b@h PRIVMSG #r :one\r\n")
    core.events_received()
    assert core.gap_start("#r") == "msgid=1"
    core.hold("#r")
    core.receive_data(b"@msgid=3 :bob!b@h PRIVMSG #r :three (live, during the fill)\r\n")
    assert core.events_received() == []
    core.receive_data(
        b":srv BATCH +b chathistory #r\r\n"
        b"@batch=b;msgid=2 :bob!b@h PRIVMSG #r :two\r\n"
        b"@batch=b;msgid=3 :bob!b@h PRIVMSG #r :three (live, during the fill)\r\n"
        b":srv BATCH -b\r\n"
    )
    [history] = core.events_received()
    assert isinstance(history, History) and [m.text for m in history.messages] == ["two"]  # 3 seen
    core.release("#r")
    [held] = core.events_received()
    assert isinstance(held, ChatMessage) and held.msgid == "3" and core.last_msgid["#r"] == "3"
    core.receive_data(b"@msgid=3 :bob!b@h PRIVMSG #r :three (live, during the fill)\r\n")
    assert core.events_received() == []


def test_holding_more_than_the_queue_size_overflows() -> None:
    core = _registered(queue_size=2)
    core.hold("#r")
    for i in range(3):
        core.receive_data(b"@msgid=%d :bob!b@h PRIVMSG #r :x\r\n" % i)
    assert core.overflowed


def test_requests_collect_up_to_the_end_marker_and_fail_when_the_link_drops() -> None:
    core = _registered()
    done: list[Collector] = []
    names = core.expect(Collector(lambda m: m.command == "366", lambda m: m.command == "353", done.append))
    core.receive_data(b":srv 353 me = #r :@me bob\r\n:srv NOTICE me :unrelated\r\n:srv 366 me #r :End\r\n")
    assert done == [names] and [m.command for m in names.lines] == ["353", "366"]
    assert not core.collectors  # finished ones are dropped
    pending = core.expect(Collector(lambda m: m.command == "219"))
    core.connection_lost()
    assert pending.finished and isinstance(pending.error, ConnectionError)


def test_kill_is_remembered_for_the_session_to_stop_reconnecting() -> None:
    core = _registered()
    core.receive_data(b":oper!o@h KILL me :spamming\r\n")
    assert core.killed == "killed: spamming"


@pytest.mark.parametrize("bad", [b"\xff\xfe :x PRIVMSG\r\n", b"@" + b"a" * 9000 + b" PING :x\r\n"])
def test_malformed_or_over_long_server_lines_are_dropped_not_fatal(bad: bytes) -> None:
    core = _registered()
    core.receive_data(bad + b":bob!b@h PRIVMSG #r :after\r\n")
    assert [e.text for e in core.events_received() if isinstance(e, ChatMessage)] == ["after"]


def test_sasl_plain_runs_before_cap_end_and_records_the_account() -> None:
    core = ClientProtocol(SessionConfig("127.0.0.1", 6667, "alice", account=("alice", "pw")))
    core.connection_made()
    core.data_to_send()
    core.receive_data(CAPS)
    [req] = _lines(core)
    assert b"sasl" in req.split()
    core.receive_data(b":srv CAP alice ACK :message-tags sasl\r\n")
    assert _lines(core) == [b"AUTHENTICATE PLAIN"]
    core.receive_data(b"AUTHENTICATE +\r\n")
    assert _lines(core) == [b"AUTHENTICATE YWxpY2UAYWxpY2UAcHc="]  # base64("alice\0alice\0pw")
    core.receive_data(b":srv 900 alice alice!u@h alice :You are now logged in\r\n:srv 903 alice :SASL ok\r\n")
    assert _lines(core) == [b"CAP END"]
    core.receive_data(WELCOME.replace(b" me ", b" alice "))
    assert core.registered and core.account == "alice"


def test_a_refused_sasl_login_is_fatal() -> None:
    core = ClientProtocol(SessionConfig("127.0.0.1", 6667, "alice", account=("alice", "bad")))
    core.connection_made()
    core.receive_data(CAPS + b":srv CAP alice ACK :sasl\r\nAUTHENTICATE +\r\n:srv 904 alice :SASL failed\r\n")
    assert isinstance(core.failure, RegistrationError) and core.failure.numeric == "904" and core.failure.fatal


def test_a_history_batch_asked_for_again_is_passed_on_whole() -> None:
    """After leaving and rejoining, the room's history is shown again (lines seen live included)."""
    core = _registered()
    core.receive_data(b"@msgid=1 :bob!b@h PRIVMSG #r :seen live\r\n")
    core.events_received()
    core.receive_data(
        b":srv BATCH +h chathistory #r\r\n@batch=h;msgid=1 :bob!b@h PRIVMSG #r :seen live\r\n:srv BATCH -h\r\n"
    )
    [history] = core.events_received()
    assert isinstance(history, History) and [m.text for m in history.messages] == ["seen live"]
    core.receive_data(b"@msgid=1 :bob!b@h PRIVMSG #r :seen live\r\n")  # a live duplicate still drops
    assert core.events_received() == []


def test_live_room_lines_leave_no_per_line_state_behind() -> None:
    """A web user in a busy room must not grow with every line (the gateway holds one core per
    browser): 3000 live lines leave a few KiB at most once the process-wide caches (parsed lines,
    decoded events: shared by all connections, bounded) are emptied, while history lines are
    still remembered to drop their live duplicates."""
    import gc
    import tracemalloc

    from tcp_client import decode, protocol

    def settled() -> int:
        for cache in (protocol._parsed, protocol._whole_reads, protocol._live_chats, protocol._channel_keys):
            cache.clear()
        decode._chats.clear()
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    core = _registered()
    lines = [b"@msgid=m%d :bob!b@h PRIVMSG #r :line %d\r\n" % (i, i) for i in range(3000)]
    tracemalloc.start()
    try:
        before = settled()
        for line in lines:
            core.receive_data(line)
            core.events_received()
        grown = settled() - before
    finally:
        tracemalloc.stop()
    assert grown < 16 * 1024, f"{grown} bytes kept for 3000 live lines"
    core.receive_data(b":srv BATCH +h chathistory #r\r\n@batch=h;msgid=h1 :bob!b@h PRIVMSG #r :old\r\n:srv BATCH -h\r\n")
    core.events_received()
    core.receive_data(b"@msgid=h1 :bob!b@h PRIVMSG #r :old\r\n")  # the same line live: a duplicate
    assert core.events_received() == []


def test_connections_share_the_servers_isupport_and_cap_strings() -> None:
    """The gateway registers one connection per browser and every one gets the same 005 and CAP
    tokens: they are held once per process, not once per web user."""
    first, second = _registered(), _registered()
    assert first.isupport == second.isupport and first.caps == second.caps
    for key, value in first.isupport.items():
        [other_key] = [k for k in second.isupport if k == key]
        assert other_key is key and second.isupport[key] is value
    assert all(any(c is d for d in second.caps) for c in first.caps)
