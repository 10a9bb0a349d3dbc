"""A fleet through vLLM's own router: 256 streams via ``vllm-router`` to 2 simulator replicas.

Two simulator replicas (``_sim_server.py``), each in its own process, and ``vllm-router
--policy round_robin`` in a third. This process opens ``--streams`` agentdeck streams at once,
first split by hand over the replicas (the baseline: same server load, no router), then through
the router, alternating. Each row records what ``concurrency.py`` does (streams that ended with
exactly the text the simulator sent, errors by type, this process's CPU per chunk, the lag of a
10 ms ticker) and the spread: the streams each replica served, read from its /metrics
(``vllm:generation_tokens_total`` before and after, over the tokens of one stream).

    python benchmarks/fleet.py                    # 256 streams
    python benchmarks/fleet.py --streams 64 --chunks 50 --interval 0.05
    python benchmarks/fleet.py --quick            # smoke test (CI): 16 streams

Exits 1 if a stream failed, any text differs, or a replica served nothing through the router.
Skips (exit 0) when ``vllm-router`` is not installed (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from _clients import MESSAGES, MODEL, make_client, raise_fd_limit
from concurrency import pct, ticker

HERE = Path(__file__).resolve().parent
TOKENS = re.compile(r"^vllm:generation_tokens_total\{[^}]*\} (\S+)$", re.MULTILINE)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=256, help="concurrent streams (at most 2000)")
    ap.add_argument("--chunks", type=int, default=25, help="content tokens per stream")
    ap.add_argument("--interval", type=float, default=0.1, help="seconds between a stream's tokens")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds per path")
    ap.add_argument("--quick", action="store_true", help="tiny run for the CI smoke test")
    args = ap.parse_args(argv)
    if args.quick:
        args.streams, args.chunks, args.interval, args.rounds = 16, 10, 0.05, 1
    if not 1 <= args.streams <= 2000 or args.chunks < 1 or args.interval <= 0:
        ap.error("--streams 1..2000, --chunks >= 1, --interval > 0")
    return args


def router_binary() -> str | None:
    beside = Path(sys.executable).parent / "vllm-router"
    return str(beside) if beside.exists() else shutil.which("vllm-router")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of another process, from /proc (0 where there is none)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen) -> None:
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def replica(knobs: dict) -> Iterator[tuple[str, int]]:
    """One simulator in its own process: yields (root URL without /v1, pid)."""
    cmd = [sys.executable, str(HERE / "_sim_server.py"), json.dumps(knobs)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line.startswith("URL "):
            raise RuntimeError(f"simulator failed to start: {line!r}")
        yield line.split()[1].removesuffix("/v1"), proc.pid
    finally:
        proc.stdin.close()  # type: ignore[union-attr]  # it exits when its stdin closes
        stop(proc)


@contextmanager
def router(binary: str, workers: list[str]) -> Iterator[tuple[str, int]]:
    """``vllm-router`` round-robin over ``workers`` on loopback: yields (base URL, pid)."""
    port = free_port()
    cmd = [binary, "--host", "127.0.0.1", "--port", str(port), "--policy", "round_robin",
           "--worker-urls", *workers, "--log-level", "warning", "--prometheus-host", "127.0.0.1",
           "--prometheus-port", str(free_port())]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"vllm-router exited: {proc.stderr.read()[-800:]!r}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(url + "/models", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("vllm-router did not come up in 20 s")
            time.sleep(0.05)
        yield url, proc.pid
    finally:
        proc.terminate()
        stop(proc)


def tokens_served(root: str) -> float:
    """The replica's ``vllm:generation_tokens_total``, read from its /metrics."""
    with urllib.request.urlopen(root + "/metrics", timeout=5) as resp:
        match = TOKENS.search(resp.read().decode())
    if match is None:
        raise RuntimeError(f"{root}/metrics has no vllm:generation_tokens_total")
    return float(match.group(1))


async def sample(path: str, urls: list[str], roots: list[str], pids: list[int], args: argparse.Namespace,
                 expected: str) -> dict:
    """``args.streams`` streams at once over ``urls`` (one URL: the router), the ticker beside them."""
    clients = [make_client("agentdeck", url, limit=args.streams) for url in urls]
    before = [tokens_served(r) for r in roots]
    gc.collect()
    lags: list[float] = []
    tick = asyncio.create_task(ticker(lags))
    await asyncio.sleep(0)
    others0 = [cpu_seconds(p) for p in pids]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    bound = 60 + 3 * args.chunks * args.interval
    calls = [clients[i % len(clients)].one(args.chunks) for i in range(args.streams)]
    results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), bound)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    others = [cpu_seconds(p) - c for p, c in zip(pids, others0, strict=True)]
    tick.cancel()
    for client in clients:
        await client.close()
    served = [round((tokens_served(r) - b) / args.chunks) for r, b in zip(roots, before, strict=True)]
    lags.sort()
    return {
        "path": path, "exact": sum(1 for r in results if r == expected),
        "mismatched": sum(1 for r in results if isinstance(r, str) and r != expected),
        "errors": Counter(type(r).__name__ for r in results if isinstance(r, BaseException)),
        "cpu": cpu / (args.streams * args.chunks), "core": cpu / wall, "wall": wall,
        "lag50": pct(lags, 50), "lag99": pct(lags, 99), "served": served,
        "sims": sum(others[:2]) / wall, "router": others[2] / wall if len(urls) == 1 else None,
    }


