"""Full-text search of a room's history: the SQLite FTS5 index against a LIKE scan of the same rows.

``python -m bench.search_history [--rows 100000] [--queries 50]`` fills a fresh SQLite store (one
room, words drawn from a fixed vocabulary), then times ``HistoryStore.search`` (the index) and the
same question asked as ``LIKE`` filters (no index: the same-run reference), and prints one JSON
line with the medians and the ratio. Also reports the database size with the index.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from tcp_server.history.base import StoredMessage
from tcp_server.history.keys import channel_key
from tcp_server.history.sqlite import SQLiteStore

VOCABULARY = [f"w{i}" for i in range(5000)]
WORDS_PER_LINE = 12
BATCH = 5000


async def fill(store: SQLiteStore, rows: int, rng: random.Random) -> None:
    loop = asyncio.get_running_loop()
    for start in range(0, rows, BATCH):
        futures = []
        for i in range(start, min(rows, start + BATCH)):
            text = " ".join(rng.choice(VOCABULARY) for _ in range(WORDS_PER_LINE))
            record = StoredMessage(uuid.uuid4().hex, 1.7e9 + i / 1000, "PRIVMSG", "a!a@h", "a", "#bench", text, {})
            fut = loop.create_future()
            store.append(record, fut.set_result)
            futures.append(fut)
        await asyncio.gather(*futures)


async def main(rows: int, queries: int) -> dict[str, object]:
    rng = random.Random(14)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.db"
        store = SQLiteStore(path, commit_interval=0.01)
        await store.start()
        try:
            t0 = time.perf_counter()
            await fill(store, rows, rng)
            fill_s = time.perf_counter() - t0
            key = channel_key("#bench")
            asks = [" ".join(rng.sample(VOCABULARY, 1 + i % 2)) for i in range(queries)]  # 1 or 2 words
            indexed, scanned, found = [], [], 0
            db = store._db()  # the reference: the same question without the index
            for words in asks:
                t = time.perf_counter()
                hits = await store.search(key, words, 50)
                indexed.append(time.perf_counter() - t)
                found += len(hits)
                likes = [f"% {w} %" for w in words.split()]
                where = " AND ".join("' ' || text || ' ' LIKE ?" for _ in likes)
                t = time.perf_counter()
                await db.execute_fetchall(
                    f"SELECT msgid FROM messages WHERE target_key = ? AND {where} ORDER BY seq DESC LIMIT 50",
                    (key, *likes))
                scanned.append(time.perf_counter() - t)
        finally:
            await store.close()
        size = path.stat().st_size
    fts_ms, like_ms = statistics.median(indexed) * 1000, statistics.median(scanned) * 1000
    return {"rows": rows, "queries": queries, "fill_s": round(fill_s, 2), "db_mb": round(size / 1e6, 1),
            "hits": found, "fts5_median_ms": round(fts_ms, 2), "like_scan_median_ms": round(like_ms, 2),
            "scan_over_fts5": round(like_ms / fts_ms, 1) if fts_ms else None}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.rows, args.queries))))
