"""One load-generator process of a big ``idle`` run: holds ``--count`` registered clients.

``python -m bench.idle_worker --port P --source 127.0.0.K --count N --prefix p`` connects from
its own loopback source address (so no address runs out of ephemeral ports), registers every
client, prints one JSON line ``{"registered": …, "failed": …, "errors": […]}`` and then holds
the connections (answering PINGs) until its stdin closes. One process holds at most what its
open-file limit allows, which is why a 100,000-client run uses several.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from .loadclient import LoadClient, Shared
from .procstat import raise_fd_limit

FD_HEADROOM = 64


async def hold(port: int, source: str, count: int, prefix: str, concurrency: int, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    shared = Shared()
    sem = asyncio.Semaphore(concurrency)
    clients: list[LoadClient] = []

    async def one(i: int) -> None:
        async with sem:
            client = LoadClient(f"{prefix}{i}", shared, full=True, tagged=False)
            await loop.create_connection(lambda: client, "127.0.0.1", port, local_addr=(source, 0))
            clients.append(client)
            await asyncio.wait_for(client.registered, timeout)

    results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    failures = sorted({repr(r) for r in results if isinstance(r, BaseException)})
    registered = sum(1 for c in clients if c.registered.done() and not c.registered.exception())
    print(json.dumps({"registered": registered, "failed": count - registered,
                      "errors": (shared.errors + failures)[:5]}), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # hold until the parent closes our stdin
    for client in clients:
        client.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--source", default="127.0.0.1", help="loopback address to connect from")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--prefix", default="i")
    ap.add_argument("--concurrency", type=int, default=50, help="registrations in flight")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds one registration may take")
    args = ap.parse_args()
    limit = raise_fd_limit(args.count + FD_HEADROOM)
    if limit < args.count + FD_HEADROOM:
        print(json.dumps({"registered": 0, "failed": args.count,
                          "errors": [f"open-file limit {limit} < {args.count} clients"]}), flush=True)
        return 1
    try:
        import uvloop

        uvloop.run(hold(args.port, args.source, args.count, args.prefix, args.concurrency, args.timeout))
    except ImportError:
        asyncio.run(hold(args.port, args.source, args.count, args.prefix, args.concurrency, args.timeout))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
