"""Shared pieces of the ``ClientSession`` tests (``test_client_session*.py``): the ``sessions``
fixture (fast backoff, closed at teardown) and helpers that wait for an event."""

from __future__ import annotations

import asyncio

import pytest

from tcp_client.events import ChatMessage, ClientEvent, History
from tcp_client.session import ClientSession, SessionConfig, SessionStatus

FAST = {"backoff_initial": 0.05, "backoff_max": 0.5, "connect_timeout": 5.0}


async def wait_for(session: ClientSession, pred, timeout: float = 10.0):
    """The first event accepted by ``pred`` (earlier events are discarded)."""
    async with asyncio.timeout(timeout):
        while True:
            ev = await session.next_event()
            if pred(ev):
                return ev


def is_status(state: str):
    return lambda ev: isinstance(ev, SessionStatus) and ev.state == state


def is_msg(command: str, text: str | None = None):
    """An event decoded from an IRC line ``command`` (whose second parameter is ``text``)."""
    return lambda ev: (
        isinstance(ev, ClientEvent) and ev.msg is not None and ev.msg.command == command
        and (text is None or ev.msg.param(1) == text)
    )


def chat_lines(ev: object) -> list[ChatMessage]:
    """The chat lines an event carries: a live one, or those of a history batch (gap fill)."""
    if isinstance(ev, ChatMessage):
        return [ev]
    return list(ev.messages) if isinstance(ev, History) else []


@pytest.fixture
async def sessions():
    made: list[ClientSession] = []

    def factory(port: int, nick: str, **kw) -> ClientSession:
        s = ClientSession(SessionConfig("127.0.0.1", port, nick, **{**FAST, **kw}))
        made.append(s)
        return s

    yield factory
    for s in made:
        await s.close()
