"""How the chat page keeps up with a burst of lines, in real Chromium (issue 17).

``python -m bench.page_burst [--sizes 1000,5000] [--rates 10,100 --seconds 10] [--reference ../main]`` starts ``tcpchat
server`` (flood control off) and ``tcpchat gateway`` as child processes on free loopback ports,
opens the page in headless Chromium (Playwright, /usr/bin/chromium) signed in to two rooms, and has
a TCP client send bursts of N lines at once into the room in view and into a room not in view,
then a steady rate (each of ``--rates`` lines/s) for ``--seconds``. For each run it reports:

- ``visible_s``: seconds from the first line sent until the last line is in the document (in view)
  or counted in the room's unread badge (not in view), and for the latter ``open_s``, until the
  last line is shown after clicking the room;
- ``longest_task_ms`` (Long Tasks API), ``max_timer_lag_ms`` (how late a 20 ms timer ran) and
  ``max_input_delay_ms`` (keys are typed into the message box every 50 ms during the run: the
  longest wait of a keydown before the page handled it), ``frames`` and ``slow_frames`` (gaps
  over 50 ms between two animation frames);
- ``dom_nodes`` (whole document), ``message_nodes`` (items in the list) and ``heap_mb`` at the end;
- ``lost`` / ``twice``: lines of the burst missing from / repeated in the page's model.

With ``--reference PATH`` (another checkout with its own ``.venv``, e.g. the commit before the
incremental page), that checkout's server, gateway and page get one ``--reference-size`` burst into
the room in view first, and the summary gives its time over ours for the same burst.

Prints one JSON line per run and a summary line. Absolute times drift on a shared machine;
compare runs made one after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .gateway_hop import _LISTENING, ROOT, START_TIMEOUT

CHROMIUM = os.environ.get("TCPCHAT_CHROMIUM", "/usr/bin/chromium")
IN_VIEW, HIDDEN = "#burst", "#other"
TYPE_EVERY_S = 0.05
VISIBLE_TIMEOUT_S = float(os.environ.get("PAGE_BURST_TIMEOUT", "60"))
PROBE = """
window.__bench = {longest: 0, lag: 0, input: 0, frames: 0, slowFrames: 0};
document.addEventListener("keydown", (e) => {
  window.__bench.input = Math.max(window.__bench.input, performance.now() - e.timeStamp);
}, true);
(function frame(last) {
  requestAnimationFrame((now) => {
    window.__bench.frames += 1;
    if (now - last > 50) window.__bench.slowFrames += 1;  // three or more frames missed
    frame(now);
  });
})(performance.now());
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__bench.longest = Math.max(window.__bench.longest, e.duration);
}).observe({type: "longtask", buffered: true});
(function tick(last) {
  setTimeout(() => {
    const now = performance.now();
    window.__bench.lag = Math.max(window.__bench.lag, now - last - 20);
    tick(now);
  }, 20);
})(performance.now());
"""
STATS = """([room]) => {
  const b = window.__bench;
  const texts = [...document.querySelectorAll('#messages .message .text')].map(n => n.textContent);
  return {
    longest_task_ms: Math.round(b.longest), max_timer_lag_ms: Math.round(b.lag),
    max_input_delay_ms: Math.round(b.input), frames: b.frames, slow_frames: b.slowFrames,
    dom_nodes: document.getElementsByTagName('*').length,
    message_nodes: document.querySelectorAll('#messages > li').length,
    heap_mb: performance.memory ? +(performance.memory.usedJSHeapSize / 2 ** 20).toFixed(1) : null,
    shown: texts,
  };
}"""


def _start(python: str, cwd: Path, args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """``tcpchat <args>`` of the checkout ``cwd`` (its own venv's ``python``) on a free port."""
    proc = subprocess.Popen([python, "-m", "tcpchat", *args], stdout=subprocess.PIPE, env=env, cwd=cwd)
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = _LISTENING.search(line)
        if match:
            return proc, int(match.group(1))
    proc.kill()
    raise RuntimeError(f"tcpchat {args[0]} did not start in {cwd}")


async def _sender(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
    writer.write(f"NICK bot\r\nUSER bot 0 * :bot\r\nJOIN {IN_VIEW}\r\nJOIN {HIDDEN}\r\n".encode())
    seen = 0
    while seen < 2:
        if b" 366 " in await reader.readline():
            seen += 1
    asyncio.get_running_loop().create_task(_drain(reader))
    return reader, writer


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.readline():
        pass


def _lines(room: str, tag: str, n: int) -> bytes:
    return "".join(f"PRIVMSG {room} :{tag} line {i:05d} of a busy room\r\n" for i in range(n)).encode()


async def _reset(page: Any) -> None:
    await page.evaluate("() => Object.assign(window.__bench, {longest: 0, lag: 0, input: 0, frames: 0, slowFrames: 0})")


async def _typist(page: Any, done: asyncio.Event) -> None:
    """Types into the message box while a run lasts (keydown delay = how long a key waits)."""
    await page.focus("#message-input")
    while not done.is_set():
        await page.keyboard.press("x")
        await asyncio.sleep(TYPE_EVERY_S)
    await page.fill("#message-input", "")


async def _burst(page: Any, writer: asyncio.StreamWriter, room: str, n: int, tag: str) -> dict[str, Any]:
    await _reset(page)
    last = f"{tag} line {n - 1:05d} of a busy room"
    done = asyncio.Event()
    typist = asyncio.create_task(_typist(page, done))
    started = time.perf_counter()
    writer.write(_lines(room, tag, n))
    await writer.drain()
    result: dict[str, Any] = {"run": "burst", "room": "in view" if room == IN_VIEW else "not in view", "lines": n}
    if room == IN_VIEW:
        await page.wait_for_function(
            "t => [...document.querySelectorAll('#messages .message .text')].some(x => x.textContent === t)",
            arg=last, polling="raf", timeout=VISIBLE_TIMEOUT_S * 1000)
        result["visible_s"] = round(time.perf_counter() - started, 3)
        done.set()
        await typist
    else:
        await page.wait_for_function(
            "([key, n]) => { const b = document.querySelector(`[data-key='${key}'] .unread`);"
            " return b && Number(b.textContent) >= n; }",
            arg=[f"room:{room}", n], polling="raf", timeout=VISIBLE_TIMEOUT_S * 1000)
        result["visible_s"] = round(time.perf_counter() - started, 3)
        done.set()
        await typist
        opened = time.perf_counter()
        await page.click(f"[data-key='room:{room}']")
        await page.wait_for_function(
            "t => [...document.querySelectorAll('#messages .message .text')].some(x => x.textContent === t)",
            arg=last, polling="raf", timeout=VISIBLE_TIMEOUT_S * 1000)
        result["open_s"] = round(time.perf_counter() - opened, 3)
    stats = await page.evaluate(STATS, [room])
    shown = stats.pop("shown")
    result.update(stats)
    result.update(await _model_counts(page, room, tag, n))
    result["shown_of_burst"] = sum(1 for t in shown if t.startswith(f"{tag} line "))
    if room != IN_VIEW:
        await page.click(f"[data-key='room:{IN_VIEW}']")
    return result


async def _model_counts(page: Any, room: str, tag: str, n: int) -> dict[str, int]:
    """Lost and doubled lines, counted in the page's model (the document holds only a window)."""
    counts = await page.evaluate(
        """([key, prefix]) => {
          if (!window.__tcpchat) return {distinct: null, twice: null};  // a page before this bench
          const conv = window.__tcpchat.store.conversations.get(key);
          const seen = new Map();
          for (const m of conv.messages) if (m.text && m.text.startsWith(prefix)) seen.set(m.text, (seen.get(m.text) || 0) + 1);
          return {distinct: seen.size, twice: [...seen.values()].filter(v => v > 1).length};
        }""",
        [f"room:{room}", f"{tag} line "],
    )
    if counts["distinct"] is None:
        return {"lost": None, "twice": None}
    return {"lost": n - counts["distinct"], "twice": counts["twice"]}


async def _steady(page: Any, writer: asyncio.StreamWriter, rate: float, seconds: float) -> dict[str, Any]:
    await _reset(page)
    n = int(rate * seconds)
    tag = f"steady{rate:g}"
    done = asyncio.Event()
    typist = asyncio.create_task(_typist(page, done))
    started = time.perf_counter()
    for i in range(n):
        writer.write(f"PRIVMSG {IN_VIEW} :{tag} line {i:05d} of a busy room\r\n".encode())
        await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
    last = f"{tag} line {n - 1:05d} of a busy room"
    await page.wait_for_function(
        "t => [...document.querySelectorAll('#messages .message .text')].some(x => x.textContent === t)",
        arg=last, polling="raf", timeout=VISIBLE_TIMEOUT_S * 1000)
    done.set()
    await typist
    result: dict[str, Any] = {"run": "steady", "rate": rate, "seconds": seconds, "lines": n,
                              "last_visible_after_s": round(time.perf_counter() - started - seconds, 3)}
    stats = await page.evaluate(STATS, [IN_VIEW])
    stats.pop("shown")
    result.update(stats)
    result.update(await _model_counts(page, IN_VIEW, tag, n))
    return result


async def run(sizes: list[int], rates: list[float], seconds: float, checkout: Path = ROOT,
              rooms: tuple[str, ...] = (IN_VIEW, HIDDEN)) -> list[dict[str, Any]]:
    from playwright.async_api import async_playwright

    env = {**os.environ, "TCPCHAT_WEBIRC_PASSWORD": secrets.token_urlsafe(16), "TCPCHAT_LOG_LEVEL": "WARNING"}
    data = tempfile.mkdtemp(prefix="page_burst-")
    python = str(checkout / ".venv" / "bin" / "python") if checkout != ROOT else sys.executable
    server, irc_port = _start(python, checkout, ["server", "--port", "0", "--flood-rate", "0", "--data-dir", data], env)
    gateway, web_port = _start(python, checkout, ["gateway", "--port", "0", "--irc-port", str(irc_port)], env)
    results: list[dict[str, Any]] = []
    try:
        _, writer = await _sender(irc_port)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--enable-precise-memory-info"])
            page = await browser.new_page(viewport={"width": 1100, "height": 700})
            await page.add_init_script(PROBE)
            await page.goto(f"http://127.0.0.1:{web_port}/?bench=1")
            await page.fill("#nick-input", "viewer")
            await page.fill("#login-room", HIDDEN)
            await page.press("#nick-input", "Enter")
            await page.wait_for_function(f"() => document.getElementById('room-title').textContent === '{HIDDEN}'")
            await page.fill("#message-input", f"/join {IN_VIEW}")
            await page.press("#message-input", "Enter")
            await page.wait_for_function(f"() => document.getElementById('room-title').textContent === '{IN_VIEW}'")
            for n in sizes:
                for room in rooms:
                    tag = f"b{n}{'v' if room == IN_VIEW else 'h'}"
                    result = await _burst(page, writer, room, n, tag)
                    if checkout != ROOT:
                        result["page"] = f"reference {checkout}"
                    print(json.dumps(result), flush=True)
                    results.append(result)
            for rate in rates:
                if rate > 0 and seconds > 0:
                    result = await _steady(page, writer, rate, seconds)
                    print(json.dumps(result), flush=True)
                    results.append(result)
            await browser.close()
        writer.close()
    finally:
        for proc in (gateway, server):
            proc.terminate()
            proc.wait(10)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000", help="burst sizes, comma-separated")
    parser.add_argument("--rates", default="100", help="steady lines/s after the bursts, comma-separated ('': none)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the steady run lasts")
    parser.add_argument("--reference", type=Path, default=None,
                        help="another checkout (with its own .venv) whose page is measured in the same run")
    parser.add_argument("--reference-size", type=int, default=200,
                        help="burst into the room in view for the reference page (the old page is slow)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    reference: list[dict[str, Any]] = []
    if args.reference is not None:
        reference = asyncio.run(run([args.reference_size], [], 0, args.reference.resolve(), (IN_VIEW,)))
        if args.reference_size not in sizes:  # ours at the same size, for the ratio
            sizes = [args.reference_size, *sizes]
    rates = [float(r) for r in args.rates.split(",") if r]
    results = asyncio.run(run(sizes, rates, args.seconds))
    bursts = [r for r in results if r["run"] == "burst"]
    print(json.dumps({
        "summary": "page_burst",
        "worst_visible_s": max((r["visible_s"] for r in bursts), default=None),
        "worst_longest_task_ms": max((r["longest_task_ms"] for r in results), default=None),
        "worst_input_delay_ms": max((r["max_input_delay_ms"] for r in results), default=None),
        "max_message_nodes": max((r["message_nodes"] for r in results), default=None),
        "lost": sum(r["lost"] for r in results), "twice": sum(r["twice"] for r in results),
        **_ratio(reference, results),
    }), flush=True)


def _ratio(reference: list[dict[str, Any]], ours: list[dict[str, Any]]) -> dict[str, Any]:
    """The reference page's time to the last line of its burst over ours for the same burst."""
    if not reference:
        return {}
    ref = reference[0]
    mine = next(r for r in ours if r["run"] == "burst" and r["room"] == "in view" and r["lines"] == ref["lines"])
    return {"reference_lines": ref["lines"], "reference_visible_s": ref["visible_s"],
            "reference_longest_task_ms": ref["longest_task_ms"],
            "reference_over_ours": round(ref["visible_s"] / max(mine["visible_s"], 1e-3), 1)}


if __name__ == "__main__":
    sys.exit(main())
