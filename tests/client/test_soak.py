"""Soak: a busy room while the client's link is cut and restored, repeatedly.

The promise under load: the consumer of ``ClientSession.events()`` sees every channel message
exactly once and in order, across reconnects (live traffic + CHATHISTORY gap fill, de-duplicated by
msgid). ``pytest -m slow``; ``TCPCHAT_SOAK_SCALE=small`` in CI.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from tcp_client.session import ClientSession, SessionConfig, SessionStatus

from ..client_support import chat_lines
from ..support import Proxy, RawClient

SOAK = {"small": (1500, 3), "full": (20000, 10)}
"""TCPCHAT_SOAK_SCALE -> (messages sent, link cuts)."""
FLOOD = {"small": 20000, "full": 200000}
"""TCPCHAT_SOAK_SCALE -> messages in the ingest flood."""


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_no_loss_no_duplicates_across_cuts_under_load(make_server, tmp_path) -> None:
    total, cuts = SOAK[os.environ.get("TCPCHAT_SOAK_SCALE", "full")]
    srv = await make_server(history=True, data_dir=tmp_path)
    proxy = Proxy(srv.port)
    session = ClientSession(SessionConfig(
        "127.0.0.1", await proxy.start(), "alice", backoff_initial=0.02, backoff_max=0.2,
        queue_size=total + 1000,
    ))
    await session.start()
    await session.join("#soak")
    bob = await RawClient.connect(srv.port)
    await bob.register("bob", caps="echo-message")
    await bob.join("#soak")
    received: list[str] = []
    reconnected = asyncio.Queue()
    done = asyncio.Event()

    async def consume() -> None:
        async for ev in session.events():
            lines = [line for line in chat_lines(ev) if line.target == "#soak"]
            received.extend(line.text for line in lines)
            if lines and len(received) >= total:
                done.set()
            if isinstance(ev, SessionStatus) and ev.state == "connected":
                reconnected.put_nowait(ev)

    async def cutter() -> int:
        """Cut the link at evenly spaced points of the traffic; wait for each recovery."""
        await reconnected.get()  # the initial "connected"
        for k in range(1, cuts + 1):
            while len(received) < k * total // (cuts + 1):
                await asyncio.sleep(0.005)
            proxy.cut()
            await asyncio.sleep(0.05)  # traffic keeps flowing while alice is away
            proxy.open = True
            async with asyncio.timeout(30):
                await reconnected.get()
        return cuts

    consumer = asyncio.create_task(consume())
    cutting = asyncio.create_task(cutter())
    for i in range(total):
        await bob.send(f"PRIVMSG #soak :m{i}")
        await bob.expect("PRIVMSG", lambda m, i=i: m.params[-1] == f"m{i}")  # stored
    try:
        async with asyncio.timeout(20):
            reconnects = await cutting
            await done.wait()
    except TimeoutError:
        missing = sorted(set(f"m{i}" for i in range(total)) - set(received), key=lambda t: int(t[1:]))
        dups = len(received) - len(set(received))
        raise AssertionError(
            f"received {len(received)}/{total}, cutting done={cutting.done()}, dups={dups}, "
            f"missing={missing[:20]}..{len(missing)}"
        ) from None
    await session.close()
    await consumer
    await proxy.close()
    await bob.close()
    assert reconnects == cuts
    assert received == [f"m{i}" for i in range(total)]


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_flood_is_ingested_completely_and_in_order(make_server) -> None:
    """One session reading a flooded room: every line arrives, in order; prints the rate."""
    total = FLOOD[os.environ.get("TCPCHAT_SOAK_SCALE", "full")]
    srv = await make_server(sendq=64 * 1024 * 1024)
    session = ClientSession(SessionConfig("127.0.0.1", srv.port, "alice", queue_size=total + 1000))
    await session.start()
    await session.join("#flood")
    bob = await RawClient.connect(srv.port)
    await bob.register("bob")
    await bob.join("#flood")
    payload = b"".join(b"PRIVMSG #flood :line %d\r\n" % i for i in range(total))
    started = time.perf_counter()
    bob.writer.write(payload)
    expected = 0
    async with asyncio.timeout(240):
        while expected < total:
            ev = await session.next_event()
            for line in chat_lines(ev):
                assert line.text == f"line {expected}"
                expected += 1
    elapsed = time.perf_counter() - started
    print(f"ingested {total} messages in {elapsed:.2f}s: {total / elapsed:,.0f} msg/s (server in the same loop)")
    await session.close()
    await bob.close()
