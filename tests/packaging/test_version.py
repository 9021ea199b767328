"""What ``pip install .`` promises: one version everywhere it is shown."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from tcp_server.state import VERSION

from ..support import ROOT


def test_the_version_is_the_installed_one_everywhere() -> None:
    installed = version("tcpchat")  # from pyproject.toml, which reads tcp_server.__version__
    out = subprocess.run(
        [sys.executable, "-m", "tcpchat", "--version"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0 and out.stdout.strip() == f"tcpchat {installed}"
    assert f"tcpchat-{installed}" == VERSION  # what the IRC server says in 002/004 and VERSION
