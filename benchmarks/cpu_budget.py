"""Where the app's CPU goes under load: the same streams read by ever more of agentdeck's stack.

``tui_load.py`` measures the whole app; this script measures the floor under it. Every layer
reads the same streams from agentdeck's simulator (another process, paced per stream: 64
workers at 20k tokens/s in aggregate by default) and reports this process's CPU per token and
as a share of a core:

* socket: a bare asyncio protocol that sends the request and only counts the bytes (the cost
  of the kernel and the event loop waking up for each read: no library can go below it);
* aiohttp: aiohttp's ``readany`` loop, bytes thrown away (the HTTP library's share);
* parse: that loop plus agentdeck's SSE decoder and ``orjson.loads`` of every event;
* client: ``VLLMModel.stream`` (events, metrics, watchdog);
* system: ``MultiCallSystem`` with the run store writing transcripts and the app's
  ``LiveRun`` buffers, as the app runs it (no seed-style copies);
* app: the real app, headless, painting the grid (``tui_load.py``'s grid run).

Each layer runs in its own process, the layers alternate for ``--rounds`` rounds, and the
table shows medians. Read each row against the ones above it: their difference is what that
layer adds.

    python benchmarks/cpu_budget.py                     # 64 workers x 20k tok/s, 2 rounds
    python benchmarks/cpu_budget.py --workers 256 --rate 50000
    python benchmarks/cpu_budget.py --quick             # smoke test (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import tui_load  # the simulator process, the loop and the app run

LAYERS = ("socket", "aiohttp", "parse", "client", "system", "app")
NOT_TOKENS = 3
"""Events of a simulator stream that carry no token: the role chunk, the finish chunk, usage."""
now = time.monotonic


def request_body() -> bytes:
    import orjson

    return orjson.dumps({
        "model": tui_load.MODEL,
        "messages": [{"role": "user", "content": tui_load.PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
    })


async def read_socket(url: str, workers: int) -> int:
    """Bare protocol: write the request, count ``data:`` lines until the last chunk."""
    parts = urlsplit(url)
    body = request_body()
    head = (
        f"POST {parts.path}/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    counted = [0]

    class Counter(asyncio.Protocol):
        def __init__(self, done: asyncio.Future) -> None:
            self.done = done

        def data_received(self, data: bytes) -> None:
            counted[0] += data.count(b"data: {")
            if data.endswith(b"0\r\n\r\n") and not self.done.done():
                self.done.set_result(None)

        def connection_lost(self, exc: Exception | None) -> None:
            if not self.done.done():
                self.done.set_result(None)

    async def one() -> None:
        done = loop.create_future()
        transport, _ = await loop.create_connection(lambda: Counter(done), parts.hostname, parts.port)
        transport.write(head + body)
        await done
        transport.close()

    await asyncio.gather(*(one() for _ in range(workers)))
    return counted[0] - NOT_TOKENS * workers


async def read_aiohttp(url: str, workers: int, parse: bool) -> int:
    """aiohttp's read loop; with ``parse``, SSE-decoded and every event parsed."""
    import aiohttp
    import orjson

    from agentdeck.client.sse import SSEDecoder

    body = request_body()
    tokens = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one() -> None:
            nonlocal tokens
            async with session.post(f"{url}/chat/completions", data=body,
                                    headers={"Content-Type": "application/json"}) as response:
                feed = SSEDecoder().feed
                while raw := await response.content.readany():
                    if not parse:
                        tokens += raw.count(b"data: {")
                        continue
                    for data in feed(raw):
                        if data != b"[DONE]":
                            choices = orjson.loads(data).get("choices")
                            if choices and choices[0].get("delta", {}).get("content"):
                                tokens += 1
            if not parse:
                tokens -= NOT_TOKENS

        await asyncio.gather(*(one() for _ in range(workers)))
    return tokens


async def read_client(url: str, workers: int) -> int:
    from agentdeck.client.vllm import VLLMModel
    from agentdeck.events import Delta

    messages = [{"role": "user", "content": tui_load.PROMPT}]
    tokens = 0
    async with VLLMModel(tui_load.MODEL, url) as model:

        async def one() -> None:
            nonlocal tokens
            async for event in model.stream(messages):
                if type(event) is Delta:
                    tokens += event.tokens

        await asyncio.gather(*(one() for _ in range(workers)))
    return tokens


