"""Blocking work (password hashes) off the event loop, with its result handed back on the loop.

Command handlers stay synchronous and free of asyncio: they call ``state.offload(fn, done)``, and
this thread pool (``kdf_workers`` threads) runs ``fn`` while the loop serves everyone else.
``hashlib.scrypt`` releases the GIL, so a hash in a worker does not stall the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .state.credentials import Done


class Offloader:
    """A bounded thread pool whose results come back to ``done`` on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, workers: int) -> None:
        self._loop = loop
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tcpchat-kdf")

    def __call__(self, fn: Callable[[], Any], done: Done) -> None:
        future = self._pool.submit(fn)

        def back_on_loop(fut: Future[Any]) -> None:
            if fut.cancelled():
                return
            error = fut.exception()
            result = None if error is not None else fut.result()
            try:
                self._loop.call_soon_threadsafe(done, result, error)
            except RuntimeError:  # the loop is closed: the server is gone
                pass

        future.add_done_callback(back_on_loop)

    def close(self) -> None:
        """Drop queued work and let running hashes finish in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)
