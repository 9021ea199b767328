"""The page's pure ES modules (slash commands, the conversation model) run in real Chromium, loaded
from the gateway exactly as the page loads them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tcp_server.server import ChatServer

from .browser import RunningGateway, launch_browser, new_page, requires_chromium, start_gateway

pytestmark = [pytest.mark.browser, requires_chromium]


@pytest.fixture
async def page(server: ChatServer) -> AsyncIterator[Any]:
    gw: RunningGateway = await start_gateway(server.port)
    try:
        async with launch_browser() as browser:
            yield await new_page(browser, gw.http_url)
    finally:
        await gw.stop()


async def run(page: Any, body: str) -> Any:
    """Evaluate ``body`` with ``slash`` and ``store`` imported (an async function body)."""
    return await page.evaluate(
        f"""async () => {{
            const slash = await import('/static/slash.js');
            const store = await import('/static/store.js');
            {body}
        }}"""
    )


async def test_slash_commands(page: Any) -> None:
    room = "{type: 'room', name: '#lobby'}"
    cases = await run(
        page,
        f"""
        const p = (text, target = {room}) => slash.parseInput(text, target);
        return {{
          plain: p('hello there'),
          me: p('/me waves'),
          nick: p('/nick bob'),
          nickBad: p('/nick'),
          join: p('/join side'),
          part: p('/part'),
          partOther: p('/part #x bye now'),
          topic: p('/topic a b'),
          msg: p('/msg carol hi there'),
          msgBad: p('/msg carol'),
          unknown: p('/frob'),
          escaped: p('//not a command'),
          noRoom: p('hi', null),
          blank: p('   '),
          dmSend: p('psst', {{type: 'dm', name: 'carol'}}),
        }};
        """,
    )
    assert cases["plain"]["command"] == {"type": "send", "room": "#lobby", "text": "hello there"}
    assert cases["me"]["command"] == {"type": "send", "room": "#lobby", "text": "waves", "kind": "action"}
    assert cases["nick"]["command"] == {"type": "nick", "nick": "bob"}
    assert cases["nickBad"]["error"].startswith("/nick")
    assert cases["join"]["command"] == {"type": "join", "room": "#side"}
    assert cases["part"]["command"] == {"type": "part", "room": "#lobby", "reason": ""}
    assert cases["partOther"]["command"] == {"type": "part", "room": "#x", "reason": "bye now"}
    assert cases["topic"]["command"] == {"type": "topic", "room": "#lobby", "text": "a b"}
    assert cases["msg"]["command"] == {"type": "send", "nick": "carol", "text": "hi there"}
    assert cases["msgBad"]["error"].startswith("/msg")
    assert "Unknown command /frob" in cases["unknown"]["error"]
    assert cases["escaped"]["command"]["text"] == "/not a command"
    assert "Join a room" in cases["noRoom"]["error"]
    assert cases["blank"] == {"error": None}
    assert cases["dmSend"]["command"] == {"type": "send", "nick": "carol", "text": "psst"}


async def test_conversation_model(page: Any) -> None:
    result = await run(
        page,
        """
        const c = new store.Conversation('room', '#Lobby');
        const t = (s) => `2026-01-01T00:00:${s}.000Z`;
        c.add({id: 'b', time: t('02'), text: 'two'});
        c.add({id: 'a', time: t('01'), text: 'one'});
        const dup = c.add({id: 'b', time: t('02'), text: 'two again'});
        c.addPending('me', 'mine', 'privmsg');
        const confirmed = c.confirm({id: 'c', time: t('03'), text: 'mine', kind: 'privmsg'});
        c.merge([{id: 'x', time: t('00'), text: 'older 1'}, {id: 'y', time: t('00'), text: 'older 2'}], () => false);
        c.merge([{id: 'a', time: t('01'), text: 'one'}, {id: 'd', time: t('04'), text: 'four'}], () => false);
        return {
          texts: c.messages.map(m => m.text),
          dup,
          confirmed: confirmed && confirmed.id,
          pending: c.messages.some(m => m.pending),
          key: c.key,
          fold: store.fold('Nick[]\\\\~'),
        };
        """,
    )
    assert result["texts"] == ["older 1", "older 2", "one", "two", "mine", "four"]
    assert result["dup"] is False
    assert result["confirmed"] == "c" and result["pending"] is False
    assert result["key"] == "room:#lobby"
    assert result["fold"] == "nick{}|^"
