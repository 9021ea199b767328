"""The response buffer in memory (no sockets): a command's reply, its label and batches, late replies."""

from __future__ import annotations

from tcp_server.protocol import numerics as N
from tcp_server.state.responses import ResponseBuffer

from ..support import MemoryClient, MemoryServer

CAPS = "labeled-response batch message-tags"


def labelled_client(nick: str = "amy") -> tuple[MemoryServer, MemoryClient]:
    server = MemoryServer()
    return server, server.connect(nick, caps=CAPS)


def test_one_reply_carries_the_label():
    _, amy = labelled_client()
    (pong,) = amy.send("@label=p1 PING tok")
    assert pong.command == "PONG" and pong.tags == {"label": "p1"}


def test_a_command_without_reply_is_acknowledged():
    _, amy = labelled_client()
    (ack,) = amy.send("@label=a1 PONG tok")
    assert ack.command == "ACK" and ack.tags == {"label": "a1"}


def test_several_replies_become_one_labelled_batch():
    _, amy = labelled_client()
    out = amy.send("@label=m1 MOTD")
    start, end = out[0], out[-1]
    assert start.command == "BATCH" and start.params[1] == "labeled-response" and start.tags["label"] == "m1"
    ref = start.params[0][1:]
    assert end.params == (f"-{ref}",)
    assert len(out) > 3 and all(m.tags.get("batch") == ref and "label" not in m.tags for m in out[1:-1])


def test_the_senders_own_join_from_the_channel_relay_is_part_of_the_labelled_reply():
    _, amy = labelled_client()
    out = amy.send("@label=j1 JOIN #room")
    ref = out[0].params[0][1:]
    assert out[0].tags["label"] == "j1"
    assert [m.command for m in out[1:-1]] == ["JOIN", "353", "366"]
    assert all(m.tags["batch"] == ref for m in out[1:-1])


def test_a_labelled_quit_is_answered_by_error_alone():
    _, amy = labelled_client()
    assert amy.send("@label=q1 QUIT :bye") == []
    assert amy.closed is not None and amy.closed.startswith(b"ERROR ")


def test_without_a_label_lines_go_straight_to_the_connection():
    server, amy = labelled_client()
    rb = ResponseBuffer(server.state.name, amy.client)
    rb.numeric(N.RPL_UMODEIS, "+")
    assert rb.lines is None and [m.command for m in amy.take()] == ["221"]


def test_a_reply_that_is_one_batch_gets_the_label_on_its_start_and_nested_batches_keep_their_tags():
    server, amy = labelled_client()
    rb = ResponseBuffer(server.state.name, amy.client, "h1")
    outer = rb.start_batch("chathistory", "#room")
    rb.add(b":bob!b@h PRIVMSG #room :one\r\n")
    inner = rb.start_batch("draft/multiline", "#room")
    rb.add(b":bob!b@h PRIVMSG #room :two\r\n")
    rb.end_batch(inner)
    rb.end_batch(outer)
    rb.flush()
    out = amy.take()
    assert out[0].params == (f"+{outer}", "chathistory", "#room") and out[0].tags == {"label": "h1"}
    assert out[1].tags == {"batch": outer} and out[2].params[:2] == (f"+{inner}", "draft/multiline")
    assert out[2].tags == {"batch": outer} and out[3].tags == {"batch": inner}
    assert out[4].params == (f"-{inner}",) and out[5].params == (f"-{outer}",)
    assert len(out) == 6  # not wrapped again in a labeled-response batch


def test_a_batch_is_not_opened_for_a_client_without_the_batch_capability():
    server = MemoryServer()
    amy = server.connect("amy", caps="labeled-response")
    rb = ResponseBuffer(server.state.name, amy.client, "h2")
    ref = rb.start_batch("chathistory", "#room")
    rb.add(b":bob!b@h PRIVMSG #room :one\r\n")
    rb.add(b":bob!b@h PRIVMSG #room :two\r\n")
    rb.end_batch(ref)
    rb.flush()
    out = amy.take()
    assert ref is None and [m.command for m in out] == ["PRIVMSG", "PRIVMSG"]
    assert out[0].tags == {"label": "h2"} and out[1].tags == {}


def test_a_late_reply_keeps_its_place_and_its_label():
    server, amy = labelled_client()
    rb = ResponseBuffer(server.state.name, amy.client, "o1")
    rb.reply("NOTICE", "amy", "checking")
    late = rb.later()  # what was said so far goes out now, unlabelled; the label waits
    assert [m.command for m in amy.take()] == ["NOTICE"]
    amy.send("PING after")  # a later command's reply waits behind the late one
    assert amy.take() == []
    late.release(lambda reply: (reply.numeric(N.RPL_YOUREOPER, "op"), reply.reply("MODE", "amy", "+o")))
    out = amy.take()
    assert out[0].command == "BATCH" and out[0].tags["label"] == "o1"
    assert [m.command for m in out[1:]] == ["381", "MODE", "BATCH", "PONG"]


def test_a_late_reply_with_one_line_is_labelled_in_place():
    server, amy = labelled_client()
    rb = ResponseBuffer(server.state.name, amy.client, "e1")
    late = rb.later()
    amy.send("@label=p2 PING x")
    late.send(b":amy!a@h PRIVMSG #room :hi\r\n")
    first, pong = amy.take()
    assert first.tags == {"label": "e1"} and pong.tags == {"label": "p2"}


def test_the_buffer_is_restored_as_outbox_after_a_failing_handler():
    from tcp_server.commands import table

    server, amy = labelled_client()
    outbox = amy.client.outbox

    def broken(state, client, msg, rb):  # type: ignore[no-untyped-def]
        rb.reply("NOTICE", "amy", "before the bug")
        raise RuntimeError("bug")

    table.COMMANDS["BROKEN"] = table.Command(broken)
    try:
        try:
            amy.send("@label=x1 BROKEN")
        except RuntimeError:
            pass
        assert amy.client.outbox is outbox
        (notice,) = amy.take()
        assert notice.command == "NOTICE" and notice.tags == {"label": "x1"}
    finally:
        del table.COMMANDS["BROKEN"]


def test_an_answer_after_the_password_hash_carries_the_label_of_its_command():
    server = MemoryServer(oper_name="root", oper_password="hunter2")
    amy = server.connect("amy", caps=CAPS)
    out = amy.send("@label=o2 OPER root hunter2")
    assert out[0].command == "BATCH" and out[0].tags["label"] == "o2"
    assert [m.command for m in out[1:]] == ["381", "MODE", "BATCH"]
    (wrong,) = amy.send("@label=o3 OPER root nope")
    assert wrong.command == "464" and wrong.tags == {"label": "o3"}
