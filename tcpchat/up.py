"""``tcpchat up``: the chat server and the web gateway as two supervised child processes.

Ctrl-C or SIGTERM stops both cleanly (SIGTERM, then SIGKILL after ``stop_grace``). When a child
dies it is restarted after a back-off and the other carries on: the gateway's sessions show
"reconnecting" while the server is away and come back by themselves. Shared secrets (WEBIRC,
operator, admin, API token) are generated for the children when they are not set in the
environment; the admin password and the API token are printed, the others are only for the two.
The gateway reaches the server over a Unix socket in a private temporary directory (cheaper than
loopback TCP per line; ``--no-unix-socket`` for TCP), and IRC clients over TCP as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tcp_server.settings import default as server_default
from web_gateway.settings import default as gateway_default

from .options import settings_command

HELP = "Run server and gateway together (supervised); prints the URL to open."
GENERATED_SECRETS = (
    "TCPCHAT_WEBIRC_PASSWORD", "TCPCHAT_OPER_PASSWORD", "TCPCHAT_ADMIN_PASSWORD", "TCPCHAT_API_TOKEN"
)
"""Secrets the children need (both agree on the first two); generated per run when unset."""
LISTENING = re.compile(r"listening on (\S+):(\d+)")
STABLE_AFTER = 30.0
"""A child that ran this long before dying is restarted after the initial delay again."""


class UpSettings(BaseSettings):
    """Settings of ``tcpchat up``; the children read everything else from TCPCHAT_* as usual."""

    model_config = SettingsConfigDict(env_prefix="TCPCHAT_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address both the IRC and the web listener bind")
    irc_port: int = Field(server_default("port"), ge=0, le=65535, description="IRC port (0 picks a free one)")
    web_port: int = Field(gateway_default("port"), ge=0, le=65535, description="Web port (0 picks a free one)")
    data_dir: Path = Field(server_default("data_dir"), description="Directory for the history database")
    restart_initial: float = Field(0.5, gt=0, description="First delay before restarting a dead child")
    restart_max: float = Field(10.0, gt=0, description="Longest delay before restarting a dead child")
    stop_grace: float = Field(10.0, gt=0, description="Seconds children get to exit before SIGKILL")
    unix_socket: bool = Field(True, description="Gateway -> server over a private Unix socket (else TCP)")


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the supervisor dies, so no orphan keeps the ports (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    """One supervised ``tcpchat <command>`` process; its port is fixed after the first start."""

    def __init__(self, name: str, args: list[str], port: int, env: dict[str, str]) -> None:
        self.name = name
        self.args = args
        self.port = port
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.ready = asyncio.Event()
        self.pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.ready.clear()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tcpchat", *self.args, "--port", str(self.port),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            env=self.env,
            start_new_session=True,  # Ctrl-C reaches only the supervisor, which stops children in order
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self.started_at = time.monotonic()
        say(f"[{self.name}] started (pid {self.proc.pid})")
        self.pump = asyncio.create_task(self._pump_stdout(self.proc))

    async def _pump_stdout(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            match = LISTENING.search(text)
            if match and not self.ready.is_set():
                self.port = int(match.group(2))  # keep the port across restarts (port 0 -> fixed)
                self.ready.set()
            if not text.startswith("open http"):  # the supervisor prints the URL itself
                say(f"[{self.name}] {text}")

    async def stop(self, grace: float) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            say(f"[{self.name}] did not stop in {grace:g}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self.pump is not None:
            await asyncio.gather(self.pump, return_exceptions=True)


def say(text: str) -> None:
    print(text, flush=True)


def child_env(settings: UpSettings) -> tuple[dict[str, str], list[str]]:
    """The children's environment with shared secrets filled in; also the names generated."""
    env = dict(os.environ)
    env.pop("TCPCHAT_UNIX_SOCKET", None)  # up's own switch; to the server it would name a socket path
    generated = []
    for name in GENERATED_SECRETS:
        if not env.get(name):
            env[name] = secrets.token_urlsafe(24)
            generated.append(name)
    env["TCPCHAT_HOST"] = settings.host
    env["PYTHONUNBUFFERED"] = "1"
    return env, generated


