"""Account login cost: the KDF per check, SASL PLAIN logins/s and REGISTERs/s through a real server.

``python -m bench.accounts_bench [--connections 40] [--workers 1,2] [--scrypt-n 16384]`` prints one
JSON line. The server runs as its own process (``tcpchat server``, history on, a temporary data
dir, guessing limits raised so the bench is not refused). Each figure comes with its reference
from the same run: the bare KDF rate in this process (one check at a time), so the ratio says
how close the server comes to what its ``kdf_workers`` threads could do on this (shared) machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import sys
import tempfile
import time

from tcp_server.accounts import hash_password, scram_keys, verify_password

from .targets import ROOT, start_ours

TIMEOUT = 60.0


async def _line_until(reader: asyncio.StreamReader, *wanted: str) -> str:
    """Read lines until one whose command (2nd word) is in ``wanted``; returns that command."""
    while True:
        raw = await reader.readline()
        if not raw:
            raise ConnectionError("closed")
        words = raw.decode("utf-8", "replace").split()
        if len(words) > 1 and words[1] in wanted:
            return words[1]


async def _register(port: int, nick: str, password: str) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"NICK {nick}\r\nUSER {nick} 0 * :b\r\n".encode())
    await _line_until(reader, "376", "422")
    start = time.perf_counter()
    writer.write(f"REGISTER * * :{password}\r\n".encode())
    await _line_until(reader, "900", "FAIL")
    took = time.perf_counter() - start
    writer.write(b"QUIT\r\n")
    writer.close()
    return took


async def _login(port: int, nick: str, password: str) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    creds = base64.b64encode(f"{nick}\0{nick}\0{password}".encode()).decode()
    writer.write(f"CAP REQ sasl\r\nNICK {nick}\r\nUSER {nick} 0 * :b\r\nAUTHENTICATE PLAIN\r\n".encode())
    await _line_until(reader, "AUTHENTICATE")
    start = time.perf_counter()
    writer.write(f"AUTHENTICATE {creds}\r\n".encode())
    result = await _line_until(reader, "903", "904")
    took = time.perf_counter() - start
    writer.write(b"QUIT\r\n")
    writer.close()
    if result != "903":
        raise RuntimeError(f"login of {nick} failed")
    return took


async def _phase(port: int, fn, nicks: list[str], password: str) -> tuple[float, list[float]]:
    start = time.perf_counter()
    took = await asyncio.wait_for(asyncio.gather(*(fn(port, n, password) for n in nicks)), TIMEOUT)
    return time.perf_counter() - start, sorted(took)


def _kdf_reference(n: int, rounds: int = 10) -> dict[str, float]:
    encoded = hash_password("benchmark password", n)
    start = time.perf_counter()
    for _ in range(rounds):
        verify_password("benchmark password", encoded)
    verify = (time.perf_counter() - start) / rounds
    start = time.perf_counter()
    for _ in range(rounds):
        hash_password("benchmark password", n)
        scram_keys("benchmark password", 4096)
    create = (time.perf_counter() - start) / rounds
    return {"kdf_verify_ms": round(verify * 1000, 2), "kdf_register_ms": round(create * 1000, 2)}


async def _run(connections: int, workers: int, scrypt_n: int) -> dict[str, float]:
    data = tempfile.mkdtemp(prefix="bench-accounts-")
    flags = (
        "--flood-rate", "0", "--log-level", "WARNING", "--data-dir", data, "--max-clients-per-ip", "0",
        "--account-scrypt-n", str(scrypt_n), "--kdf-workers", str(workers),
        "--auth-attempts-per-ip", "1000000", "--auth-in-flight-per-ip", "1000000",
        "--auth-in-flight-total", "1000000",
    )
    server = start_ours(f"accounts-w{workers}", ROOT, flags)
    try:
        nicks = [f"user{i}" for i in range(connections)]
        reg_s, reg = await _phase(server.port, _register, nicks, "benchmark password")
        log_s, logins = await _phase(server.port, _login, nicks, "benchmark password")
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
    return {
        "workers": workers,
        "registrations_per_s": round(connections / reg_s, 1),
        "logins_per_s": round(connections / log_s, 1),
        "login_p50_ms": round(logins[len(logins) // 2] * 1000, 1),
        "login_max_ms": round(logins[-1] * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.accounts_bench", description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=40, help="accounts registered, then logged in, at once")
    ap.add_argument("--workers", default="1,2", help="kdf_workers values to compare")
    ap.add_argument("--scrypt-n", type=int, default=2**14, help="account_scrypt_n (the server's default)")
    args = ap.parse_args(argv)
    reference = _kdf_reference(args.scrypt_n)
    runs = [asyncio.run(_run(args.connections, int(w), args.scrypt_n)) for w in args.workers.split(",")]
    ideal = 1000 / reference["kdf_verify_ms"]
    for run in runs:
        run["logins_vs_bare_kdf"] = round(run["logins_per_s"] / (ideal * run["workers"]), 2)
    print(json.dumps({"scenario": "accounts", "scrypt_n": args.scrypt_n, "connections": args.connections,
                      **reference, "bare_kdf_checks_per_s": round(ideal, 1), "runs": runs}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
