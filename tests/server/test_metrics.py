"""The TCP server's Prometheus exporter on ``metrics_port``: scraped over real HTTP."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ..support import RawClient


def metrics_port(server) -> int:  # type: ignore[no-untyped-def]
    return next(p for _, p, kind in server.addresses if kind == "metrics")


async def scrape(port: int) -> dict[str, float]:
    """Every sample of ``/metrics`` as {name{labels}: value}."""
    async with httpx.AsyncClient(timeout=5) as http:
        resp = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


async def test_metrics_count_connections_messages_bytes_and_kills(make_server) -> None:
    server = await make_server(metrics_port=0, oper_password="opw")
    port = metrics_port(server)
    before = await scrape(port)
    assert before["tcpchat_connections{transport=tcp}"] == 0
    assert before["tcpchat_kills_total"] == 0

    alice = await (await RawClient.connect(server.port)).register("alice")
    bob = await (await RawClient.connect(server.port)).register("bob")
    await alice.join("#m")
    await bob.join("#m")
    for i in range(5):
        await alice.send(f"PRIVMSG #m :hello {i}")
    for _ in range(5):
        await bob.expect("PRIVMSG")
    during = await scrape(port)
    assert during["tcpchat_connections{transport=tcp}"] == 2
    assert during["tcpchat_registered_clients"] == 2
    assert during["tcpchat_channels"] == 1
    assert during["tcpchat_chat_messages_total"] == 5
    assert during["tcpchat_connections_accepted_total"] == 2
    assert during["tcpchat_received_bytes_total"] > before["tcpchat_received_bytes_total"]
    assert during["tcpchat_sent_bytes_total"] > 0
    assert during["tcpchat_lines_received_total"] >= 5 + 4

    await alice.send("OPER admin opw")
    await alice.expect("381")
    await alice.send("KILL bob :spam")
    await bob.read_until_closed()
    await alice.close()
    for _ in range(100):
        after = await scrape(port)
        if after["tcpchat_connections{transport=tcp}"] == 0:
            break
        await asyncio.sleep(0.02)
    assert after["tcpchat_kills_total"] == 1
    assert after["tcpchat_connections{transport=tcp}"] == 0
    # totals survive the clients' departure
    assert after["tcpchat_received_bytes_total"] >= during["tcpchat_received_bytes_total"]
    assert after["tcpchat_chat_messages_total"] == 5
    assert "process_resident_memory_bytes" in after
    assert after["tcpchat_history_enabled"] == 0


async def test_metrics_endpoint_rejects_other_paths_methods_and_garbage(make_server) -> None:
    server = await make_server(metrics_port=0)
    port = metrics_port(server)
    async with httpx.AsyncClient(timeout=5) as http:
        assert (await http.get(f"http://127.0.0.1:{port}/nope")).status_code == 404
        assert (await http.post(f"http://127.0.0.1:{port}/metrics")).status_code == 405
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"\x00\x01garbage\r\n\r\n")
    await writer.drain()
    reply = await asyncio.wait_for(reader.read(), 5)
    assert reply.startswith(b"HTTP/1.1 400")
    writer.close()
    # the server is still serving after the garbage
    assert (await scrape(port))["tcpchat_connections{transport=tcp}"] == 0


async def test_metrics_oversized_request_is_refused(make_server) -> None:
    server = await make_server(metrics_port=0)
    port = metrics_port(server)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    await writer.drain()
    reply = await asyncio.wait_for(reader.read(), 5)
    assert reply.startswith(b"HTTP/1.1 431")
    writer.close()


async def test_metrics_port_closes_on_shutdown(make_server) -> None:
    server = await make_server(metrics_port=0)
    port = metrics_port(server)
    await scrape(port)
    await server.shutdown()
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    writer.close()
    raise AssertionError("metrics port still accepting after shutdown")


async def test_metrics_port_flag_of_the_real_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import re

    from ..support import ServerProcess

    proc = ServerProcess("--metrics-port", "0", "--no-history", "--data-dir", str(tmp_path)).start()
    try:
        assert proc.proc is not None and proc.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.proc.stdout.readline), 10)
        match = re.match(r"metrics listening on 127\.0\.0\.1:(\d+)", line)
        assert match, line
        client = await (await RawClient.connect(proc.port)).register("probe")
        got = await scrape(int(match.group(1)))
        assert got["tcpchat_registered_clients"] == 1
        await client.close()
    finally:
        assert proc.stop() == 0
