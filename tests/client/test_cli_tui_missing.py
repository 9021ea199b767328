"""``tcpchat connect`` on a terminal without Textual (the optional ``tui`` extra): it says how to
install it and carries on in line mode instead of failing with an ImportError."""

from __future__ import annotations

import asyncio
import os
import pty
import socket
import sys

from ..support import ROOT

WITHOUT_TEXTUAL = (
    "import sys; sys.modules['textual'] = None; "  # as if the extra were not installed
    "from tcpchat.cli import main; sys.argv[0] = 'tcpchat'; main()"
)


async def test_connect_on_a_terminal_without_textual_falls_back_to_line_mode() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # nothing listens: line mode's "cannot connect" is its exit
        port = sock.getsockname()[1]
        controller, terminal = pty.openpty()  # stdin and stdout are a TTY: full screen is wanted
        env = {k: v for k, v in os.environ.items() if not k.startswith("TCPCHAT_")}
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", WITHOUT_TEXTUAL, "connect", "--port", str(port), "--nick", "alice",
                "--no-reconnect",
                stdin=terminal, stdout=terminal, stderr=asyncio.subprocess.PIPE, cwd=ROOT, env=env,
            )
            async with asyncio.timeout(30):
                _, err = await proc.communicate()
        finally:
            os.close(terminal)
            os.close(controller)
    lines = err.decode().splitlines()
    assert "pip install 'tcpchat[tui]'" in lines[0] and "line mode" in lines[0]
    assert lines[1].startswith("error: cannot connect to 127.0.0.1:")  # the line-mode client ran
    assert proc.returncode == 1
