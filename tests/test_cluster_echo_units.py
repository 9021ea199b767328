"""The sender's echo in the cluster's channel order, in memory: passable holds and PendingEcho."""

from __future__ import annotations

from tcp_server.state import Client
from tcp_server.state.bus import PendingEcho
from tcp_server.state.ordering import OrderedOutput

from .support import MemoryOutbox


def _client() -> tuple[Client, MemoryOutbox]:
    outbox = MemoryOutbox()
    return Client(1, outbox, "127.0.0.1", 1, "tcp"), outbox


def test_channel_lines_pass_a_hold_waiting_for_its_turn_and_replies_wait_behind_it() -> None:
    out: list[bytes] = []
    order = OrderedOutput(out.append)
    echo = order.hold()
    echo.passable = True
    order.take(b"PONG")  # a reply to a later command: behind the echo
    order.place(b"other's line")  # before the echo in the channel's order: goes out now
    assert out == [b"other's line"]
    echo.passable = False  # its turn came: later channel lines wait behind it
    order.place(b"next line")
    order.release(echo, lambda: order.take(b"echo"))
    assert out == [b"other's line", b"echo", b"PONG", b"next line"]
    assert order.held_bytes == 0 and not order.active


def test_a_line_placed_behind_an_older_plain_hold_stays_before_a_passable_one() -> None:
    out: list[bytes] = []
    order = OrderedOutput(out.append)
    oper = order.hold()  # e.g. OPER waiting for its hash
    echo = order.hold()
    echo.passable = True
    order.place(b"line")
    assert out == []  # behind the older hold...
    order.release(oper, lambda: order.take(b"381"))
    assert out == [b"381", b"line"]  # ...and ahead of the echo still waiting for its turn
    echo.passable = False
    order.release(echo, lambda: order.take(b"echo"))
    assert out == [b"381", b"line", b"echo"]


def test_pending_echo_goes_after_its_turn_and_its_commit_with_its_label() -> None:
    client, outbox = _client()
    pending = PendingEcho(client, b":a PRIVMSG #c :hi\r\n", "L1", turn=True, commit=True)
    outbox.deliver(b":b PRIVMSG #c :before\r\n")
    pending.committed()
    assert [m.params[1] for m in outbox.take()] == ["before"]  # committed, but not its turn yet
    pending.turn()
    outbox.deliver(b":b PRIVMSG #c :after\r\n")
    got = outbox.take()
    assert [m.params[1] for m in got] == ["hi", "after"]
    assert got[0].tags == {"label": "L1"}


def test_pending_echo_becomes_the_fail_line_when_the_commit_fails() -> None:
    client, outbox = _client()
    pending = PendingEcho(client, b":a PRIVMSG #c :hi\r\n", None, turn=True, commit=True)
    pending.turn()
    outbox.deliver(b":b PRIVMSG #c :later\r\n")  # after the echo's turn: waits behind it
    assert outbox.take() == []
    pending.committed(b":srv FAIL PRIVMSG MESSAGE_NOT_STORED #c :no\r\n")
    assert [m.command for m in outbox.take()] == ["FAIL", "PRIVMSG"]
