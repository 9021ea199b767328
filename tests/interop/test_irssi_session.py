"""irssi (unmodified, in tmux) through a community-server session against our server.

A raw TCP user on the other side checks what the server relayed; irssi's own logs show what the
user saw. Skipped when ``irssi`` or ``tmux`` is missing (Debian packages ``irssi``, ``tmux``).
"""

from __future__ import annotations

import pytest

from ..support import RawClient
from .programs import IRSSI, SESSION_SERVER, TMUX, WAIT, Irssi, by, restart_with_raw_user

pytestmark = pytest.mark.skipif(IRSSI is None or TMUX is None, reason="irssi or tmux is not installed")


async def test_irssi_whole_session(make_server, tmp_path):
    server = await make_server(data_dir=tmp_path / "data", **SESSION_SERVER)
    raw = await RawClient.connect(server.port)
    await raw.register("rawu")
    await raw.join("#one")
    await raw.join("#two")
    irssi = Irssi(tmp_path / "irssi", server.port, "ir", ["#one", "#two"]).start()
    try:
        # connect, register, join two channels
        for chan in ("#one", "#two"):
            await raw.expect("JOIN", lambda m, c=chan: by("ir")(m) and m.params[0] == c, timeout=WAIT)
        await irssi.shows("Total of 2 nicks", window="#one")
        await irssi.shows("Total of 2 nicks", window="#two")

        # talk both ways, /me, a private conversation
        irssi.type("/msg #one hello from irssi")
        await raw.expect("PRIVMSG", lambda m: by("ir")(m) and m.params == ("#one", "hello from irssi"))
        irssi.type("/action #one waves")
        await raw.expect("PRIVMSG", lambda m: m.params == ("#one", "\x01ACTION waves\x01"))
        await raw.send("PRIVMSG #one :hello from raw", "PRIVMSG #one :\x01ACTION dances\x01")
        await irssi.shows("<@rawu> hello from raw", window="#one")
        await irssi.shows("* rawu dances", window="#one")
        irssi.type("/msg rawu private hi")
        await raw.expect("PRIVMSG", lambda m: by("ir")(m) and m.params == ("rawu", "private hi"))
        await raw.send("PRIVMSG ir :private back")
        await irssi.shows("<rawu> private back", window="rawu")

        # /nick, then operator status from the raw user, /topic, /names, /whois, /who, /list
        irssi.type("/nick irx")
        await raw.expect("NICK", lambda m: by("ir")(m) and m.params == ("irx",))
        await irssi.shows("You're now known as irx")
        await raw.send("MODE #one +o irx")
        await irssi.shows("mode/#one [+o irx] by rawu", window="#one")
        irssi.type("/topic #one Topic from irssi")
        await raw.expect("TOPIC", lambda m: by("irx")(m) and m.params == ("#one", "Topic from irssi"))
        await irssi.shows("irx changed the topic of #one to: Topic from irssi", window="#one")
        irssi.type("/names #one")
        await irssi.shows("[@irx] [@rawu]", window="#one")
        irssi.type("/whois rawu")
        await irssi.shows("ircname  : rawu test")
        irssi.type("/who #one")
        await irssi.shows("End of /WHO list")
        assert "~rawu@" in irssi.all_text() and "H@" in irssi.all_text()
        irssi.type("/list")
        await irssi.shows("End of /LIST")
        assert "#one 2 Topic from irssi" in irssi.all_text()
        irssi.type("/admin")
        await irssi.shows("ops@example.org")
        irssi.type("/links")
        await irssi.shows("End of /LINKS list")
        irssi.type("/lusers")  # irssi made itself +i on connect
        await irssi.shows("There are 1 users and 1 invisible on 1 servers")

        # /away: the raw user is told, then irssi comes back
        irssi.type("/away gone fishing")
        await irssi.shows("You have been marked as being away")
        await raw.send("PRIVMSG irx :are you there?")
        assert (await raw.expect("301")).params[1:] == ("irx", "gone fishing")
        irssi.type("/away")
        await irssi.shows("You are no longer marked as being away")

        # +b keeps the banned user out after /kick; -b lets it back in
        irssi.type("/window goto #one")
        irssi.type("/ban rawu")
        ban = await raw.expect("MODE", lambda m: by("irx")(m) and m.params[:2] == ("#one", "+b"))
        irssi.type("/kick rawu go away")
        kick = await raw.expect("KICK")
        assert kick.params == ("#one", "rawu", "go away")
        await irssi.shows("rawu was kicked from #one by irx [go away]", window="#one")
        await raw.send("JOIN #one")
        assert (await raw.expect("474")).params[1] == "#one"
        irssi.type(f"/unban {ban.params[2]}")
        await irssi.shows(f"mode/#one [-b {ban.params[2]}] by irx", window="#one")
        await raw.join("#one")

        # /part with a reason
        irssi.type("/part #two see you later")
        await raw.expect("PART", lambda m: by("irx")(m) and m.params == ("#two", "see you later"))

        # the server restarts: irssi reconnects by itself and rejoins #one (not the #two it left);
        # it has no chathistory, so the server's replay on join shows what was said meanwhile, once
        server, raw = await restart_with_raw_user(make_server, server, tmp_path / "data", raw)
        await raw.send("PRIVMSG #one :said while you were away")
        rejoin = await raw.expect("JOIN", lambda m: m.params[0] == "#one", timeout=WAIT)
        assert rejoin.source.startswith("irx!")
        await irssi.shows("rawu> said while you were away", window="#one")
        await raw.send("PRIVMSG #one :welcome back")
        await irssi.shows("welcome back", window="#one")
        shown = irssi.window_text("#one")  # the replay is what it missed, so nothing shows twice
        for line in ("hello from raw", "rawu dances", "said while you were away"):
            assert shown.count(line) == 1, f"{line!r} shown {shown.count(line)} times:\n{shown}"

        # /quit with a reason
        irssi.type("/quit bye all")
        quit_ = await raw.expect("QUIT", by("irx"))
        assert quit_.params == ("Quit: bye all",)

        # everything irssi printed: no command it did not know, no numeric it could not place
        text = irssi.all_text()
        for bad in ("nknown command", " 421 ", "Capabilities refused", "not registered"):
            assert bad not in text, f"irssi printed {bad!r}:\n{text}"
    finally:
        print(irssi.screen())
        irssi.stop()
        await raw.close()
