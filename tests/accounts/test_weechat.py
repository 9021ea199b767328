"""WeeChat (unmodified, its own SASL settings) logs in to an account: PLAIN and SCRAM-SHA-256.

Skipped when ``weechat-headless`` is not installed (Debian package ``weechat-headless``).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import pytest

from ..accounts_support import make_account

WEECHAT = shutil.which("weechat-headless")
pytestmark = pytest.mark.skipif(WEECHAT is None, reason="weechat-headless is not installed")


@pytest.mark.parametrize("mechanism", ["plain", "scram-sha-256"])
async def test_weechat_logs_in_with_its_own_sasl_settings(acct_server, dial, tmp_path, mechanism):
    await make_account(dial, "alice", "correct horse")
    watcher = await dial()
    await watcher.register("watcher", "extended-join")
    await watcher.join("#interop")
    commands = "; ".join((
        f"/server add tc 127.0.0.1/{acct_server.port} -notls",
        f"/set irc.server.tc.sasl_mechanism {mechanism}",
        "/set irc.server.tc.sasl_username alice",
        '/set irc.server.tc.sasl_password "correct horse"',
        "/set irc.server.tc.sasl_fail disconnect",
        "/set irc.server.tc.nicks alice",
        "/set irc.server.tc.autojoin #interop",
        "/connect tc",
    ))
    proc = subprocess.Popen(
        [WEECHAT, "--dir", str(tmp_path / "weechat"), "-r", commands],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        joined = await watcher.expect("JOIN", lambda m: m.source.startswith("alice!"), timeout=20)
        assert joined.params[1] == "alice"  # extended-join: the account weechat logged in to
        await watcher.send("WHOIS alice")
        assert (await watcher.expect("330")).params[2] == "alice"
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
