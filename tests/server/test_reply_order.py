"""Replies in the order of the client's commands, though the echo waits for the history commit.

With history on, the ``echo-message`` copy (the sender's acknowledgement) is sent after the store
commits. A ``PING`` sent right after the ``PRIVMSG`` must still be answered after the echo: the
client's later output waits behind its pending echo (a per-connection hold), other clients don't.
"""

from __future__ import annotations

import asyncio

import pytest

from ..support import RawClient

CAPS = "echo-message message-tags labeled-response batch server-time"


@pytest.fixture
async def slow_commit_server(make_server, tmp_path):
    # A long group-commit window makes the echo clearly late: without the ordering hold the PONG
    # would overtake it every time.
    return await make_server(history=True, data_dir=tmp_path, history_commit_interval=0.05)


async def _replies(client: RawClient, count: int) -> list[str]:
    """The next ``count`` echo/PONG lines, as 'ECHO <text>' or 'PONG <token>' (labels kept)."""
    out: list[str] = []
    while len(out) < count:
        msg = await client.recv()
        assert msg is not None
        label = msg.tags.get("label", "")
        if msg.command in ("PRIVMSG", "NOTICE", "TAGMSG") and msg.source.startswith(client.nick + "!"):
            text = msg.params[1] if len(msg.params) > 1 else msg.tags.get("+k", "")
            out.append(f"ECHO {text} {label}".rstrip())
        elif msg.command == "PONG":
            out.append(f"PONG {msg.params[-1]} {label}".rstrip())
    return out


@pytest.mark.parametrize("command", ["PRIVMSG", "NOTICE", "TAGMSG"])
@pytest.mark.parametrize("labelled", [False, True])
async def test_a_ping_after_a_message_is_answered_after_its_echo(slow_commit_server, command, labelled):
    srv = slow_commit_server
    alice = await RawClient.connect(srv.port)
    await alice.register("alice", CAPS)
    await alice.join("#c")
    try:
        for i in range(5):
            m_tag, p_tag = (f"@label=m{i} ", f"@label=p{i} ") if labelled else ("", "")
            if command == "TAGMSG":
                line = f"@+k=t{i} TAGMSG #c" if not labelled else f"@label=m{i};+k=t{i} TAGMSG #c"
            else:
                line = f"{m_tag}{command} #c :t{i}"
            await alice.send(line + "\r\n" + f"{p_tag}PING x{i}")
            got = await _replies(alice, 2)
            m_label = f" m{i}" if labelled else ""
            p_label = f" p{i}" if labelled else ""
            assert got == [f"ECHO t{i}{m_label}", f"PONG x{i}{p_label}"]
    finally:
        await alice.close()


async def test_order_holds_under_load_and_others_are_not_held_up(slow_commit_server):
    """Five senders each interleave messages and pings; each sees its own replies in order, and a
    listener that sends nothing gets every message (its output is never held)."""
    srv = slow_commit_server
    listener = await RawClient.connect(srv.port)
    await listener.register("listener", "server-time")
    await listener.join("#load")
    senders = []
    for n in range(5):
        c = await RawClient.connect(srv.port)
        await c.register(f"s{n}", CAPS)
        await c.join("#load")
        senders.append(c)
    rounds = 20

    async def drive(c: RawClient) -> list[str]:
        expected: list[str] = []
        for i in range(rounds):
            await c.send(f"PRIVMSG #load :{c.nick}-{i}\r\nPING {c.nick}-{i}")
            expected += [f"ECHO {c.nick}-{i}", f"PONG {c.nick}-{i}"]
        got = await _replies(c, 2 * rounds)
        assert got == expected
        return got

    async def listen() -> int:
        seen = 0
        while seen < 5 * rounds:
            msg = await listener.recv()
            assert msg is not None
            if msg.command == "PRIVMSG":
                seen += 1
        return seen

    try:
        results = await asyncio.gather(listen(), *(drive(c) for c in senders))
        assert results[0] == 5 * rounds
    finally:
        for c in (listener, *senders):
            await c.close()


async def test_a_quit_while_the_echo_waits_still_sends_what_came_before(slow_commit_server):
    srv = slow_commit_server
    alice = await RawClient.connect(srv.port)
    await alice.register("alice", CAPS)
    await alice.join("#q")
    await alice.send("PRIVMSG #q :last words\r\nPING before-quit\r\nQUIT :bye")
    lines = await alice.read_until_closed()
    kinds = [m.command for m in lines]
    assert "PONG" in kinds and kinds[-1] == "ERROR"
    await alice.close()


async def test_output_held_behind_a_stalled_commit_is_bounded(make_server, tmp_path):
    """If the store stalls, what waits behind a client's pending echo cannot grow without bound:
    over ``held_output_max`` that client is dropped; others carry on."""
    import os
    import signal

    srv = await make_server(history=True, data_dir=tmp_path, held_output_max=8192)
    waiting = await RawClient.connect(srv.port)
    await waiting.register("waiting", CAPS)
    talker = await RawClient.connect(srv.port)
    await talker.register("talker")
    listener = await RawClient.connect(srv.port)
    await listener.register("listener")
    for c in (waiting, talker, listener):
        await c.join("#stall")
    writer = srv.state.history._process._proc  # the SQLite writer child process
    os.kill(writer.pid, signal.SIGSTOP)
    try:
        await waiting.send("PRIVMSG #stall :my echo waits for a commit that does not come")
        await asyncio.sleep(0.1)
        await talker.send(*[f"PRIVMSG #stall :{'x' * 200} {n}" for n in range(100)])  # ~22 KB to hold
        got = 0
        while got < 100:
            m = await listener.recv()
            assert m is not None
            got += m.command == "PRIVMSG"
        lines = await waiting.read_until_closed()
        assert lines[-1].command == "ERROR" and "SendQ exceeded" in lines[-1].params[-1]
        assert srv.state.find_nick("waiting") is None and srv.state.find_nick("listener") is not None
    finally:
        os.kill(writer.pid, signal.SIGCONT)
    for c in (waiting, talker, listener):
        await c.close()