async def supervise(settings: UpSettings) -> int:
    """Run both children until a signal; restart whichever dies. Returns the exit status."""
    with contextlib.ExitStack() as stack:
        sock = None
        if settings.unix_socket:
            sock = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tcpchat-"))) / "irc.sock"
        return await _supervise(settings, sock)


async def _supervise(settings: UpSettings, sock: Path | None) -> int:
    env, generated = child_env(settings)
    server_args = ["server", "--data-dir", str(settings.data_dir)]
    if sock is not None:
        server_args += ["--unix-socket", str(sock)]
    server = Child("server", server_args, settings.irc_port, env)
    await server.start()
    if not await _wait_ready(server):
        return 1
    irc_host = _display_host(settings.host).strip("[]")
    gateway_args = ["gateway", "--irc-host", irc_host, "--irc-port", str(server.port)]
    if sock is not None:
        gateway_args += ["--irc-unix-socket", str(sock)]
    gateway = Child("gateway", gateway_args, settings.web_port, env)
    await gateway.start()
    if not await _wait_ready(gateway):
        await server.stop(settings.stop_grace)
        return 1
    url = f"http://{_display_host(settings.host)}:{gateway.port}/"
    say(f"tcpchat is up: IRC on {settings.host}:{server.port}, web on {url}")
    say(f"open {url} in a browser")
    if "TCPCHAT_ADMIN_PASSWORD" in generated:
        say(f"admin page: {url}admin (user admin, password {env['TCPCHAT_ADMIN_PASSWORD']})")
    say(api_line(url, env["TCPCHAT_API_TOKEN"] if "TCPCHAT_API_TOKEN" in generated else None))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    delays = {server.name: settings.restart_initial, gateway.name: settings.restart_initial}
    try:
        while not stop.is_set():
            waits = {asyncio.create_task(c.proc.wait()): c for c in (server, gateway) if c.proc}
            stopper = asyncio.create_task(stop.wait())
            done, pending = await asyncio.wait([*waits, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            if stop.is_set():
                break
            for task in done:
                child = waits.get(task)
                if child is None:
                    continue
                if time.monotonic() - child.started_at > STABLE_AFTER:
                    delays[child.name] = settings.restart_initial
                delay = delays[child.name]
                say(f"[{child.name}] exited with status {task.result()}; restarting in {delay:g}s")
                delays[child.name] = min(delay * 2, settings.restart_max)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
                await child.start()
    finally:
        say("stopping: gateway, then server")
        await gateway.stop(settings.stop_grace)
        await server.stop(settings.stop_grace)
        say("stopped")
    return 0


async def _wait_ready(child: Child, timeout: float = 30.0) -> bool:
    assert child.proc is not None
    waiter = asyncio.create_task(child.ready.wait())
    died = asyncio.create_task(child.proc.wait())
    done, _ = await asyncio.wait([waiter, died], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    died.cancel()
    if waiter in done:
        return True
    say(f"[{child.name}] failed to start")
    await child.stop(5.0)
    return False


def api_line(url: str, token: str | None) -> str:
    """The one line ``up`` prints on the HTTP API; ``token`` when it generated one."""
    bearer = token if token is not None else "$TCPCHAT_API_TOKEN"
    return (
        f"HTTP API: {url}api/rooms (schema {url}api/openapi.json); "
        f"to post: Authorization: Bearer {bearer}"
    )


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _run_up(settings: UpSettings) -> None:  # type: ignore[misc]
    raise SystemExit(asyncio.run(supervise(settings)))


up_command = settings_command(UpSettings, _run_up)  # type: ignore[arg-type]
