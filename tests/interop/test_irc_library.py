"""Interoperability: the third-party ``irc`` package (irc.client_aio) against our server."""

from __future__ import annotations

import asyncio

from irc.client_aio import AioReactor

from ..support import RawClient, sync

TIMEOUT = 10


class Bot:
    """An ``irc`` library connection whose events land in a queue the test awaits."""

    def __init__(self) -> None:
        self.reactor = AioReactor(loop=asyncio.get_running_loop())
        self.conn = self.reactor.server()
        self.events: asyncio.Queue = asyncio.Queue()
        self.reactor.add_global_handler("all_events", lambda c, e: self.events.put_nowait(e), 0)

    async def wait(self, kind: str, pred=lambda e: True):
        async def scan():
            while True:
                event = await self.events.get()
                if event.type == kind and pred(event):
                    return event

        return await asyncio.wait_for(scan(), TIMEOUT)


async def test_irc_library_client_chats_with_a_raw_client(make_server):
    server = await make_server(ping_interval=0.3, ping_timeout=5)
    bot = Bot()
    await bot.conn.connect("127.0.0.1", server.port, "ircbot", ircname="Interop Bot")
    welcome = await bot.wait("welcome")
    assert welcome.target == "ircbot"
    await bot.wait("endofmotd")
    assert bot.conn.features.network == "tcpchat"
    assert bot.conn.features.chantypes == "#&"
    assert dict(bot.conn.features.prefix) == {"@": "o", "+": "v"}

    human = await RawClient.connect(server.port)
    await human.register("human")
    await human.join("#interop")
    bot.conn.join("#interop")
    joined = await bot.wait("join", lambda e: e.source.nick == "ircbot")
    assert joined.target == "#interop"
    names = await bot.wait("namreply")
    assert set(names.arguments[-1].split()) == {"@human", "ircbot"}
    await human.expect("JOIN", lambda m: m.source.startswith("ircbot!"))

    await human.send("PRIVMSG #interop :hello bot")
    pub = await bot.wait("pubmsg")
    assert pub.source.nick == "human" and pub.target == "#interop" and pub.arguments == ["hello bot"]

    bot.conn.privmsg("#interop", "hello human, in the room")
    bot.conn.privmsg("human", "and in private")
    bot.conn.notice("#interop", "a notice")
    room = await human.expect("PRIVMSG", lambda m: m.params[0] == "#interop")
    assert room.params[1] == "hello human, in the room" and room.source.startswith("ircbot!")
    private = await human.expect("PRIVMSG", lambda m: m.params[0] == "human")
    assert private.params[1] == "and in private"
    assert (await human.expect("NOTICE")).params == ("#interop", "a notice")

    await human.send("PRIVMSG ircbot :direct")
    priv = await bot.wait("privmsg")
    assert priv.arguments == ["direct"] and priv.source.nick == "human"

    # the server PINGs the idle bot (ping_interval=0.3 s); the library answers, so it stays on
    await bot.wait("ping")
    await asyncio.sleep(0)
    assert server.state.find_nick("ircbot") is not None

    bot.conn.nick("ircbot2")
    nick = await human.expect("NICK")
    assert nick.params == ("ircbot2",) and nick.source.startswith("ircbot!")
    await bot.wait("nick")
    assert bot.conn.get_nickname() == "ircbot2"

    await human.send("TOPIC #interop :set by a raw client")
    topic = await bot.wait("topic")
    assert topic.arguments == ["set by a raw client"]

    bot.conn.quit("library says bye")
    quit_ = await human.expect("QUIT")
    assert quit_.source.startswith("ircbot2!") and quit_.params == ("Quit: library says bye",)
    assert [m for m in await sync(human) if m.command == "QUIT"] == []
    bot.conn.disconnect()
    await human.close()