async def run(args: argparse.Namespace, roots: list[str], pids: list[int], url: str, expected: str) -> list[dict]:
    for base in (url, roots[0] + "/v1"):  # warm imports, pools and the router's first connection
        client = make_client("agentdeck", base)
        await client.one(args.chunks)
        await client.close()
    direct = [r + "/v1" for r in roots]
    out = []
    for r in range(args.rounds):
        paths = [("direct, split by hand", direct), ("via vllm-router", [url])]
        for path, urls in paths if r % 2 == 0 else paths[::-1]:
            out.append(await sample(path, urls, roots, pids, args, expected))
    return out


def report(args: argparse.Namespace, rows: list[dict]) -> tuple[str, bool]:
    """Print the table; return the summary line and whether anything failed."""
    print(f"\n{args.streams} streams of {args.chunks} tokens, one token per stream every "
          f"{args.interval * 1000:.0f} ms, 2 simulator replicas (own processes), {args.rounds} "
          "alternating round(s). core: this process's CPU / wall; sims/router: their CPU / wall; "
          "lag: how late a 10 ms ticker wakes\n")
    print(f"{'path':24} {'exact':>11} {'errors':>12} {'served':>11} {'us/chunk':>9} {'core':>5} "
          f"{'sims':>5} {'router':>6} {'lag p50':>8} {'lag p99':>8} {'wall s':>7}")
    bad = False
    for s in rows:
        routed = s["router"] is not None
        bad |= s["exact"] < args.streams or s["mismatched"] > 0 or (routed and min(s["served"]) == 0)
        err = ",".join(f"{k}x{v}" for k, v in s["errors"].items()) or "0"
        served = "/".join(str(n) for n in s["served"])
        router_core = f"{s['router']:6.0%}" if routed else f"{'-':>6}"
        print(f"{s['path']:24} {s['exact']:5}/{args.streams:<5} {err:>12} {served:>11} {s['cpu'] * 1e6:9.1f} "
              f"{s['core']:5.0%} {s['sims']:5.0%} {router_core} {s['lag50'] * 1000:6.1f}ms "
              f"{s['lag99'] * 1000:6.1f}ms {s['wall']:7.2f}")
    via = [s for s in rows if s["router"] is not None]
    direct = [s for s in rows if s["router"] is None]
    ratio = min(s["cpu"] for s in via) / min(s["cpu"] for s in direct)
    spread = "/".join(str(n) for n in via[-1]["served"])
    exact = sum(s["exact"] for s in via)
    summary = (f"fleet: {exact}/{args.streams * len(via)} exact via vllm-router, spread {spread}, "
               f"client us/chunk {ratio:.2f}x direct, lag p99 <= {max(s['lag99'] for s in via) * 1000:.0f} ms"
               f"{' FAILED' if bad else ''}")
    return summary, bad


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    binary = router_binary()
    if binary is None:
        print("fleet: skipped, vllm-router is not installed (pip install -e '.[bench]')")
        return 0
    raise_fd_limit()
    from agentdeck.sim import SimConfig, expected_text

    knobs = {"tokens_per_s": 1 / args.interval, "tick": args.interval, "ttft": 0.05,
             "output_tokens": args.chunks, "seed": 1, "models": [MODEL]}
    body = {"model": MODEL, "messages": MESSAGES, "stream": True, "max_tokens": args.chunks}
    expected = expected_text(SimConfig(**knobs), body, 0)[0]
    with ExitStack() as stack:
        sims = [stack.enter_context(replica(knobs)) for _ in range(2)]
        roots = [root for root, _ in sims]
        url, router_pid = stack.enter_context(router(binary, roots))
        pids = [pid for _, pid in sims] + [router_pid]
        rows = asyncio.run(run(args, roots, pids, url, expected))
    summary, bad = report(args, rows)
    print("\n" + summary)
    if bad:
        print("FAILED: a stream failed or lost text, or a replica served nothing through the router")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
