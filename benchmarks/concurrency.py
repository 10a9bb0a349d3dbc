"""Many concurrent streams: exact text, client CPU per chunk, event-loop lag, vs the openai SDK.

A server process (``_stream_server.py``) paces every stream like a busy vLLM server (one token
event every ``--interval`` seconds per stream, all streams live at once). For each level of
concurrency and each client, in alternating order, this process opens that many streams at
once and records: streams that completed with exactly the text sent, errors (pool timeouts
included) by type, its own CPU time per chunk, and the lag of a 10 ms ticker running beside
the streams (p50/p99: how late the event loop answers, e.g. a key press in the app).

    python benchmarks/concurrency.py                  # 1, 64, 256, 1000 streams
    python benchmarks/concurrency.py --levels 1,256 --clients agentdeck,openai,naive
    python benchmarks/concurrency.py --uvloop         # the same on uvloop (pip install uvloop)
    python benchmarks/concurrency.py --quick          # smoke test (CI)

Exits 1 if an agentdeck stream failed or any client got text that differs from what was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections import Counter

from _clients import (
    CLIENTS,
    expected_text,
    make_client,
    raise_fd_limit,
    server_process,
    usable,
)

TICK = 0.010


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default="1,64,256,1000", help="concurrent streams per level")
    ap.add_argument("--clients", default="agentdeck,openai", help=f"from {','.join(CLIENTS)}")
    ap.add_argument("--chunks", type=int, default=25, help="content chunks per stream")
    ap.add_argument("--interval", type=float, default=0.1,
                    help="seconds between a stream's chunks (0.1: a vLLM batch of 1000 at 100 ms a step)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds per level (median)")
    ap.add_argument("--uvloop", action="store_true", help="run this process's event loop on uvloop")
    ap.add_argument("--quick", action="store_true", help="tiny run for the CI smoke test")
    args = ap.parse_args(argv)
    if args.quick:
        args.levels, args.chunks, args.interval, args.rounds = "1,64", 10, 0.05, 1
    args.levels = [int(x) for x in args.levels.split(",") if x]
    args.clients = [c for c in args.clients.split(",") if c]
    args.clients = usable(args.clients)
    return args


async def ticker(lags: list[float]) -> None:
    """Sleep 10 ms at a time and record how late each wake-up is."""
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(TICK)
        lags.append(loop.time() - start - TICK)


async def sample(name: str, base_url: str, level: int, chunks: int) -> dict:
    """One level for one client: ``level`` streams at once, with the lag ticker beside them."""
    expected = expected_text(chunks)
    client = make_client(name, base_url, limit=level)
    gc.collect()
    lags: list[float] = []
    # The ticker's own wake-ups cost about as much as one idle stream, so the single-stream
    # figure (the baseline for "vs 1") is taken without it; with many streams it is noise.
    tick = asyncio.create_task(ticker(lags)) if level > 1 else None
    await asyncio.sleep(0)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    results = await asyncio.gather(*(client.one(chunks) for _ in range(level)), return_exceptions=True)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if tick is not None:
        tick.cancel()
    await client.close()
    errors = Counter(type(r).__name__ for r in results if isinstance(r, BaseException))
    exact = sum(1 for r in results if r == expected)
    mismatched = sum(1 for r in results if isinstance(r, str) and r != expected)
    lags.sort()
    return {
        "cpu": cpu / (level * chunks), "core": cpu / wall, "wall": wall, "exact": exact, "mismatched": mismatched,
        "errors": errors, "lag50": pct(lags, 50), "lag99": pct(lags, 99), "lagmax": lags[-1] if lags else 0.0,
    }


def pct(values: list[float], p: float) -> float:
    """The p-th percentile of sorted ``values`` (nearest rank); 0 when empty."""
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(len(values) * p / 100))]


async def run(args: argparse.Namespace, base_url: str) -> dict[tuple[str, int], list[dict]]:
    for name in args.clients:  # warm up imports and lazy caches outside the measurement
        client = make_client(name, base_url)
        await client.one(5)
        await client.close()
    out: dict[tuple[str, int], list[dict]] = {}
    for level in args.levels:
        for r in range(args.rounds):
            order = args.clients if r % 2 == 0 else args.clients[::-1]
            for name in order:
                out.setdefault((name, level), []).append(await sample(name, base_url, level, args.chunks))
    return out


def report(args: argparse.Namespace, out: dict[tuple[str, int], list[dict]]) -> tuple[str, bool]:
    """Print the table; return the summary line and whether any stream lost text or failed."""
    loop = "uvloop" if args.uvloop else "asyncio"
    print(f"\n[{loop}] {args.chunks}-chunk streams, one chunk per stream every {args.interval * 1000:.0f} ms, "
          f"{args.rounds} alternating round(s) per level (medians). core: client CPU / wall time; "
          "lag: how late a 10 ms ticker wakes (not run beside a single stream)\n")
    print(f"{'client':32} {'streams':>7} {'chunks/s':>8} {'exact':>11} {'errors':>10} {'us/chunk':>9} {'vs 1':>6} "
          f"{'core':>5} {'lag p50':>8} {'lag p99':>8} {'wall s':>7}")
    single: dict[str, float] = {}
    worst: dict[str, float] = {}
    worst_lag: dict[str, float] = {}
    bad = False
    for (name, level), runs in out.items():
        cpu = statistics.median(s["cpu"] for s in runs)
        lag50 = statistics.median(s["lag50"] for s in runs)
        lag99 = statistics.median(s["lag99"] for s in runs)
        lagmax = max(s["lagmax"] for s in runs)
        wall = statistics.median(s["wall"] for s in runs)
        core = statistics.median(s["core"] for s in runs)
        exact = sum(s["exact"] for s in runs)
        total = level * len(runs)
        errors = sum((s["errors"] for s in runs), Counter())
        mismatched = sum(s["mismatched"] for s in runs)
        bad |= mismatched > 0 or (name.startswith("agentdeck") and exact < total)
        if level == min(args.levels):
            single[name] = cpu
        ratio = cpu / single[name] if name in single else float("nan")
        if level != min(args.levels):
            worst[name] = max(worst.get(name, 0.0), ratio)
        worst_lag[name] = max(worst_lag.get(name, 0.0), lag99)
        err = ",".join(f"{k}x{v}" for k, v in errors.items()) or "0"
        lags = (f"{lag50 * 1000:6.1f}ms {lag99 * 1000:6.1f}ms {lagmax * 1000:6.0f}ms" if level > 1
                else f"{'-':>8} {'-':>8} {'-':>8}")
        print(f"{CLIENTS[name].label:32} {level:7} {level / args.interval:8.0f} {exact:5}/{total:<5} {err:>10} "
              f"{cpu * 1e6:9.1f} {ratio:5.2f}x {core:5.0%} {lags} {wall:7.2f}")
    parts = []
    for name in args.clients:
        scale = worst.get(name)
        parts.append(f"{name} worst CPU/chunk {scale:.2f}x single-stream, lag p99 <= {worst_lag[name] * 1000:.0f} ms"
                     if scale is not None else f"{name} lag p99 <= {worst_lag[name] * 1000:.0f} ms")
    verdict = ""
    if "agentdeck" in worst:
        ok = worst["agentdeck"] <= 1.5 and worst_lag["agentdeck"] < 0.050 and not bad
        verdict = f" (target <=1.5x, p99 < 50 ms, all exact): {'MET' if ok else 'MISSED'}"
    return f"concurrency up to {max(args.levels)} streams: " + "; ".join(parts) + verdict, bad


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit()
    with server_process(interval=args.interval) as base_url:
        if args.uvloop:
            import uvloop

            out = uvloop.run(run(args, base_url))
        else:
            out = asyncio.run(run(args, base_url))
    summary, bad = report(args, out)
    print("\n" + summary)
    if bad:
        print("FAILED: a stream lost or changed text, or an agentdeck stream failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