async def read_system(url: str, workers: int) -> int:
    return (await tui_load.pipeline(url, workers))["tokens"]


def child(layer: str, workers: int, rate: float, seconds: float) -> dict:
    if layer == "app":
        res = tui_load.child_grid(workers, rate, seconds)
        lost = res["lost_chars"] + res["wrong"] + res["wrong_disk"]
        return {"us": res["cpu_per_token"] * 1e6, "core": res["core"], "lost": lost}
    per_stream = rate / workers
    knobs = {"tokens_per_s": per_stream, "ttft": 0.05, "output_tokens": max(10, int(per_stream * seconds)),
             "seed": 1, "models": [tui_load.MODEL]}
    run = {
        "socket": read_socket,
        "aiohttp": lambda url, n: read_aiohttp(url, n, parse=False),
        "parse": lambda url, n: read_aiohttp(url, n, parse=True),
        "client": read_client,
        "system": read_system,
    }[layer]

    # Imports are paid before the clock starts.
    import aiohttp  # noqa: F401
    import orjson  # noqa: F401

    import agentdeck.client.vllm
    import agentdeck.store.recorder
    import agentdeck.store.runs
    import agentdeck.systems.multi
    import agentdeck.tui.live  # noqa: F401

    async def timed(url: str) -> tuple[float, float, int]:
        cpu0, t0 = time.process_time(), now()
        tokens = await run(url, workers)
        return time.process_time() - cpu0, now() - t0, tokens

    with tui_load.sim_process(knobs) as url:
        cpu, wall, tokens = tui_load.run_loop(timed(url))
    want = knobs["output_tokens"] * workers
    return {"us": cpu / max(1, tokens) * 1e6, "core": cpu / wall, "lost": abs(want - tokens)}  # missing or extra


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--rate", type=float, default=20000, help="aggregate tokens/s")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="tiny run for the CI smoke test")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.workers, args.rate, args.seconds, args.rounds = 8, 2000, 1.0, 1
    if args.child:
        print(json.dumps(child(args.child, args.workers, args.rate, args.seconds)))
        return 0
    results: dict[str, list[dict]] = {layer: [] for layer in LAYERS}
    for _ in range(args.rounds):
        for layer in LAYERS:
            results[layer].append(tui_load.run_child(["--child", layer, "--workers", str(args.workers),
                                                      "--rate", str(args.rate), "--seconds", str(args.seconds)],
                                                     script=__file__))
    print(f"\n{args.workers} workers x {args.rate:g} tokens/s in aggregate (simulator in another process), "
          f"~{args.seconds:g} s each, medians of {args.rounds} alternating rounds\n")
    print(f"{'layer':8} {'us/token':>9} {'core':>6} {'adds':>7} {'of app':>7}")
    bad = False
    rows: dict[str, tuple[float, float]] = {}
    for layer in LAYERS:
        runs = results[layer]
        failed = [r for r in runs if "error" in r]
        if failed:
            print(f"{layer:8} FAILED: {failed[0]['error']}")
            bad = True
            continue
        bad |= any(r["lost"] for r in runs)
        rows[layer] = (statistics.median(r["us"] for r in runs), statistics.median(r["core"] for r in runs))
    app_us = rows.get("app", (float("nan"), 0))[0]
    previous = 0.0
    for layer, (us, core) in rows.items():
        print(f"{layer:8} {us:9.1f} {core:6.0%} {us - previous:+7.1f} {us / app_us:7.0%}")
        previous = us
    floor = rows.get("parse", (float("nan"), float("nan")))[1]
    app = rows.get("app", (float("nan"), float("nan")))[1]
    print(f"\ncpu_budget: {args.workers}x{args.rate / 1000:g}k: reading and parsing alone {floor:.0%} of a core, "
          f"the app {app:.0%}{'; A LAYER READ THE WRONG NUMBER OF TOKENS' if bad else ''}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
