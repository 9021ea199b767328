"""Sans-I/O parts of the client: line safety, text splitting, the chat model (lines in, lines out)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcp_client.decode import EventDecoder
from tcp_client.events import SessionClosed, SessionStatus
from tcp_client.lines import LineError, as_message, check_message, split_text, text_budget
from tcp_client.model import ChatModel
from tcp_client.queue import EventQueue
from tcp_client.registration import update_isupport
from tcp_server.protocol import MAX_LINE_BYTES, Message, format_line, parse_line


def rebuilds(text: str, pieces: list[str]) -> bool:
    """True when ``pieces`` are ``text`` in order, losing at most one space per break."""
    i = 0
    for n, piece in enumerate(pieces):
        if not text.startswith(piece, i):
            return False
        i += len(piece)
        if n < len(pieces) - 1 and i < len(text) and text[i] == " " and not pieces[n + 1].startswith(" "):
            i += 1
    return i == len(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
               max_size=3000),
       st.integers(min_value=4, max_value=500))
def test_split_text_never_cuts_and_fits(text: str, budget: int) -> None:
    pieces = split_text(text, budget)
    assert all(len(p.encode()) <= budget for p in pieces)
    assert rebuilds(text, pieces)


def test_split_prefers_spaces_and_keeps_multibyte_whole() -> None:
    assert split_text("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]
    assert split_text("ééééé", 4) == ["éé", "éé", "é"]
    assert split_text("", 10) == [""]
    assert split_text("a\ud800b", 10) == ["a\ufffdb"]  # a lone surrogate (from JSON) is replaced
    with pytest.raises(LineError):
        split_text("a\nb", 10)


def test_a_split_message_fits_the_line_limit_as_relayed() -> None:
    prefix = "n" * 30 + "!~" + "u" * 16 + "@" + "h" * 63
    target = "#" + "c" * 63
    for piece in split_text("x " * 2000, text_budget("PRIVMSG", target, prefix)):
        relayed = format_line(Message("PRIVMSG", (target, piece), prefix))
        assert len(relayed) <= MAX_LINE_BYTES


@pytest.mark.parametrize("line", [
    "PRIVMSG #a :hi\r\nQUIT", "PRIVMSG #a :nul\x00", "", "   ", ":src",
])
def test_unsafe_raw_lines_are_refused(line: str) -> None:
    with pytest.raises(LineError):
        as_message(line)


def test_bad_messages_are_refused() -> None:
    for msg in (
        Message("PRIVMSG", ("#a b", "text")),
        Message("PRIVMSG", (":x", "text")),
        Message("PRIVMSG", ("", "text")),
        Message("PRI VMSG", ("#a",)),
        Message("PRIVMSG", ("#a", "y" * 600)),
    ):
        with pytest.raises(LineError):
            check_message(msg)
    assert as_message("privmsg #a :fine").command == "PRIVMSG"


def test_isupport_tokens_are_added_and_removed() -> None:
    isupport: dict[str, str] = {}
    update_isupport(isupport, parse_line(":s 005 me NICKLEN=30 EXCEPTS CHANTYPES=# :are supported"))
    assert isupport == {"NICKLEN": "30", "EXCEPTS": "", "CHANTYPES": "#"}
    update_isupport(isupport, parse_line(":s 005 me -EXCEPTS :are supported"))
    assert "EXCEPTS" not in isupport


_decoders: dict[int, EventDecoder] = {}


def apply(model: ChatModel, raw: str) -> list:
    """One IRC line through a session's decoder (own nick: the model's) into the model."""
    decoder = _decoders.setdefault(id(model), EventDecoder(lambda: model.nick))
    return [line for event in decoder.feed(parse_line(raw)) for line in model.apply(event)]


def feed(model: ChatModel, *lines: str) -> list[str]:
    out: list[str] = []
    for raw in lines:
        out += [line.plain() for line in apply(model, raw)]
    return [o.split(" ", 1)[1] for o in out]  # drop the clock


def test_model_rooms_members_and_rendering() -> None:
    m = ChatModel("alice")
    assert feed(
        m,
        ":alice!~a@h JOIN #Lobby",
        ":srv 353 alice = #Lobby :@bob alice",
        ":srv 366 alice #Lobby :End",
        "@time=2026-01-01T12:00:00.000Z;msgid=1 :bob!~b@h PRIVMSG #lobby :hi alice",
        ":bob!~b@h PRIVMSG #lobby :\x01ACTION waves\x01",
        ":bob!~b@h NOTICE alice :psst",
        ":bob!~b@h NICK robert",
        ":robert!~b@h QUIT :gone",
    ) == [
        "#Lobby -- alice joined #Lobby",
        "#Lobby members: alice @bob",
        "#Lobby <bob> hi alice",
        "#Lobby * bob waves",
        "bob -bob- psst",
        "#Lobby -- bob is now known as robert",
        "#Lobby -- robert quit (gone)",
    ]
    lobby = m.rooms["#lobby"]
    assert set(lobby.members) == {"alice"}
    assert m.mentions_me("hey Alice, look") and not m.mentions_me("malice")


def test_model_own_nick_part_kick_and_errors() -> None:
    m = ChatModel("alice")
    feed(m, ":alice!~a@h JOIN #a", ":alice!~a@h JOIN #b")
    assert feed(m, ":alice!~a@h NICK al") == ["#a -- alice is now known as al", "#b -- alice is now known as al"]
    assert m.nick == "al"
    feed(m, ":op!~o@h KICK #a al :bye")
    assert not m.rooms["#a"].joined
    assert feed(m, ":srv 401 al nobody :No such nick/channel") == ["* ! nobody No such nick/channel"]
    lines = apply(m, ":srv 433 al bob :Nickname is already in use")
    assert lines[0].room == "" and lines[0].kind == "error"  # shown in the room in view
    assert feed(m, "PING :x", ":srv CAP al ACK :batch") == []


def test_status_events_render() -> None:
    m = ChatModel("alice")
    line = m.apply(SessionStatus("reconnecting", "alice", "connection closed by the server"))[0]
    assert line.plain().endswith("* -- reconnecting… (connection closed by the server)")
    assert m.state == "reconnecting"


async def test_event_queue_is_bounded_and_ends_with_closed() -> None:
    q = EventQueue(2)
    assert q.put(SessionStatus("connecting", "a")) and q.put(SessionStatus("connected", "a"))
    assert not q.put(SessionStatus("connected", "a"))  # full: refused, not grown
    q.finish(SessionStatus("closed", "a", "event queue overflow"))
    assert len(q) == 3
    states = [(await q.get()).state for _ in range(3)]
    assert states == ["connecting", "connected", "closed"]
    with pytest.raises(SessionClosed):
        await q.get()
    with pytest.raises(TimeoutError):
        await EventQueue(1).get(timeout=0.01)


async def test_history_reads_wait_for_rows_still_in_the_commit_window() -> None:
    """The gap fill relies on it: a query issued after a relay sees that message."""
    import asyncio

    from tcp_server.history.groupcommit import GroupCommitter

    written: list[str] = []

    async def write(rows):  # noqa: ANN001
        await asyncio.sleep(0.01)
        written.extend(r.msgid for r in rows)

    committer = GroupCommitter(write, interval=0.05)
    from tcp_server.history.base import StoredMessage

    for i in range(3):
        committer.append(StoredMessage(f"id{i}", 0.0, "PRIVMSG", "s", "s", "#a", "t"), lambda e: None)
    await committer.barrier()
    assert written == ["id0", "id1", "id2"]
    await committer.barrier()  # nothing queued: returns at once
    await committer.close()


def test_model_modes_invites_and_away() -> None:
    m = ChatModel("alice")
    feed(m, ":alice!~a@h JOIN #a", ":srv 353 alice = #a :@alice bob", ":srv 366 alice #a :End")
    assert feed(m, ":alice!~a@h MODE #a +o-o+v bob alice bob") == ["#a -- alice sets mode +o-o+v bob alice bob"]
    assert m.rooms["#a"].members == {"alice": "alice", "bob": "@+bob"}
    feed(m, ":alice!~a@h MODE #a +k-o secret bob")
    assert m.rooms["#a"].members["bob"] == "+bob"
    assert feed(m, ":bob!~b@h AWAY :lunch", ":bob!~b@h AWAY") == ["#a -- bob is away: lunch", "#a -- bob is back"]
    assert feed(m, ":bob!~b@h INVITE alice #b") == ["* -- bob invites you to #b (/join #b)"]
