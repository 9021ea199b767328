"""The sender's echo in the cluster's channel order, in memory: passable holds and PendingEcho."""

from __future__ import annotations

from tcp_server.state import Client
from tcp_server.state.bus import PendingEcho
from tcp_server.state.ordering import OrderedOutput
from tcp_server.state.responses import ResponseBuffer

from ..support import MemoryOutbox


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
    rb = ResponseBuffer("srv", client, "L1")  # a labelled PRIVMSG
    pending = PendingEcho(rb.later(), b":a PRIVMSG #c :hi\r\n", turn=True, commit=True)
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
    pending = PendingEcho(ResponseBuffer("srv", client).later(), b":a PRIVMSG #c :hi\r\n", turn=True, commit=True)
    pending.turn()
    outbox.deliver(b":b PRIVMSG #c :later\r\n")  # after the echo's turn: waits behind it
    assert outbox.take() == []
    pending.committed(b":srv FAIL PRIVMSG MESSAGE_NOT_STORED #c :no\r\n")
    assert [m.command for m in outbox.take()] == ["FAIL", "PRIVMSG"]


def _node_with_room() -> tuple[object, object, object]:
    """A node's state with a RedisBus (no Redis: events are handed to it as they would arrive)
    and two local members of #c; alice asked for echo-message."""
    from tcp_server.cluster.bus import RedisBus

    from ..support import MemoryServer

    server = MemoryServer(node_id="n1")
    bus = RedisBus(server.state, server.state.settings)
    bus.up = True
    server.state.bus = bus
    alice, bob = server.connect("alice", "echo-message"), server.connect("bob")
    for c in (alice, bob):
        c.send("JOIN #c")  # no link: the JOIN completes at once
    alice.take()
    return bus, alice, bob


def _rb(conn: object) -> ResponseBuffer:
    """The reply buffer of a command of ``conn`` (a MemoryClient) without a label."""
    return ResponseBuffer("srv", conn.client)  # type: ignore[attr-defined]


def _event(node: str, sender: int, line: str, msgid: str) -> dict[str, object]:
    from tcp_server.cluster import wire

    data = line.encode()
    return {"k": "m", "n": node, "s": sender, "v": wire.pack_variants((data, data, data, data, data)), "id": msgid}


def test_the_echo_goes_out_when_its_message_comes_back_and_lines_before_it_pass() -> None:
    bus, alice, bob = _node_with_room()
    line = "@msgid=n1-1 :alice!a@h PRIVMSG #c :mine\r\n"
    variants = (line.encode(),) * 3
    bus.await_echo("#c", "n1-1")  # what to_channel does when it publishes
    bus.echo(_rb(alice), variants)
    assert alice.send("PING :after") == []  # the reply waits behind the echo
    bus.on_channel_event("#c", _event("n2", 0, ":carol!c@h PRIVMSG #c :theirs\r\n", "n2-1"))
    assert [m.params[1] for m in alice.take()] == ["theirs"]  # before it in Redis order: goes ahead
    bus.on_channel_event("#c", _event("n1", alice.client.id, line, "n1-1"))
    got = alice.take()
    assert [(m.command, m.params[-1]) for m in got] == [("PRIVMSG", "mine"), ("PONG", "after")]
    assert [m.params[1] for m in bob.take()] == ["theirs", "mine"]  # the same order
    assert bus.echoes == {}


def test_an_echo_whose_message_was_lost_goes_when_a_later_one_of_its_channel_is_back() -> None:
    bus, alice, _ = _node_with_room()
    for k in (1, 2):
        bus.await_echo("#c", f"n1-{k}")
        bus.echo(_rb(alice), (f"@msgid=n1-{k} :alice!a@h PRIVMSG #c :m{k}\r\n".encode(),) * 3)
    bus.on_channel_event("#c", _event("n1", alice.client.id, "@msgid=n1-2 :alice!a@h PRIVMSG #c :m2\r\n", "n1-2"))
    assert [m.params[1] for m in alice.take()] == ["m1", "m2"]  # m1 never came back: it goes first
    assert bus.echoes == {}


def test_echoes_waiting_for_redis_go_when_redis_is_gone() -> None:
    bus, alice, _ = _node_with_room()
    bus.await_echo("#c", "n1-1")
    bus.echo(_rb(alice), (b"@msgid=n1-1 :alice!a@h PRIVMSG #c :m1\r\n",) * 3)
    assert alice.take() == []
    bus.turn_all()  # what Link.down does
    assert [m.params[1] for m in alice.take()] == ["m1"]
    assert bus.echoes == {}


def test_a_join_from_another_node_passes_an_echo_waiting_for_its_turn() -> None:
    bus, alice, bob = _node_with_room()
    bob.take()
    bus.await_echo("#c", "n1-1")
    bus.echo(_rb(alice), (b"@msgid=n1-1 :alice!a@h PRIVMSG #c :mine\r\n",) * 3)
    info = {"node": "n2", "nick": "carol", "user": "~c", "host": "h", "realname": "", "account": None}
    bus.on_channel_event("#c", {"k": "j", "n": "n2", "c": 7, "f": "carol", "m": "", "i": info})
    assert [(m.command, m.source.split("!")[0]) for m in alice.take()] == [("JOIN", "carol")]
    assert [m.command for m in bob.take()] == ["JOIN"]
