"""Helpers shared by the history store tests (``tests/history/``): test records and a way
to append them and wait for every acknowledgement."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from tcp_server.history.base import HistoryStore, StoredMessage
from tcp_server.history.sqlite import SQLiteStore

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


class Backend:
    """Opens stores of one kind on the same database (to test reopening)."""

    def __init__(self, kind: str, where: str) -> None:
        self.kind = kind
        self.where = where
        self.opened: list[HistoryStore] = []

    async def open(self, **options: object) -> HistoryStore:
        options = {"commit_interval": 0.002, **options}
        if self.kind == "sqlite":
            store: HistoryStore = SQLiteStore(Path(self.where), **options)  # type: ignore[arg-type]
        else:
            from tcp_server.history.postgres import PostgresStore

            store = PostgresStore(self.where, **options)  # type: ignore[arg-type]
        await store.start()
        self.opened.append(store)
        return store
