"""bench.cluster at a tiny size: alone, 1 node + Redis, 3 nodes + Redis, nothing lost."""

from __future__ import annotations

import json
import shutil

import pytest

pytestmark = pytest.mark.redis


def test_cluster_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    from bench.cluster import main

    assert main(["--clients", "9", "--senders", "3", "--messages", "20", "--full-receivers", "3", "--runs", "1"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    results = summary["results"]
    assert set(results) == {"alone", "1-node+redis", "3-nodes+redis"}
    for result in results.values():
        assert result["received"] == result["expected"] == 60 * 8
        assert result["out_of_order"] == 0
    assert set(results["3-nodes+redis"]["cpu_us_per_delivery_per_node"]) == {"n1", "n2", "n3"}
    assert results["3-nodes+redis"]["redis_cpu_us_per_message"] is not None


def test_redis_cluster_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server/redis-cli are not installed")
    from bench.rediscluster import main

    assert main(["--clients", "9", "--senders", "3", "--messages", "20", "--full-receivers", "3", "--runs", "1"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    results = summary["results"]
    assert set(results) == {"3-nodes+redis", "3-nodes+redis-cluster"}
    for result in results.values():
        assert result["received"] == result["expected"] == 60 * 8
        assert result["out_of_order"] == 0
    assert results["3-nodes+redis-cluster"]["redis_processes"] == 3
