"""Sans-I/O pieces of the admin/API layer: reply lines in, models out; inputs to IRC parameters;
the message-rate tracker and the login limiter."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcp_server.protocol import parse_line
from web_gateway.admin.auth import AttemptLimiter
from web_gateway.api.limits import PerClientLimiter
from web_gateway.api.models import Room
from web_gateway.api.replies import (
    BadInput,
    failure,
    history_ref,
    normalize_room,
    parse_connections,
    parse_history,
    parse_names,
    parse_rooms,
)
from web_gateway.api.service import RateTracker

V = "tcpchat.example/"


def line(text: str):  # type: ignore[no-untyped-def]
    return parse_line(text.encode())


def link_line(ident: int, nick: str, transport: str = "tcp", ip: str = "127.0.0.1", **extra: str):  # type: ignore[no-untyped-def]
    tags = {
        "id": str(ident), "nick": nick, "transport": transport, "ip": ip, "port": "40000",
        "registered": "1", "channels": "#a,#b", "idle": "5", "signon": "1700000000", "sendq": "10",
        "bytes-in": "100", "bytes-out": "2000", "oper": "0", "gateway": "", **extra,
    }
    tag_text = ";".join(f"{V}{k}={v}" for k, v in tags.items())
    return line(f"@{tag_text} :srv 211 me {nick}[u@h] 10 7 1 3 0 42")


def test_normalize_room() -> None:
    assert normalize_room("lobby") == "#lobby"
    assert normalize_room("#Lobby") == "#Lobby"
    assert normalize_room("&local") == "&local"
    for bad in ("", "#", "a b", "a,b", "a:b", "a\x07b", "x" * 64, "tab\there"):
        with pytest.raises(BadInput):
            normalize_room(bad)


def test_history_ref_accepts_msgids_and_iso_times() -> None:
    assert history_ref("01HX-abc_123") == "msgid=01HX-abc_123"
    assert history_ref("2026-01-02T03:04:05Z") == "timestamp=2026-01-02T03:04:05.000Z"
    assert history_ref("2026-01-02T04:04:05.250+01:00") == "timestamp=2026-01-02T03:04:05.250Z"
    assert history_ref("2026-01-02") == "timestamp=2026-01-02T00:00:00.000Z"
    for bad in ("has space", "semi;colon", "x" * 200, "new\nline"):
        with pytest.raises(BadInput):
            history_ref(bad)


def test_parse_connections_and_totals() -> None:
    lines = [
        link_line(1, "gw-admin", oper="1"),
        link_line(2, "webby", transport="web", ip="203.0.113.9", gateway="tcpchat-web"),
        link_line(3, "v6", ip="::1"),
        line(":srv 211 me untagged[u@h] 0 0 0 0 0 1"),  # no vendor tags: ignored
        line(":srv 219 me l :End of /STATS report"),
    ]
    data = parse_connections(lines, own_nick="gw-admin")
    assert [c.id for c in data.connections] == [1, 2, 3]
    admin, webby, v6 = data.connections
    assert admin.admin_link and admin.oper and not webby.admin_link
    assert webby.transport == "web" and webby.ip == "203.0.113.9" and webby.gateway == "tcpchat-web"
    assert webby.channels == ["#a", "#b"]
    assert (webby.messages_out, webby.messages_in, webby.connected_seconds) == (7, 3, 42)
    assert v6.address == "[::1]:40000"
    assert data.totals.connections == 3
    assert data.totals.by_transport == {"tcp": 2, "web": 1}
    assert data.totals.bytes_out == 6000 and data.totals.sendq == 30


def test_parse_rooms_with_and_without_vendor_tags() -> None:
    rooms = parse_rooms([
        line(":srv 321 me Channel :Users  Name"),
        line(f"@{V}messages=12;{V}modes=+nst;{V}created=5 :srv 322 me #b 3 :a topic"),
        line(":srv 322 me #A 1 :"),
        line(":srv 323 me :End of /LIST"),
    ])
    assert [r.name for r in rooms] == ["#A", "#b"]
    plain, tagged = rooms
    assert plain.modes is None and plain.messages is None and plain.topic == ""
    assert (tagged.member_count, tagged.topic, tagged.modes, tagged.messages, tagged.created) == (
        3, "a topic", "+nst", 12, 5,
    )


def test_parse_names_and_history() -> None:
    members = parse_names([line(":srv 353 me = #a :@op +voiced plain"), line(":srv 366 me #a :End")])
    assert [(m.nick, m.prefix) for m in members] == [("op", "@"), ("plain", ""), ("voiced", "+")]
    batch = [
        line(":srv BATCH +x chathistory #a"),
        line("@batch=x;msgid=m1;time=2026-01-01T00:00:00.000Z :al!u@h PRIVMSG #a :hello"),
        line("@batch=x;msgid=m2;time=2026-01-01T00:00:01.000Z :al!u@h PRIVMSG #a :\x01ACTION waves\x01"),
        line("@batch=x;msgid=m3;time=2026-01-01T00:00:02.000Z :bo!u@h NOTICE #a :psst"),
        line(":srv BATCH -x"),
    ]
    got = [(m.id, m.from_, m.text, m.kind) for m in parse_history(batch)]
    assert got == [("m1", "al", "hello", "privmsg"), ("m2", "al", "waves", "action"), ("m3", "bo", "psst", "notice")]


def test_failure_finds_errors() -> None:
    assert failure([line(":srv 366 me #a :End")]) is None
    assert failure([line(":srv FAIL CHATHISTORY INVALID_TARGET #a :no")]).command == "FAIL"  # type: ignore[union-attr]
    assert failure([line(":srv 404 me #a :Cannot send")]).command == "404"  # type: ignore[union-attr]


def test_rate_tracker_computes_messages_per_minute() -> None:
    tracker = RateTracker()
    first = [Room(name="#a", member_count=1, topic="", messages=10)]
    tracker.observe(first, now=100.0)
    assert first[0].messages_per_minute is None  # one sample is no rate
    second = [Room(name="#a", member_count=1, topic="", messages=40)]
    tracker.observe(second, now=130.0)
    assert second[0].messages_per_minute == 60.0
    recreated = [Room(name="#A", member_count=1, topic="", messages=2)]
    tracker.observe(recreated, now=131.0)  # the counter went back: the room was recreated
    assert recreated[0].messages_per_minute is None
    untagged = [Room(name="#b", member_count=1, topic="")]
    tracker.observe(untagged, now=200.0)
    assert untagged[0].messages_per_minute is None


def test_rate_tracker_has_a_rate_on_the_first_look_when_the_room_age_is_known() -> None:
    tracker = RateTracker()
    young = Room(name="#young", member_count=1, topic="", messages=12, created=970)
    old = Room(name="#old", member_count=1, topic="", messages=600, created=400)
    tracker.observe([young, old], now=5.0, wall=1000.0)
    assert young.messages_per_minute == 12.0  # 30 s old: all its messages are from the last minute
    assert old.messages_per_minute == 60.0  # 600 messages in 10 minutes
    later = Room(name="#old", member_count=1, topic="", messages=700, created=400)
    tracker.observe([later], now=65.0, wall=1060.0)  # a minute of samples: their rate wins
    assert later.messages_per_minute == 100.0


def test_rate_tracker_memory_is_bounded_under_fast_polling() -> None:
    tracker = RateTracker()
    for i in range(10_000):  # 100 polls a second for 100 s
        tracker.observe([Room(name="#a", member_count=1, topic="", messages=i)], now=i / 100)
    assert len(tracker._samples["#a"]) <= 70
    rooms = [Room(name="#a", member_count=1, topic="", messages=10_000)]
    tracker.observe(rooms, now=100.0)
    assert rooms[0].messages_per_minute is not None
    assert 5900 <= rooms[0].messages_per_minute <= 6100  # 100 messages a second


def test_per_client_limiter() -> None:
    limiter = PerClientLimiter(rate=1.0, burst=2)
    assert [limiter.retry_after("a") for _ in range(2)] == [0.0, 0.0]
    assert 0 < limiter.retry_after("a") <= 1.0
    assert limiter.retry_after("b") == 0.0
    assert PerClientLimiter(rate=0, burst=1).retry_after("a") == 0.0


def test_attempt_limiter_counts_when_a_check_starts_per_address() -> None:
    limiter = AttemptLimiter(attempts=2, window=60, in_flight_per_addr=1, in_flight_total=2)
    assert limiter.begin("a") == 0
    assert limiter.begin("a") == 1  # one check of an address at a time
    assert limiter.begin("b") == 0
    assert limiter.begin("c") == 1  # two in flight in all
    limiter.end("a", ok=False)
    limiter.end("b", ok=True)  # a success gives its attempt back
    assert limiter.begin("a") == 0
    limiter.end("a", ok=False)
    assert 1 <= limiter.begin("a") <= 60  # two attempts counted: refused before any hash
    assert 1 <= limiter.retry_after("a") <= 60
    for _ in range(5):
        assert limiter.begin("b") == 0
        limiter.end("b", ok=True)


@given(st.text(max_size=100))
def test_any_room_text_is_accepted_as_a_valid_channel_or_refused_cleanly(raw: str) -> None:
    from tcp_server.protocol import is_valid_channel

    try:
        name = normalize_room(raw)
    except BadInput as exc:
        assert "invalid room name" in str(exc)
    else:
        assert is_valid_channel(name, 64) and name.isprintable()


@given(st.text(max_size=150))
def test_any_history_reference_becomes_one_irc_parameter_or_is_refused(raw: str) -> None:
    try:
        ref = history_ref(raw)
    except BadInput:
        return
    assert ref.startswith(("msgid=", "timestamp="))
    assert not any(ch in ref for ch in " \r\n\x00,") and ref.isprintable()


@given(st.datetimes(), st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)))
def test_any_iso_time_becomes_a_utc_timestamp_or_is_refused(when: datetime, offset: timedelta) -> None:
    text = when.replace(tzinfo=timezone(offset)).isoformat()
    try:
        ref = history_ref(text)
    except BadInput as exc:
        assert "out of the range" in str(exc)
        return
    assert re.fullmatch(r"timestamp=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ref), ref


def test_odd_numbers_from_the_server_never_crash() -> None:
    odd = line(f"@{V}id=²;{V}port=٣;{V}nick=x :srv 211 me x[u@h] ¹ ² ³ ⁴ ⁵ ⁶")
    data = parse_connections([odd], own_nick="me")
    assert data.connections[0].id == 0 and data.connections[0].messages_in == 0
    assert parse_rooms([line(":srv 322 me #a ² :t")])[0].member_count == 0
