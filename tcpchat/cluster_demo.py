"""``tcpchat cluster-demo``: a Redis and N server nodes on one machine, to see clustering work.

Starts a private ``redis-server`` (unless ``--redis-url`` points at one), then ``--nodes`` server
nodes on consecutive ports from ``--base-port``, each with its own node id, then a web gateway
(``--web-port``, 0 = none) with every node as an upstream, so browsers are spread over the nodes.
History is off unless ``--database-url`` names a PostgreSQL database every node shares (SQLite is
one node's file). The shared secrets (WEBIRC, OPER, admin password, API token) are generated per
run when unset, as ``tcpchat up`` does. Connect IRC clients to different ports, or open the web
page in several tabs, and chat; Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import IO

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .up import GENERATED_SECRETS

HELP = "Run a Redis and several server nodes on this machine (a local cluster to try)."
LISTENING = re.compile(r"listening on (\S+):(\d+)")


class ClusterDemoSettings(BaseSettings):
    """Settings of ``tcpchat cluster-demo``; the nodes read everything else from TCPCHAT_*."""

    model_config = SettingsConfigDict(env_prefix="TCPCHAT_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address the nodes listen on")
    base_port: int = Field(6667, ge=0, le=65535, description="IRC port of the first node (the next ones follow)")
    nodes: int = Field(3, ge=1, le=16, description="How many server nodes")
    redis_port: int = Field(6390, ge=1, le=65535, description="Port of the private redis-server")
    redis_url: str | None = Field(None, description="Use this Redis instead of starting one")
    database_url: str | None = Field(None, description="PostgreSQL URL for shared history (unset = no history)")
    web_port: int = Field(
        8080, ge=-1, le=65535, description="Web gateway in front of all nodes (0 picks a free port, -1 = no gateway)"
    )


def _start_redis(port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("error: redis-server is not installed (scripts/system-deps, or pass --redis-url)")
    return subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )


def child_env() -> tuple[dict[str, str], list[str]]:
    """The children's environment with the shared secrets filled in; also the names generated."""
    env = dict(os.environ)
    generated = [name for name in GENERATED_SECRETS if not env.get(name)]
    for name in generated:
        env[name] = secrets.token_urlsafe(24)
    return env, generated


def _start(
    args: list[str], env: dict[str, str], children: list[subprocess.Popen[bytes] | subprocess.Popen[str]],
    what: str,
) -> tuple[str, str]:
    """Start one child and read its ``listening on HOST:PORT`` line."""
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    children.append(child)
    assert child.stdout is not None
    match = LISTENING.search(child.stdout.readline())
    if match is None:
        raise SystemExit(f"error: {what} did not start (see its messages above)")
    # the rest of its output (the gateway's access log) is passed on, so its pipe never fills
    threading.Thread(target=_relay, args=(child.stdout, what), daemon=True).start()
    return match.group(1), match.group(2)


def _relay(stream: IO[str], what: str) -> None:
    for line in stream:
        if not line.startswith("open http"):  # the demo prints the address itself
            print(f"[{what}] {line.rstrip()}", flush=True)


def run(settings: ClusterDemoSettings) -> None:
    """Start Redis, the nodes and the gateway, print where they listen, stop them all on Ctrl-C/SIGTERM."""
    children: list[subprocess.Popen[bytes] | subprocess.Popen[str]] = []
    upstreams: list[str] = []
    url = settings.redis_url
    stop = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    env, generated = child_env()
    try:
        if url is None:
            children.append(_start_redis(settings.redis_port))
            url = f"redis://127.0.0.1:{settings.redis_port}/0"
            time.sleep(0.3)
            print(f"redis on {url}", flush=True)
        for i in range(settings.nodes):
            want = settings.base_port + i if settings.base_port else 0
            args = [sys.executable, "-m", "tcpchat", "server", "--host", settings.host, "--port", str(want),
                    "--redis-url", url, "--node-id", f"n{i + 1}", "--server-name", f"n{i + 1}.tcpchat.local"]
            args += ["--database-url", settings.database_url] if settings.database_url else ["--no-history"]
            host, port = _start(args, env, children, f"node n{i + 1}")
            print(f"node n{i + 1} listening on {host}:{port}", flush=True)
            upstreams.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
        if settings.web_port >= 0:
            args = [sys.executable, "-m", "tcpchat", "gateway", "--host", settings.host,
                    "--port", str(settings.web_port), "--upstreams", ",".join(upstreams)]
            host, port = _start(args, env, children, "the gateway")
            web = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
            print(f"gateway listening on {host}:{port}: open {web} (each tab lands on the next node)", flush=True)
            if "TCPCHAT_ADMIN_PASSWORD" in generated:
                print(f"admin page: {web}admin (user admin, password {env['TCPCHAT_ADMIN_PASSWORD']})", flush=True)
        print("cluster up: connect clients to different nodes; Ctrl-C stops it", flush=True)
        while not stop and all(c.poll() is None for c in children):
            time.sleep(0.2)
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in reversed(children):
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
