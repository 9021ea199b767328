"""The page's pure ES modules (slash commands, the conversation model) run in real Chromium, loaded
from the gateway exactly as the page loads them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tcp_server.server import ChatServer

from ..browser import RunningGateway, launch_browser, new_page, requires_chromium, start_gateway

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


async def test_long_text_is_confirmed_piece_by_piece_and_history_merges_as_a_block(page: Any) -> None:
    result = await run(
        page,
        """
        const c = new store.Conversation('room', '#a');
        const line = c.addPending('me', 'alpha beta\\ngamma delta epsilon', 'privmsg');
        const first = c.confirm({id: 'p1', time: 't1', text: 'alpha beta', kind: 'privmsg'});
        const half = line.pending;
        c.confirm({id: 'p2', time: 't2', text: 'gamma delta', kind: 'privmsg'});
        c.confirm({id: 'p3', time: 't3', text: 'epsilon', kind: 'privmsg'});
        const stray = c.confirm({id: 'p4', time: 't4', text: 'never sent', kind: 'privmsg'});
        const h = new store.Conversation('room', '#b');
        const t = (s) => `2026-01-01T00:00:${s}.000Z`;
        h.add({id: 'n1', time: t('10'), text: 'new'});
        h.merge([{id: 'o1', time: t('01'), text: 'old 1'}, {id: 'o2', time: t('01'), text: 'old 2'}], () => false);
        return {first: first === line, half, pending: line.pending, ids: [...c.ids], stray,
                merged: h.messages.map(m => m.text), lines: c.messages.length};
        """,
    )
    assert result["first"] and result["half"] is True and result["pending"] is False
    assert result["ids"] == ["p1", "p2", "p3"] and result["stray"] is None and result["lines"] == 1
    assert result["merged"] == ["old 1", "old 2", "new"]


async def test_formatting_mentions_colours_runs_and_limits(page: Any) -> None:
    result = await page.evaluate(
        """async () => {
            const f = await import('/static/format.js');
            const s = await import('/static/store.js');
            const v = await import('/static/messageview.js');
            const slash = await import('/static/slash.js');
            const session = await import('/static/session.js');
            const node = document.createElement('p');
            node.append(...f.formatText('\\x02b\\x02 <i>x</i> http://a.example/p?q=1, done'));
            const t = (m, s) => `2026-01-01T00:${m}:${s}.000Z`;
            const a = {from: 'al', kind: 'privmsg', time: t('00', '00')};
            return {
              runs: f.styleRuns('\\x02b\\x0fn\\x0312,4c').map(r => [r.text, !!r.bold, r.fg ?? null, r.bg ?? null]),
              strip: f.stripFormatting('\\x02x\\x03' + '4,1y\\x0f'),
              html: node.innerHTML,
              colour: [f.nickColor('Alice'), f.nickColor('alice'), f.nickColor('bob')],
              mentions: ['hi al!', 'hey AL', 'alan', 'xal', 'al: yes', '@al'].map(x => s.mentions(x, 'al')),
              run: v.runSummary([{type: 'join', nick: 'a'}, {type: 'join', nick: 'b'}, {type: 'quit', nick: 'c'},
                                 {type: 'join', nick: 'd'}, {type: 'join', nick: 'e'}, {type: 'nick', nick: 'f', detail: 'g'}]),
              grouped: v.contextOf({...a, time: t('00', '30')}, a).grouped,
              later: v.contextOf({...a, time: t('02', '00')}, a).grouped,
              other: v.contextOf({...a, from: 'bo'}, a).grouped,
              day: v.contextOf(a, null).day !== '' && v.contextOf({...a, time: '2026-01-02T12:00:00.000Z'}, a).day !== '',
              tooLong: [slash.tooLong('x\\n'.repeat(10), {lines: 10, bytes: 350}),
                        slash.tooLong('x\\n'.repeat(11), {lines: 10, bytes: 350}),
                        slash.tooLong('é'.repeat(1751), {lines: 10, bytes: 350})],
              nick: ['ok_nick', 'bad nick!', '9lives', 'zed!'].map(session.nickProblem),
            };
        }"""
    )
    assert result["runs"] == [["b", True, None, None], ["n", False, None, None], ["c", False, 12, 4]]
    assert result["strip"] == "xy"
    assert result["html"] == (
        '<span class="f-bold">b</span> &lt;i&gt;x&lt;/i&gt; '
        '<a href="http://a.example/p?q=1" target="_blank" rel="noopener noreferrer">http://a.example/p?q=1</a>, done'
    )
    assert result["colour"][0] == result["colour"][1] and result["colour"][0].startswith("nick-")
    assert result["mentions"] == [True, True, False, False, True, True]
    assert result["run"] == "a, b, d and 1 other joined · c left · f is now known as g"
    assert (result["grouped"], result["later"], result["other"], result["day"]) == (True, False, False, True)
    assert result["tooLong"] == [False, True, True]
    assert result["nick"][0] == "" and "spaces" in result["nick"][1] and all(result["nick"][2:])
