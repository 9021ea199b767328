"""Line mode: one input line in -> one command or message; one event -> one printed line.

Meant for scripts and pipes: output is flushed per line, errors that end the program go to stderr
as one line, and the exit code says what happened (see ``EXIT_*``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from tcp_server.protocol import LineBuffer

from .events import SessionStatus
from .model import SERVER_ROOM, ChatModel, Line
from .registration import RegistrationError
from .session import ClientSession
from .slash import DEFAULT_MAX_INPUT_BYTES, handle_input

EXIT_OK = 0
EXIT_CONNECT = 1  # could not reach the server, or lost it for good
EXIT_REFUSED = 3  # the server refused registration (nick in use, bad password...)
INPUT_QUEUE = 64
"""Input lines read ahead of the session (the reader thread waits beyond this)."""
READ_CHUNK = 64 * 1024
EOF_FLUSH_TIMEOUT = 30.0
"""Seconds to wait at the end of input for lines typed while disconnected to go out."""


class TooLong:
    """Marker for an input line over the byte limit (it was skipped, not cut)."""


class StdinLines:
    """Lines from a file descriptor, read by a daemon thread (works for ttys, pipes and files)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_bytes: int, fd: int = 0) -> None:
        self._loop = loop
        self._fd = fd
        self._buffer = LineBuffer(max_line=max_bytes)
        self.queue: asyncio.Queue[str | TooLong | None] = asyncio.Queue(INPUT_QUEUE)
        threading.Thread(target=self._run, name="stdin-reader", daemon=True).start()

    def _put(self, item: str | TooLong | None) -> bool:
        try:
            asyncio.run_coroutine_threadsafe(self.queue.put(item), self._loop).result()
            return True
        except RuntimeError:  # the loop is gone: we are exiting
            return False

    def _run(self) -> None:
        while True:
            try:
                data = os.read(self._fd, READ_CHUNK)
            except OSError:
                data = b""
            if not data:
                self._put(None)
                return
            for line in self._buffer.feed(data):
                item = line.decode("utf-8", "replace") if isinstance(line, bytes) else TooLong()
                if not self._put(item):
                    return

    async def get(self) -> str | TooLong | None:
        """The next line, a ``TooLong`` marker, or None at end of input."""
        return await self.queue.get()


def _printer(out: TextIO, current: Callable[[], str]) -> Callable[[Line], None]:
    def show(line: Line) -> None:
        if not line.room:
            line = Line(line.time, current() or SERVER_ROOM, line.kind, line.nick, line.text)
        print(line.plain(), file=out, flush=True)

    return show


async def run_plain(
    session: ClientSession,
    join: list[str],
    *,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    out: TextIO | None = None,
    err: TextIO | None = None,
    input_fd: int = 0,
) -> int:
    """Run line mode until /quit, end of input, or a lost session; return the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    model = ChatModel(session.nick)
    where = f"{session.host}:{session.port}"
    try:
        await session.start()
    except RegistrationError as exc:
        print(f"error: {where} refused registration: {exc}", file=err, flush=True)
        return EXIT_REFUSED
    except OSError as exc:
        print(f"error: cannot connect to {where}: {exc or type(exc).__name__}", file=err, flush=True)
        return EXIT_CONNECT
    state = {"current": ""}
    show = _printer(out, lambda: state["current"])
    for room in join:
        await session.join(room)
        state["current"] = state["current"] or room

    async def pump_events() -> str:
        async for event in session.events():
            for line in model.apply(event):
                show(line)
            if isinstance(event, SessionStatus) and event.state == "closed":
                return event.reason
        return "closed"

    async def pump_input() -> str:
        lines = StdinLines(asyncio.get_running_loop(), max_input_bytes, input_fd)
        while True:
            text = await lines.get()
            if text is None:
                return "end of input"
            if isinstance(text, TooLong):
                show(model.local("", "error", f"line too long (over {max_input_bytes} bytes): not sent"))
                continue
            result = await handle_input(session, model, state["current"], text, max_input_bytes)
            for line in result.lines:
                show(line)
            if result.switch:
                state["current"] = model.room(result.switch).name
            if result.quit is not None:
                return result.quit

    events = asyncio.create_task(pump_events())
    reader = asyncio.create_task(pump_input())
    done, _ = await asyncio.wait({events, reader}, return_when=asyncio.FIRST_COMPLETED)
    if reader in done:
        code = EXIT_OK
        if session.queued:  # typed while disconnected: give the reconnect a chance to send it
            try:
                await session.flushed(EOF_FLUSH_TIMEOUT)
            except TimeoutError:
                print(f"error: {session.queued} typed lines not sent: not connected", file=err, flush=True)
                code = EXIT_CONNECT
        await session.close(reader.result() if reader.result() != "end of input" else "Client quit")
        await events
        return code
    reader.cancel()
    print(f"error: disconnected: {events.result()}", file=err, flush=True)
    return EXIT_CONNECT
