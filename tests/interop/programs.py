"""Unmodified terminal IRC clients driven as people drive them: irssi in tmux, weechat-headless.

Both get a private home directory with their own settings (no plugins, no scripts), commands are
typed (irssi: tmux keystrokes) or written to WeeChat's fifo, and what they show is read back from
their own log files, the text a user would see. Waits poll those files for a condition with a
bounded deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

IRSSI, TMUX, WEECHAT = shutil.which("irssi"), shutil.which("tmux"), shutil.which("weechat-headless")
WAIT = 20.0
"""Seconds a client may take to show something (a reconnect waits about a second first)."""
POLL = 0.05


async def wait_text(read: Callable[[], str], want: Callable[[str], bool], what: str, timeout: float = WAIT) -> str:
    """Poll ``read()`` until ``want(text)``; fail with the text seen so far after ``timeout``."""
    text = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        text = read()
        if want(text):
            return text
        await asyncio.sleep(POLL)
    raise AssertionError(f"client never showed {what}; it showed:\n{text[-3000:]}")


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


IRSSI_CONFIG = """\
servers = (
  {{ address = "127.0.0.1"; chatnet = "tc"; port = "{port}"; use_tls = "no"; autoconnect = "yes"; }}
);
chatnets = {{ tc = {{ type = "IRC"; }}; }};
channels = ( {channels} );
settings = {{
  core = {{
    real_name = "{realname}"; user_name = "{nick}"; nick = "{nick}";
    server_reconnect_time = "1";
  }};
  "irc/core" = {{ cmds_max_at_once = "100"; cmd_queue_speed = "10msec"; }};
  "fe-common/core" = {{ autolog = "yes"; autolog_path = "{home}/logs/$0.log"; autolog_level = "all"; }};
}};
"""


class Irssi:
    """irssi in a detached tmux session; ``all.log`` holds every line of every window."""

    def __init__(self, home: Path, port: int, nick: str, channels: list[str], realname: str = "Irssi User"):
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        chans = ", ".join(f'{{ name = "{c}"; chatnet = "tc"; autojoin = "yes"; }}' for c in channels)
        (home / "config").write_text(
            IRSSI_CONFIG.format(port=port, channels=chans, nick=nick, realname=realname, home=home)
        )
        (home / "startup").write_text(f"/log open {home}/all.log ALL\n/rawlog open {home}/raw.log\n")
        self.session = f"irssi-{uuid.uuid4().hex[:8]}"

    def start(self) -> Irssi:
        assert IRSSI and TMUX
        subprocess.run(
            [TMUX, "new-session", "-d", "-s", self.session, "-x", "200", "-y", "50", f"{IRSSI} --home={self.home}"],
            check=True,
        )
        return self

    def type(self, line: str) -> None:
        """Type ``line`` and press Enter, in the active window."""
        assert TMUX
        subprocess.run([TMUX, "send-keys", "-t", self.session, "-l", line], check=True)
        subprocess.run([TMUX, "send-keys", "-t", self.session, "Enter"], check=True)

    def all_text(self) -> str:
        return _read(self.home / "all.log")

    def window_text(self, name: str) -> str:
        """What the window of a channel or private conversation showed (irssi's own log of it)."""
        return _read(self.home / "logs" / f"{name.lower()}.log")

    async def shows(self, text: str, window: str | None = None, count: int = 1) -> str:
        """Wait until ``text`` appeared ``count`` times (in ``window``'s log, else anywhere)."""
        read = (lambda: self.window_text(window)) if window else self.all_text
        return await wait_text(read, lambda t: t.count(text) >= count, repr(text))

    def screen(self) -> str:
        """The terminal as it looks now (printed by the tests when they fail)."""
        assert TMUX
        out = subprocess.run([TMUX, "capture-pane", "-p", "-t", self.session], capture_output=True, text=True)
        return out.stdout

    def stop(self) -> None:
        if TMUX:
            subprocess.run([TMUX, "kill-session", "-t", self.session], check=False, capture_output=True)


class Weechat:
    """weechat-headless with its fifo plugin (commands in) and logger plugin (buffers out)."""

    def __init__(self, home: Path, port: int, nick: str, channels: list[str], realname: str = "Wee User"):
        self.home = home
        self.commands = "; ".join((
            "/set logger.file.flush_delay 0",
            "/set logger.file.time_format %H:%M:%S",
            f"/server add tc 127.0.0.1/{port} -notls",
            f"/set irc.server.tc.nicks {nick}",
            f"/set irc.server.tc.username {nick}",
            f'/set irc.server.tc.realname "{realname}"',
            f"/set irc.server.tc.autojoin {','.join(channels)}",
            "/set irc.server.tc.anti_flood_prio_high 0",
            "/set irc.server.tc.anti_flood_prio_low 0",
            "/set irc.server.tc.autoreconnect_delay 1",
            "/connect tc",
        ))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Weechat:
        assert WEECHAT
        self.proc = subprocess.Popen(
            [WEECHAT, "--dir", str(self.home), "-r", self.commands],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        return self

    async def command(self, buffer: str, line: str) -> None:
        """Run ``line`` (a /command or text to say) in ``buffer`` (``irc.server.tc``, ``irc.tc.#room``)."""
        assert self.proc is not None
        fifo = self.home / f"weechat_fifo_{self.proc.pid}"
        await wait_text(lambda: "ok" if fifo.exists() else "", bool, f"its fifo {fifo.name}")
        await asyncio.to_thread(fifo.write_text, f"{buffer} *{line}\n")

    def log(self, buffer: str) -> str:
        """What ``buffer`` showed (``irc.server.tc``, ``irc.tc.#room``, ``irc.tc.<nick>``)."""
        return _read(self.home / "logs" / f"{buffer.lower()}.weechatlog")

    async def shows(self, buffer: str, text: str, count: int = 1) -> str:
        return await wait_text(lambda: self.log(buffer), lambda t: t.count(text) >= count, f"{text!r} in {buffer}")

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.to_thread(self.proc.wait, 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait)


SESSION_SERVER = {"history": True, "history_replay_lines": 5, "admin_email": "ops@example.org"}
"""The server of the whole-session tests: history replayed to clients without chathistory, and an
ADMIN contact (both clients send /admin)."""


def by(nick: str) -> Callable[[Any], bool]:
    """Matches a message sent by ``nick``."""
    return lambda m: (m.source or "").startswith(f"{nick}!")


async def restart_with_raw_user(make_server: Any, server: Any, data_dir: Path, raw: Any) -> tuple[Any, Any]:
    """Shut ``server`` down and start it again on its port and data dir (the client under test
    reconnects by itself); the raw user comes back into #one. Returns (server, raw user)."""
    from ..support import RawClient

    await raw.close()
    await server.shutdown()
    server = await make_server(data_dir=data_dir, port=server.port, **SESSION_SERVER)
    raw = await RawClient.connect(server.port)
    await raw.register("rawu")
    await raw.join("#one")
    return server, raw
