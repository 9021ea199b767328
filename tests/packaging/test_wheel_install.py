"""``pip install .`` ships the page: a wheel built from this tree, installed into a throwaway venv,
serves the chat page and its static files (the top-level ``static/`` and ``templates/`` folders
travel as the package ``tcpchat_assets``; web_gateway/assets.py finds them)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from pathlib import Path

from ..support import ROOT

SKIP = shutil.ignore_patterns(".venv", ".git", "data", "build", "*.egg-info", "artifacts", "__pycache__",
                              ".pytest_cache", ".ruff_cache", ".hypothesis", "results")


def _run(*cmd: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_wheel_ships_the_page_and_an_installed_gateway_serves_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=SKIP)  # build from a copy: no build/ or egg-info in the tree
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
         tmp_path / "dist", src)
    wheel = next((tmp_path / "dist").glob("tcpchat-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for asset in ("static/app.js", "static/chat.css", "templates/chat.html", "templates/admin.html"):
        assert f"tcpchat_assets/{asset}" in names
    assert not any(n.startswith(("static/", "templates/", "web_gateway/static")) for n in names)

    # A throwaway venv gets the wheel alone; its dependencies come from this venv's site-packages
    # by a .pth line (which, unlike a site dir, does not load this venv's editable install).
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    site = Path(_run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, wheel)

    gateway = subprocess.Popen(
        [venv / "bin" / "python", "-m", "tcpchat", "gateway", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        assert gateway.stdout is not None
        line = ""
        for _ in range(20):  # uvicorn's own lines come first
            line = gateway.stdout.readline()
            if "listening on" in line or not line:
                break
        match = re.search(r"listening on [^ ]+:(\d+)", line)
        assert match, line + (gateway.stderr.read() if gateway.poll() is not None and gateway.stderr else "")
        base = f"http://127.0.0.1:{match.group(1)}"
        with urllib.request.urlopen(f"{base}/", timeout=10) as page:
            assert 'src="/static/app.js"' in page.read().decode()
        with urllib.request.urlopen(f"{base}/static/app.js", timeout=10) as script:
            assert script.status == 200 and b"import" in script.read()
        imported = _run(venv / "bin" / "python", "-c", "import web_gateway.assets as a; print(a.STATIC_DIR)",
                        cwd=tmp_path)
        assert imported.strip() == str(site / "tcpchat_assets" / "static")  # the wheel's, not this checkout's
    finally:
        gateway.terminate()
        gateway.wait(10)
