"""``/ws``: bridge one browser WebSocket (JSON) to its own upstream IRC session (``tcp_client``).

Two tasks per socket: the browser pump (frames -> validated commands -> session calls) and the
writer, the only task that sends on the WebSocket. Upstream events (``tcp_client``'s typed
events -> ``events.to_json`` -> JSON; no IRC parsing here) are handled by ``on_upstream``, which
the session calls from its link's ``data_received`` (``ClientSession.listen``): no task switch per
event. Frames go straight to the browser's socket (``ws_direct``) while it takes them; between
upstream and the writer one bounded queue (``ws_queue`` events), and while it holds anything the
upstream session stops reading: a browser that stops reading is disconnected instead of growing
memory. When any task ends, all end: the browser closing its tab QUITs the
IRC connection, and the IRC session closing for good closes the WebSocket. The gateway keeps
nothing per user beyond these objects.

Chat lines are the bulk of the traffic and every member of a room receives the same one (on
its own upstream connection), so a line's JSON text is built once and shared: the session's decoder
hands every browser of the room the same ``ChatMessage`` object, and ``_texts`` keeps its text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Coroutine
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from tcp_client.config import DEFAULT_CAPS
from tcp_client.events import ChatMessage, ClientEvent, ModeChanged, ServerLine, SessionStatus
from tcp_client.session import ClientSession, LineError, RegistrationError, SessionConfig, WebIrc
from tcp_server.protocol import Message, TokenBucket, casefold, is_channel_name

from . import accounts as A
from . import commands as C
from .events import Event, error_event, status_event, to_json
from .extensions import WANTED_CAPS, Extras
from .security import client_ip
from .settings import GatewaySettings
from .upstream import UpstreamPool
from .ws_direct import DIRECT, DirectSocket, PausedSend, text_frame

log = logging.getLogger("tcpchat.gateway")

CLOSE_TOO_SLOW = 1008
QUIT_REASON = "Web client closed"
FLUSH_TIMEOUT = 2.0
"""Seconds the last events (the ``closed`` status) get to reach the browser after the session ends."""
SESSION_QUEUE_MIN = 256
"""The upstream session's event queue holds at least the welcome burst (MOTD, 005, LUSERS)."""
RATE_WARNING_INTERVAL = 1.0
"""Seconds between two ``rate_limited`` errors on one socket."""
READ_MARKER = "draft/read-marker"  # also asked for: each room's read marker after a join (accounts.py)
TEXT_CACHE_SIZE = 1024
"""Chat lines whose JSON text is kept for the other browsers in the room (emptied when full)."""

_texts: dict[int, tuple[ChatMessage, str, bytes]] = {}


