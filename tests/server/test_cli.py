"""``tcpchat server`` on the command line: bad config fails in one line, flags and env vars work."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ..support import ROOT, RawClient, ServerProcess


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tcpchat", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("args", "env", "setting"),
    [
        (["--port", "99999"], {}, "port"),
        (["--port", "http"], {}, "port"),
        ([], {"TCPCHAT_PORT": "-1"}, "port"),
        (["--sendq", "10"], {}, "sendq"),
        (["--log-level", "LOUD"], {}, "log_level"),
        (["--tls-port", "0"], {}, "tls_port"),
    ],
)
def test_bad_setting_fails_with_one_line_naming_it(args, env, setting):
    result = run_cli("server", "--no-history", *args, env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert setting in lines[0] and "Traceback" not in result.stderr


def test_help_lists_flags_with_env_vars_and_defaults():
    result = run_cli("server", "--help", env={"COLUMNS": "200"})
    assert result.returncode == 0
    for text in ("--port", "TCPCHAT_PORT", "--sendq", "TCPCHAT_FLOOD_RATE", "--tls-cert", "6667"):
        assert text in result.stdout, text


async def test_port_0_prints_listening_line_and_env_vars_apply():
    proc = ServerProcess("--no-history", env={"TCPCHAT_SERVER_NAME": "irc.test.example"}).start()
    try:
        assert proc.port > 0
        client = await RawClient.connect(proc.port)
        await client.register("envtest")
        assert client.seen[0].source == "irc.test.example"
        await client.close()
    finally:
        assert proc.stop() == 0


def test_busy_port_fails_with_a_clear_error():
    first = ServerProcess("--no-history").start()
    try:
        result = run_cli("server", "--no-history", "--port", str(first.port))
        assert result.returncode == 2
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
        assert "Traceback" not in result.stderr, result.stderr
        assert len(errors) == 1 and str(first.port) in errors[0] and "--port" in errors[0]
    finally:
        first.stop()


def test_missing_tls_certificate_fails_with_a_clear_error(tmp_path):
    missing = tmp_path / "nope.pem"
    result = run_cli(
        "server", "--no-history", "--port", "0", "--tls-port", "0",
        "--tls-cert", str(missing), "--tls-key", str(missing),
    )
    assert result.returncode == 2
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(errors) == 1 and "tls_cert" in errors[0]
