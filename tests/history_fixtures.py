"""Helpers shared by the history store tests (``test_history_store*.py``): test records and a way
to append them and wait for every acknowledgement."""

from __future__ import annotations

import asyncio
import uuid

from tcp_server.history.base import HistoryStore, StoredMessage

BASE = 1_790_000_000.0  # a fixed wall-clock second, so times are exact in milliseconds


def msg(i: int, target: str = "#room", sender: str = "alice", **tags: str) -> StoredMessage:
    return StoredMessage(
        msgid=f"id{i}-{uuid.uuid4().hex[:6]}",
        time=BASE + i * 0.01,
        command="PRIVMSG",
        source=f"{sender}!~{sender}@127.0.0.1",
        sender=sender,
        target=target,
        text=f"message {i}",
        tags={"msgid": "", **tags},
    )


async def append_all(store: HistoryStore, records: list[StoredMessage]) -> list[BaseException | None]:
    """Append every record in the same loop turn; wait for every callback."""
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in records]
    for record, fut in zip(records, futures, strict=True):
        store.append(record, fut.set_result)
    return await asyncio.wait_for(asyncio.gather(*futures), 10)


def texts(messages: list[StoredMessage]) -> list[str]:
    return [m.text for m in messages]
