"""The SQLite write path in its own process: batches in on stdin, one status per batch out.

Why a process and not a thread: the event loop keeps the GIL busy under load, and a writer
thread then waits for it at every step (and, when the machine is oversubscribed, the loop in
turn waits for a descheduled writer holding it). A child process shares no GIL: the server only
writes a JSON batch to a pipe and reads a short reply, both through the event loop.

Protocol (binary, framed): request = 4-byte big-endian length + a ``marshal``-ed list of
``StoredMessage`` field tuples (cheap for the server to produce; the child computes the rows);
reply = 1 byte (0 ok, 1 failed) + 4-byte length + UTF-8 error text. EOF on stdin ends the
process after the batch in hand is committed. SIGINT/SIGTERM are ignored: a Ctrl-C or a
supervisor's signal to the process group must not kill the writer before the server has
committed its last batches; the server closes stdin when it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import marshal
import os
import signal
import sqlite3
import struct
import sys
from typing import Any

from .base import StoredMessage
from .sql import CHANNEL_COLUMNS, COLUMNS, FTS_FILL, LAST_SEQ, batch_rows, insert_sql, qmark

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
"""Where ``tcp_server`` lives, put on the child's path whatever its working directory."""

INSERTS = {
    len(columns.split(", ")): insert_sql(qmark, "INSERT OR IGNORE", "", columns)
    for columns in (COLUMNS, CHANNEL_COLUMNS)
}
"""The insert for a row of each width (``batch_rows``: a channel's row has no ``dm_a``/``dm_b``)."""
HEADER = struct.Struct(">I")
REPLY = struct.Struct(">BI")
MAX_BATCH_BYTES = 256 * 1024 * 1024
"""A request larger than this is a protocol error (the writer exits)."""


def serve(path: str, synchronous: str, busy_ms: int) -> int:
    """Commit batches from stdin until EOF (the child's main loop)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    keys: dict[tuple[str, str], tuple[str, str | None, str | None]] = {}
    while True:
        head = inp.read(HEADER.size)
        if len(head) < HEADER.size:
            return 0
        (size,) = HEADER.unpack(head)
        if size > MAX_BATCH_BYTES:
            return 2
        payload = inp.read(size)
        if len(payload) < size:
            return 0
        try:
            rows = batch_rows(marshal.loads(payload), keys)
            db.execute("BEGIN IMMEDIATE")
            try:
                (last,) = db.execute(LAST_SEQ).fetchone()
                insert_in_order(db, rows)
                db.execute(FTS_FILL, (last,))  # the batch's new rows into the search index
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            reply = REPLY.pack(0, 0)
        except (sqlite3.Error, ValueError, TypeError, EOFError) as exc:
            text = (str(exc) or type(exc).__name__).encode("utf-8", "replace")
            reply = REPLY.pack(1, len(text)) + text
        try:
            out.write(reply)
            out.flush()
        except OSError:  # the server is gone (killed): the batch is committed, nobody to tell
            return 0


def insert_in_order(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` in their order (``seq`` is commit order), one ``executemany`` per run of
    rows of one width (usually one run: a batch of channel lines)."""
    start = 0
    for end in range(1, len(rows) + 1):
        if end == len(rows) or len(rows[end]) != len(rows[start]):
            db.executemany(INSERTS[len(rows[start])], rows[start:end])
            start = end


def encode_batch(records: list[StoredMessage]) -> bytes:
    """A batch as the writer reads it (``marshal`` is C-fast; the data never leaves the host)."""
    batch: list[tuple[Any, ...]] = [
        (r.msgid, r.time, r.command, r.source, r.sender, r.target, r.text, r.tags) for r in records
    ]
    return marshal.dumps(batch)


class WriterProcess:
    """The server's end: spawn the writer, send batches one at a time, read each status."""

    def __init__(self, path: str, synchronous: str, busy_ms: int) -> None:
        self.args = (path, synchronous, str(busy_ms))
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def _spawn(self) -> asyncio.subprocess.Process:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            path = os.environ.get("PYTHONPATH", "")
            env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT + (os.pathsep + path if path else "")}
            proc = self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", __name__, *self.args,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
                start_new_session=True,  # a terminal's Ctrl-C goes to the server, not to us
            )
        return proc

    async def start(self) -> None:
        """Start the writer now (so a broken setup shows at server start, not first message)."""
        await self._spawn()

    async def write(self, payload: bytes) -> None:
        """Commit one batch; raises RuntimeError with the writer's error when it fails."""
        async with self._lock:
            proc = await self._spawn()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(HEADER.pack(len(payload)) + payload)
                await proc.stdin.drain()
                status, size = REPLY.unpack(await proc.stdout.readexactly(REPLY.size))
                error = (await proc.stdout.readexactly(size)).decode("utf-8", "replace") if size else ""
            except (OSError, asyncio.IncompleteReadError) as exc:
                # Its exit may not be reaped yet (returncode still None): forget it now, so the
                # next batch starts a new writer instead of writing to the dead one.
                self._proc = None
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                raise RuntimeError(f"history writer process died: {exc!r}") from exc
            if status:
                raise RuntimeError(error or "history write failed")

    async def close(self, timeout: float) -> None:
        """Close stdin (the writer exits after its last batch) and reap it (killed after ``timeout`` s)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()


if __name__ == "__main__":
    raise SystemExit(serve(sys.argv[1], sys.argv[2], int(sys.argv[3])))
