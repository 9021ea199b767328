"""``ClientProtocol.receive_live_chat`` (the gateway's short way for a live chat line) must give
exactly what ``receive_data`` then ``events_received`` give: same events, same state after.

Two cores are fed the same reads, one the way ``Link.data_received`` does it (the short way first,
the general path when it declines), the other always through the general path.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tcp_client.events import ChatMessage
from tcp_client.protocol import ClientProtocol
from tcp_client.requests import Collector

from .test_protocol import _registered

LINES = [
    b"@msgid=a1;time=2026-11-30T10:00:00.000Z :bob!b@h PRIVMSG #room :hello",
    b"@msgid=a2;time=2026-11-30T10:00:01.000Z :bob!b@h PRIVMSG #Room :same room, other case",
    b"@msgid=a3 :bob!b@h NOTICE #room :a notice without time",
    b"@msgid=a4;time=2026-11-30T10:00:02.000Z :me!u@h PRIVMSG #room :our own echo",
    b"@msgid=a5;time=2026-11-30T10:00:03.000Z :bob!b@h PRIVMSG me :a private line",
    b"@msgid=a6;time=2026-11-30T10:00:04.000Z :bob!b@h PRIVMSG #room :\x01ACTION waves\x01",
    b"@msgid=a7;time=2026-11-30T10:00:05.000Z :bob!b@h PRIVMSG #room :\x01VERSION\x01",
    b"@msgid=a8;time=2026-11-30T10:00:06.000Z :srv.example NOTICE #room :from the server",
    b":bob!b@h PRIVMSG #room :no msgid at all",
    b"@batch=h1;msgid=a1;time=2026-11-30T10:00:00.000Z :bob!b@h PRIVMSG #room :hello",
    b"@batch=h1;msgid=a9;time=2026-11-30T09:59:00.000Z :bob!b@h PRIVMSG #room :older",
    b":srv BATCH +h1 chathistory #room",
    b":srv BATCH -h1",
    b":me!u@h NICK bob",
    b":bob!u@h NICK me",
    b":me!u@h JOIN #other",
    b"PING :srv",
]
READS = [line + b"\r\n" for line in LINES]
ACTIONS = st.one_of(
    st.sampled_from(READS),
    st.tuples(st.sampled_from(READS), st.sampled_from(READS)).map(lambda p: p[0] + p[1]),  # two lines, one read
    st.sampled_from(READS).map(lambda r: r[:10]),  # the start of a line: the next read ends it
    st.sampled_from(READS).map(lambda r: r[10:]),
    st.just("hold"), st.just("release"), st.just("expect"), st.just("done"),
)


def _short_way(core: ClientProtocol, data: bytes) -> list[object]:
    event = core.receive_live_chat(data)
    if event is not None:
        return [event]
    core.receive_data(data)
    return list(core.events_received())


def _general(core: ClientProtocol, data: bytes) -> list[object]:
    core.receive_data(data)
    return list(core.events_received())


def _state(core: ClientProtocol) -> tuple[object, ...]:
    return (core.nick, core.last_time, dict(core.last_msgid), list(core._seen), core.data_to_send(),
            {k: list(v) for k, v in core._filling.items()}, core.overflowed)


@settings(max_examples=300, deadline=None)
@given(st.lists(ACTIONS, max_size=40))
def test_the_short_way_gives_what_the_general_path_gives(actions: list[object]) -> None:
    fast, slow = _registered(), _registered()
    collectors: list[tuple[Collector, Collector]] = []
    for action in actions:
        if action == "hold":
            fast.hold("#room"), slow.hold("#room")
        elif action == "release":
            if "#room" in fast._filling:
                fast.release("#room"), slow.release("#room")
                assert fast.events_received() == slow.events_received()
        elif action == "expect":
            pair = (Collector(lambda m: m.command == "PONG"), Collector(lambda m: m.command == "PONG"))
            fast.expect(pair[0]), slow.expect(pair[1])
            collectors.append(pair)
        elif action == "done":
            for a, b in collectors:
                fast.collectors.discard(a), slow.collectors.discard(b)
            collectors.clear()
        else:
            assert isinstance(action, bytes)
            assert _short_way(fast, action) == _general(slow, action)
        assert _state(fast) == _state(slow)
    for a, b in collectors:
        assert [m.command for m in a.lines] == [m.command for m in b.lines]


def test_a_room_line_takes_the_short_way_once_the_process_has_seen_it() -> None:
    """The second connection handed the same bytes gets the shared event without the parse."""
    first, second = _registered(), _registered()
    data = b"@msgid=z1;time=2026-11-30T11:00:00.000Z :bob!b@h PRIVMSG #lobby :hi all\r\n"
    assert first.receive_live_chat(data) is None  # never seen: the general path
    first.receive_data(data)
    [event] = first.events_received()
    shared = second.receive_live_chat(data)
    assert isinstance(shared, ChatMessage) and shared is event and shared.text == "hi all"
    assert second.last_msgid == {"#lobby": "z1"} and second.last_time == "2026-11-30T11:00:00.000Z"
