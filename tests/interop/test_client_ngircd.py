"""The client against a third-party server (ngircd): the session speaks standard IRC, not just ours."""

from __future__ import annotations

import asyncio

import pytest

from bench.targets import ngircd_available, start_ngircd
from tcp_client.events import ClientEvent
from tcp_client.session import ClientSession, SessionConfig, SessionStatus
from tcp_server.protocol import Message

pytestmark = pytest.mark.skipif(not ngircd_available(), reason="ngircd is not installed")


@pytest.fixture
def ngircd():
    running = start_ngircd()
    yield running
    running.stop()


async def next_matching(session: ClientSession, pred, timeout: float = 10.0):
    async with asyncio.timeout(timeout):
        while True:
            ev = await session.next_event()
            if pred(ev):
                return ev


def msg(command: str, last: str | None = None):
    return lambda ev: isinstance(ev, ClientEvent) and ev.msg is not None and ev.msg.command == command and (
        last is None or (ev.msg.params and ev.msg.params[-1] == last)
    )


async def test_two_sessions_chat_through_ngircd(ngircd):
    alice = ClientSession(SessionConfig("127.0.0.1", ngircd.port, "alice", reconnect=False))
    bob = ClientSession(SessionConfig("127.0.0.1", ngircd.port, "bob", reconnect=False))
    try:
        await alice.start()
        await bob.start()
        assert "echo-message" not in alice.caps  # only what ngircd offers was requested
        assert alice.isupport.get("CHANTYPES")
        await alice.join("#interop")
        await next_matching(alice, msg("366"))
        await bob.join("#interop")
        await next_matching(bob, msg("366"))
        await alice.privmsg("#interop", "hello from tcp_client")
        got = await next_matching(bob, msg("PRIVMSG", "hello from tcp_client"))
        assert got.sender == "alice" and got.msg.source.startswith("alice!")
        await bob.set_nick("robert")
        await next_matching(alice, msg("NICK", "robert"))
        assert bob.nick == "robert"
        names = await alice.request(
            Message("NAMES", ("#interop",)), until=lambda m: m.command == "366", match=lambda m: m.command == "353"
        )
        assert {"alice", "robert"} <= {n.lstrip("@+") for n in names[0].params[-1].split()}
        taken = ClientSession(SessionConfig("127.0.0.1", ngircd.port, "alice", reconnect=False))
        await taken.start()
        assert taken.nick == "alice_"
        await taken.close()
    finally:
        await alice.close()
        await bob.close()
    closing = [ev async for ev in alice.events()]
    assert isinstance(closing[-1], SessionStatus) and closing[-1].state == "closed"
