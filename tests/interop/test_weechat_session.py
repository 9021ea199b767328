"""WeeChat (unmodified, ``weechat-headless``) through a community-server session against our server.

Commands go in through WeeChat's fifo plugin, what it showed comes back from its logger plugin
(one file per buffer); a raw TCP user on the other side checks what the server relayed.
Skipped when ``weechat-headless`` is missing (Debian package ``weechat-headless``).
"""

from __future__ import annotations

import pytest

from ..support import RawClient
from .programs import SESSION_SERVER, WAIT, WEECHAT, Weechat, by, restart_with_raw_user

pytestmark = pytest.mark.skipif(WEECHAT is None, reason="weechat-headless is not installed")

TC, ONE, TWO = "irc.server.tc", "irc.tc.#one", "irc.tc.#two"


async def test_weechat_whole_session(make_server, tmp_path):
    server = await make_server(data_dir=tmp_path / "data", **SESSION_SERVER)
    raw = await RawClient.connect(server.port)
    await raw.register("rawu")
    await raw.join("#one")
    await raw.join("#two")
    wee = Weechat(tmp_path / "weechat", server.port, "wee", ["#one", "#two"]).start()
    try:
        # connect, register, join two channels
        for chan in ("#one", "#two"):
            await raw.expect("JOIN", lambda m, c=chan: by("wee")(m) and m.params[0] == c, timeout=WAIT)
        await wee.shows(ONE, "Channel #one: 2 nicks")
        await wee.shows(TWO, "Channel #two: 2 nicks")

        # talk both ways, /me, a private conversation, a CTCP
        await wee.command(ONE, "hello from weechat")
        await raw.expect("PRIVMSG", lambda m: by("wee")(m) and m.params == ("#one", "hello from weechat"))
        await wee.command(ONE, "/me waves")
        await raw.expect("PRIVMSG", lambda m: m.params == ("#one", "\x01ACTION waves\x01"))
        await raw.send("PRIVMSG #one :hello from raw", "PRIVMSG #one :\x01ACTION dances\x01")
        await wee.shows(ONE, "@rawu\thello from raw")
        await wee.shows(ONE, "rawu dances")
        await wee.command(TC, "/msg rawu private hi")
        await raw.expect("PRIVMSG", lambda m: by("wee")(m) and m.params == ("rawu", "private hi"))
        await raw.send("PRIVMSG wee :private back", "PRIVMSG wee :\x01VERSION\x01")
        await wee.shows("irc.tc.rawu", "rawu\tprivate back")
        version = await raw.expect("NOTICE", by("wee"))
        assert version.params[1].startswith("\x01VERSION WeeChat")

        # /nick, operator status from the raw user, /topic, /names, /whois, /who, /list
        await wee.command(TC, "/nick weex")
        await raw.expect("NICK", lambda m: by("wee")(m) and m.params == ("weex",))
        await wee.shows(TC, "You are now known as weex")
        await raw.send("MODE #one +o weex")
        await wee.shows(ONE, "Mode #one [+o weex] by rawu")
        await wee.command(ONE, "/topic Topic from weechat")
        await raw.expect("TOPIC", lambda m: by("weex")(m) and m.params == ("#one", "Topic from weechat"))
        await wee.shows(ONE, 'weex has changed topic for #one to "Topic from weechat"')
        await wee.command(ONE, "/names")
        await wee.shows(ONE, "Nicks #one: [@rawu @weex]")
        await wee.command(TC, "/whois rawu")
        await wee.shows(TC, "[rawu] End of /WHOIS list")
        assert "[rawu] (~rawu@" in wee.log(TC) and "): rawu test" in wee.log(TC)
        await wee.command(ONE, "/who #one")
        await wee.shows(TC, "[#one] End of WHO list")
        assert "[#one] rawu (~rawu@" in wee.log(TC)
        await wee.command(TC, "/list")
        await wee.shows(TC, "End of /LIST")
        assert "#one(2): Topic from weechat" in wee.log(TC)
        await wee.command(TC, "/admin")
        await wee.shows(TC, "ops@example.org")
        await wee.command(TC, "/links")
        await wee.shows(TC, "End of /LINKS list")

        # /away: the raw user is told, away-notify tells nobody else here; then back
        await wee.command(TC, "/away out to lunch")
        await wee.shows(TC, "You have been marked as being away")
        await raw.send("PRIVMSG weex :are you there?")
        assert (await raw.expect("301")).params[1:] == ("weex", "out to lunch")
        await wee.command(TC, "/away")
        await wee.shows(TC, "You are no longer marked as being away")

        # +b keeps the banned user out after /kick; -b lets it back in
        await wee.command(ONE, "/ban rawu")
        ban = await raw.expect("MODE", lambda m: by("weex")(m) and m.params[:2] == ("#one", "+b"))
        await wee.command(ONE, "/kick rawu bad raw")
        kick = await raw.expect("KICK")
        assert kick.params == ("#one", "rawu", "bad raw")
        await wee.shows(ONE, "weex has kicked rawu (bad raw)")
        await raw.send("JOIN #one")
        assert (await raw.expect("474")).params[1] == "#one"
        await wee.command(ONE, f"/unban {ban.params[2]}")
        await wee.shows(ONE, f"Mode #one [-b {ban.params[2]}] by weex")
        await raw.join("#one")

        # /part with a reason
        await wee.command(TWO, "/part see you later")
        await raw.expect("PART", lambda m: by("weex")(m) and m.params == ("#two", "see you later"))

        # the server restarts: WeeChat reconnects by itself and rejoins #one; without chathistory
        # support it sees what was said meanwhile through the server's replay on join, once
        server, raw = await restart_with_raw_user(make_server, server, tmp_path / "data", raw)
        await raw.send("PRIVMSG #one :said while you were away")
        rejoin = await raw.expect("JOIN", lambda m: m.params[0] == "#one", timeout=WAIT)
        assert rejoin.source.startswith("weex!")
        await wee.shows(ONE, "rawu\tsaid while you were away")
        await raw.send("PRIVMSG #one :welcome back")
        await wee.shows(ONE, "rawu\twelcome back")
        shown = wee.log(ONE)  # the replay is what it missed, so nothing shows twice
        for line in ("hello from raw", "rawu dances", "said while you were away"):
            assert shown.count(line) == 1, f"{line!r} shown {shown.count(line)} times:\n{shown}"

        # /quit with a reason
        await wee.command(TC, "/quit going home")
        quit_ = await raw.expect("QUIT", by("weex"))
        assert quit_.params == ("Quit: going home",)

        # everything WeeChat printed: no unknown command, no line it could not handle
        shown = wee.log(TC) + wee.log(ONE) + wee.log(TWO)
        for bad in ("nknown command", "not found", " 421 ", "refused"):
            assert bad not in shown, f"WeeChat printed {bad!r}:\n{shown}"
    finally:
        await wee.stop()
        await raw.close()
