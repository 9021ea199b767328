"""``python -m bench.rediscluster``: the cluster fan-out on one Redis vs a 3-master Redis Cluster.

Three ``tcpchat server`` nodes either way, the same clients (spread evenly, senders too), runs
interleaved, the median per setup, one JSON line with the ratio. What it shows: the price of
redis-py's cluster client, whose pipelines refuse PUBLISH/EVALSHA, so each channel run goes on
its own round trip (``tcp_server/cluster/rcluster.py``). Redis CPU is summed over the shards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .cluster import HOST, _fanout, _free_port, _start_node, _start_redis, fanout_args
from .procstat import cpu_seconds, raise_fd_limit
from .report import interleaved_medians

MASTERS = 3
STARTUP = 30.0


def _start_redis_cluster(root: Path) -> tuple[list[subprocess.Popen[bytes]], str]:
    """Three masters on free ports (and free cluster-bus ports), joined by ``redis-cli``."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        raise SystemExit("redis-server/redis-cli are not installed (scripts/system-deps)")
    ports = [_free_port() for _ in range(MASTERS)]
    procs = []
    for port in ports:
        where = root / str(port)
        where.mkdir()
        procs.append(subprocess.Popen(
            [server, "--port", str(port), "--cluster-port", str(_free_port()), "--bind", HOST,
             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--dir", str(where),
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
    deadline = time.monotonic() + STARTUP
    for port in ports:
        while subprocess.run([cli, "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() != "PONG":
            if time.monotonic() > deadline:
                raise SystemExit("redis-server (cluster mode) did not start")
            time.sleep(0.05)
    subprocess.run([cli, "--cluster", "create", *(f"{HOST}:{p}" for p in ports), "--cluster-replicas", "0",
                    "--cluster-yes"], check=True, capture_output=True, timeout=STARTUP)
    while not all("cluster_state:ok" in subprocess.run([cli, "-p", str(p), "cluster", "info"], capture_output=True,
                                                        text=True).stdout for p in ports):
        if time.monotonic() > deadline:
            raise SystemExit("the Redis Cluster never reported cluster_state:ok")
        time.sleep(0.1)
    return procs, f"redis://{HOST}:{ports[0]}"


def run_config(sharded: bool, a: argparse.Namespace) -> dict[str, object]:
    """Start Redis (or a Redis Cluster) and three nodes, run one fan-out, stop everything."""
    procs: list[subprocess.Popen[str] | subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="tcpchat-rc-") as root:
        try:
            if sharded:
                redis, url = _start_redis_cluster(Path(root))
            else:
                one, url = _start_redis()
                redis = [one]
            procs += redis
            nodes, ports = {}, []
            for i in range(3):
                proc, port = _start_node(url, f"n{i + 1}")
                procs.append(proc)
                nodes[f"n{i + 1}"] = proc.pid
                ports.append(port)
            before = sum(cpu_seconds(p.pid) for p in redis)
            result = asyncio.run(asyncio.wait_for(_fanout(ports, nodes, a), a.timeout))
            redis_cpu = sum(cpu_seconds(p.pid) for p in redis) - before
            sent = int(result["sent"])  # type: ignore[call-overload]
            result["redis_cpu_us_per_message"] = round(redis_cpu * 1e6 / max(1, sent), 2)
            result["redis_processes"] = len(redis)
            return result
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    ap = fanout_args("python -m bench.rediscluster", __doc__.splitlines()[0], clients=90, messages=300)
    a = ap.parse_args(argv)
    raise_fd_limit(a.clients * 4 + 200)
    results = interleaved_medians(
        {name: (lambda cluster=cluster: run_config(cluster, a))
         for name, cluster in (("3-nodes+redis", False), ("3-nodes+redis-cluster", True))},
        a.runs,
    )
    base = results["3-nodes+redis"]["deliveries_per_s"] or 1
    print(json.dumps({
        "scenario": "cluster-fanout-redis-cluster", "results": results,
        "ratio_cluster_vs_single_redis": round(results["3-nodes+redis-cluster"]["deliveries_per_s"] / base, 3),  # type: ignore[operator]
    }), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