def encode(event: Event) -> str:
    """An event as a WebSocket text frame (the same compact JSON as Starlette's ``send_json``)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def session_config(s: GatewaySettings, nick: str, ip: str, account: tuple[str, str] | None = None) -> SessionConfig:
    """The upstream session of one browser: WEBIRC with its address, the gateway's limits, and
    the account it logs in to (SASL) on every connect when signed in (then a nick still held
    by another of the account's pages falls back to ``nick_``: the history is the account's)."""
    pw = s.webirc_password
    webirc = WebIrc(pw.get_secret_value(), s.webirc_gateway_name, ip, ip) if pw is not None else None
    return SessionConfig(
        s.irc_host, s.irc_port, nick, webirc=webirc, unix_socket=s.irc_unix_socket,
        password=s.password.get_secret_value() if s.password else None, tls=s.irc_tls,
        reconnect=True, nick_fallback=account is not None, backoff_initial=s.reconnect_initial,
        backoff_max=s.reconnect_max, connect_timeout=s.connect_timeout,
        queue_size=max(s.ws_queue, SESSION_QUEUE_MIN), history_on_join=s.history_on_join,
        account=account, caps=(*DEFAULT_CAPS, *WANTED_CAPS, READ_MARKER),
    )


class Bridge:
    """The state of one ``/ws`` connection: the socket, the session (after ``hello``), the queue."""

    def __init__(self, ws: WebSocket, settings: GatewaySettings, upstreams: UpstreamPool | None = None) -> None:
        self.ws, self.settings = ws, settings
        self.upstreams = upstreams or UpstreamPool.from_settings(settings)  # each (re)connect: next live node
        self.ip = client_ip(ws)
        self.out: asyncio.Queue[Event | str | bytes | PausedSend | None] = asyncio.Queue(settings.ws_queue)
        scope = getattr(ws, "scope", None) or {}
        self.direct: DirectSocket | None = scope.get("extensions", {}).get(DIRECT)
        self.upstream_paused = False  # reading from the chat server stopped: the browser is behind
        self.session: ClientSession | None = None
        self.extras = Extras(lambda nick: bool(self.session) and casefold(nick) == casefold(self.session.nick))
        self.requests: set[asyncio.Task[None]] = set()  # NAMES refreshes sent from on_upstream
        self.done = asyncio.Event()
        self.ended = False  # ``done`` as a plain attribute, for the per-frame check
        self.queued = 0  # frames/events in ``out`` not yet taken by the writer
        self.writing = False  # the writer task is in the middle of a send
        self.registering = False  # a hello is being carried out upstream
        self.hello_timer: asyncio.TimerHandle | None = None

    # -- output ---------------------------------------------------------------------------

    def emit(self, event: Event | str | bytes) -> None:
        """Send an event (its JSON text, or its ready frame) to the browser, or queue it; a full
        queue means the browser is not reading: drop it.

        With the direct socket (``ws_direct``) a frame goes straight to the browser's transport
        while it is not paused; once it is, frames queue (bounded by ``ws_queue``) and reading
        from the chat server pauses until the writer has sent the queue (backpressure instead of
        buffering). Without it, ``send_text`` runs at once when nothing is queued and the writer
        is idle; a send that has to wait is handed to the writer, and what follows queues behind.
        """
        if self.direct is not None:
            if not isinstance(event, bytes):
                event = text_frame((event if isinstance(event, str) else encode(event)).encode())
            self._emit_frame(event)
            return
        if not self.writing and self.out.empty() and not self.ended:
            assert not isinstance(event, bytes), "frames need the direct socket"
            self._send_now(event if isinstance(event, str) else encode(event))
            return
        self._queue(event)

    def stop_writer(self) -> None:
        """Have the writer return once it has sent what is queued (the queue must have room)."""
        self.out.put_nowait(None)
        self.queued += 1

    def _end(self) -> None:
        self.ended = True
        self.done.set()

    def _emit_frame(self, frame: bytes) -> None:
        direct = self.direct
        assert direct is not None
        if self.ended:
            return
        if not self.writing and not self.queued and not direct.paused:
            if not direct.send(frame):
                self._end()  # the browser went away: the bridge is ending anyway
            return
        self._queue(frame)
        if not self.upstream_paused and self.session is not None:
            self.upstream_paused = True
            self.session.pause_reading()

    def _queue(self, item: Event | str | bytes | PausedSend) -> None:
        try:
            self.out.put_nowait(item)
            self.queued += 1
        except asyncio.QueueFull:
            if not self.ended:
                log.info("browser %s too slow (%d events queued); closing", self.ip, self.out.qsize())
            self._end()

    def _send_now(self, text: str) -> None:
        """Run ``ws.send_text`` up to its first wait; if it has to wait, the writer finishes it."""
        coro = self.ws.send_text(text)
        try:
            waiting_for = coro.send(None)
        except StopIteration:
            return  # sent
        except (RuntimeError, WebSocketDisconnect, ConnectionError):
            self._end()  # the browser went away: the bridge is ending anyway
            return
        except Exception as exc:
            log.warning("send to %s failed: %r", self.ip, exc)
            self._end()
            return
        self._queue(PausedSend(coro, waiting_for))

    async def writer(self) -> None:
        while True:
            item = await self.out.get()
            self.queued -= 1
            if item is None:
                return
            self.writing = True
            try:
                if isinstance(item, bytes):
                    assert self.direct is not None
                    await self.direct.writable.wait()
                    if not self.direct.send(item):
                        return
                    if self.upstream_paused and not self.queued and self.session is not None:
                        self.upstream_paused = False
                        self.session.resume_reading()
                elif isinstance(item, PausedSend):
                    await item
                else:
                    await self.ws.send_text(item if isinstance(item, str) else encode(item))
            except (RuntimeError, WebSocketDisconnect, ConnectionError):
                return  # the browser went away while we were sending: the bridge is ending anyway
            finally:
                self.writing = False

    # -- browser -> upstream ----------------------------------------------------------------

    async def browser_pump(self) -> None:
        s = self.settings
        bucket = TokenBucket(s.ws_rate, s.ws_burst, time.monotonic())
        warned_at = -RATE_WARNING_INTERVAL
        while True:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            if not bucket.allow(time.monotonic()):
                # Every frame counts, valid or not; one error per refused frame would let a flood
                # fill the queue, so the refusals are reported at most once per second.
                now = time.monotonic()
                if now - warned_at >= RATE_WARNING_INTERVAL:
                    warned_at = now
                    self.emit(error_event("rate_limited", "too many messages; some were dropped"))
                continue
            data = frame.get("text")
            if data is None:
                data = frame.get("bytes") or b""
            cmd = C.parse_command(data, s.ws_max_frame, s.ws_history_max)
            if isinstance(cmd, C.CommandError):
                self.emit(error_event(cmd.code, cmd.message))
                continue
            await self.handle(cmd)

    async def handle(self, cmd: C.Command) -> None:
        """Carry out one validated command."""
        if isinstance(cmd, C.Hello):
            await self.hello(cmd)
            return
        session = self.session
        if session is None:
            self.emit(error_event("not_connected", "say hello (pick a nick) first"))
            return
        if isinstance(cmd, C.History) and not session.has_history():
            self.emit(error_event("no_history", "the chat server keeps no history"))
            return
        try:
            if isinstance(cmd, A.AccountCommand):
                await A.carry_out(self, session, cmd)
                return
            for msg in C.to_messages(cmd, session.caps):
                await session.send(msg)  # queued by the session while it reconnects
        except LineError as exc:
            self.emit(error_event("bad_field", str(exc)))
        except ConnectionError as exc:
            self.emit(error_event("not_connected", str(exc) or "not connected to the chat server"))

    async def hello(self, cmd: C.Hello) -> None:
        """Register upstream as ``cmd.nick`` (signing in or creating an account, see accounts.py);
        on refusal (433 nick in use, wrong password...) the browser may try again."""
        if self.session is not None:
            self.emit(error_event("already_connected", "hello was already accepted; use nick to rename"))
            return
        self.registering = True
        try:
            await self._register(cmd)
        finally:
            self.registering = False
        if self.session is None and self.hello_timer is None:  # refused after the deadline
            self._hello_expired()

    async def _register(self, cmd: C.Hello) -> None:
        s, nick = self.settings, cmd.nick
        session = ClientSession(session_config(s, nick, self.ip, A.login_of(cmd)), route=self.upstreams)
        try:
            await session.start()
        except RegistrationError as exc:
            await session.close()
            self.emit(A.refusal_event(exc, cmd))
            self.emit(status_event("closed", None, exc.message))
            return
        except (OSError, TimeoutError) as exc:
            await session.close()
            self.emit(error_event("upstream", f"cannot reach the chat server: {exc}"))
            self.emit(status_event("closed", None, "chat server unreachable"))
            return
        signed = await A.signed_in(session, cmd)
        if signed["type"] != "account" or signed.get("pending"):
            await session.close()  # refused, or waiting for an operator: no session
            self.emit(signed)
            self.emit(status_event("closed", None, "account not signed in"))
            return
        self.emit(signed)  # before the queued "connecting"/"connected" statuses
        self.session = session
        session.listen(self.on_upstream)

    # -- upstream -> browser ----------------------------------------------------------------

    def on_upstream(self, event: ClientEvent) -> None:
        """One session event, called from the session's read loop: map it to JSON and send it."""
        if type(event) is ChatMessage and event.time is not None:
            self._chat_line(event)
            return
        if isinstance(event, SessionStatus) and event.state == "closed":
            self.emit(status_event(event.state, event.nick, event.reason or None))
            self._end()
            return
        if type(event) is ServerLine and event.msg is not None:
            extras = self.extras.feed(event.msg)  # reactions, typing, deletions
            if extras is not None:
                for item in extras:
                    self.emit(item)
                return
        if isinstance(event, ModeChanged) and is_channel_name(event.target) and len(event.modes) > 1 \
                and self.session:
            # A member's @/+ changed: ask the server for the fresh list rather than track it here.
            self._request(self.session.send(Message("NAMES", (event.target,))))
        for item in to_json(event):
            self.emit(item)

    def _chat_line(self, event: ChatMessage) -> None:
        """A live chat line: its JSON text and frame, built once for all browsers that receive it
        (the decoder shares one event object per line and per "is it ours")."""
        hit = _texts.get(id(event))
        if hit is None or hit[0] is not event:
            if len(_texts) >= TEXT_CACHE_SIZE:
                _texts.clear()
            text = encode(to_json(event)[0])
            hit = _texts[id(event)] = (event, text, text_frame(text.encode()))  # holding it keeps the id
        direct = self.direct
        if direct is None:
            self.emit(hit[1])
        elif direct.open and not direct.paused and not self.writing and not self.queued and not self.ended:
            if not direct.send(hit[2]):  # the common case, inlined: straight to the socket
                self._end()
        else:
            self._emit_frame(hit[2])

    def _request(self, coro: Coroutine[Any, Any, None]) -> None:
        """Send a request without blocking the read loop (the task is cancelled with the bridge)."""
        task = asyncio.create_task(coro)
        self.requests.add(task)
        task.add_done_callback(self._request_done)

    def _request_done(self, task: asyncio.Task[None]) -> None:
        self.requests.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("request for %s failed: %r", self.ip, task.exception())

    # -- lifecycle --------------------------------------------------------------------------

    def _hello_expired(self) -> None:
        """``ws_hello_timeout`` passed: close a socket that has not registered (a hello being
        carried out may finish; a refused one then closes it)."""
        self.hello_timer = None
        if self.session is not None or self.registering or self.ended:
            return
        timeout = self.settings.ws_hello_timeout
        self.emit(error_event("hello_timeout", f"no hello accepted within {timeout:g} s; closing"))
        self._end()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.hello_timer = loop.call_later(self.settings.ws_hello_timeout, self._hello_expired)
        writer = asyncio.create_task(self.writer())
        upstream_ended = asyncio.create_task(self.done.wait())
        tasks = [asyncio.create_task(self.browser_pump()), writer, upstream_ended]
        try:
            finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                exc = task.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect | ConnectionError):
                    log.warning("bridge for %s ended: %r", self.ip, exc)
            if upstream_ended in finished and not writer.done() and not self.out.full():
                # The session ended (e.g. KILL): let the browser read why before the socket closes.
                self.stop_writer()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(writer), FLUSH_TIMEOUT)
        finally:
            if self.hello_timer is not None:
                self.hello_timer.cancel()
            tasks.extend(self.requests)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.session is not None:
                with contextlib.suppress(Exception):
                    await self.session.close(QUIT_REASON)
            with contextlib.suppress(Exception):
                await self.ws.close(CLOSE_TOO_SLOW if self.out.full() else 1000)


async def run_bridge(ws: WebSocket, settings: GatewaySettings, upstreams: UpstreamPool | None = None) -> None:
    """Serve one ``/ws`` connection until the browser or the upstream session goes away."""
    await ws.accept()
    await Bridge(ws, settings, upstreams).run()
