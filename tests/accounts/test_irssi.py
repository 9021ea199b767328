"""irssi (unmodified, its own SASL settings in its config file) logs in to an account.

irssi is a terminal program: it runs in a detached tmux session, as a person would run it.
Skipped when ``irssi`` or ``tmux`` is not installed (Debian packages ``irssi``, ``tmux``).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from ..accounts_support import make_account

IRSSI, TMUX = shutil.which("irssi"), shutil.which("tmux")
pytestmark = pytest.mark.skipif(IRSSI is None or TMUX is None, reason="irssi or tmux is not installed")

CONFIG = """\
servers = (
  {{ address = "127.0.0.1"; chatnet = "tc"; port = "{port}"; use_tls = "no"; autoconnect = "yes"; }}
);
chatnets = {{
  tc = {{
    type = "IRC";
    sasl_mechanism = "{mechanism}";
    sasl_username = "alice";
    sasl_password = "correct horse";
  }};
}};
channels = ( {{ name = "#interop"; chatnet = "tc"; autojoin = "yes"; }} );
settings = {{
  core = {{ real_name = "Alice"; user_name = "alice"; nick = "alice"; }};
  "fe-common/core" = {{ autolog = "no"; }};
}};
"""


@pytest.mark.parametrize("mechanism", ["PLAIN"])  # Debian's irssi 1.4 has PLAIN and EXTERNAL, no SCRAM
async def test_irssi_logs_in_with_its_own_sasl_settings(acct_server, dial, tmp_path, mechanism):
    await make_account(dial, "alice", "correct horse")
    watcher = await dial()
    await watcher.register("watcher", "extended-join")
    await watcher.join("#interop")
    home = tmp_path / "irssi"
    home.mkdir()
    (home / "config").write_text(CONFIG.format(port=acct_server.port, mechanism=mechanism))
    session = f"irssi-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [TMUX, "new-session", "-d", "-s", session, "-x", "120", "-y", "40", f"{IRSSI} --home={home}"],
        check=True,
    )
    try:
        joined = await watcher.expect("JOIN", lambda m: m.source.startswith("alice!"), timeout=20)
        assert joined.params[1] == "alice"  # extended-join: the account irssi logged in to
        await watcher.send("WHOIS alice")
        assert (await watcher.expect("330")).params[2] == "alice"
    finally:
        subprocess.run([TMUX, "kill-session", "-t", session], check=False)
