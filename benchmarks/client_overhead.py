"""Client CPU per streamed chunk: agentdeck vs the openai SDK vs a naive httpx loop, one run.

The server is another process (``_stream_server.py``) that writes one pre-rendered vLLM-shaped
stream as fast as the socket takes it, so this process's CPU time (``time.process_time``) is
the client's own cost: HTTP, SSE framing, JSON, events. Rounds alternate the order of the
clients and the table shows medians, because the machine is shared and noisy; compare the
ratios, not the absolute microseconds.

    python benchmarks/client_overhead.py            # 2000-chunk streams, 7 rounds
    python benchmarks/client_overhead.py --quick    # smoke test (CI)

Exits 1 if any client returned text that differs from what the server sent.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time

from _clients import expected_text, make_client, server_process, usable


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=2000, help="content chunks per stream")
    ap.add_argument("--requests", type=int, default=4, help="streams per sample")
    ap.add_argument("--rounds", type=int, default=7, help="alternating rounds (median taken)")
    ap.add_argument("--clients", default="naive,openai,agentdeck,agentdeck-call")
    ap.add_argument("--quick", action="store_true", help="tiny run for the CI smoke test")
    args = ap.parse_args(argv)
    if args.quick:
        args.chunks, args.requests, args.rounds = 300, 1, 2
    args.clients = [c for c in args.clients.split(",") if c]
    args.clients = usable(args.clients)
    return args


async def measure(args: argparse.Namespace, base_url: str) -> tuple[dict[str, list[float]], list[str]]:
    """Median-ready samples of CPU seconds per chunk for every client, and any text errors."""
    expected = expected_text(args.chunks)
    clients = {name: make_client(name, base_url) for name in args.clients}
    samples: dict[str, list[float]] = {name: [] for name in clients}
    errors: list[str] = []
    try:
        for client in clients.values():  # warm up: imports, connection, caches
            await client.one(50)
        names = list(clients)
        for r in range(args.rounds):
            order = names[r % len(names):] + names[: r % len(names)]
            if r % 2:
                order.reverse()
            for name in order:
                gc.collect()
                t0 = time.process_time()
                for _ in range(args.requests):
                    text = await clients[name].one(args.chunks)
                    if text != expected:
                        errors.append(f"{name}: got {len(text)} chars, expected {len(expected)}")
                samples[name].append((time.process_time() - t0) / (args.requests * args.chunks))
    finally:
        for client in clients.values():
            await client.close()
    return samples, errors


def report(args: argparse.Namespace, samples: dict[str, list[float]]) -> str:
    """Print the table; return the summary line."""
    med = {name: statistics.median(s) for name, s in samples.items()}
    naive, sdk = med.get("naive"), med.get("openai")
    print(f"\nclient CPU per chunk, {args.chunks}-chunk vLLM-shaped stream, "
          f"{args.requests} streams x {args.rounds} alternating rounds (median; min..max)\n")
    print(f"{'client':38} {'us/chunk':>9} {'range':>15} {'vs naive':>9} {'vs openai':>10}")
    for name, value in med.items():
        lo, hi = min(samples[name]) * 1e6, max(samples[name]) * 1e6
        vs_naive = f"{value / naive:.2f}x" if naive else "-"
        vs_sdk = f"1/{sdk / value:.1f}" if sdk else "-"
        print(f"{make_label(name):38} {value * 1e6:9.2f} {lo:7.2f}..{hi:<7.2f} {vs_naive:>9} {vs_sdk:>10}")
    if "agentdeck" in med and naive and sdk:
        ours = med["agentdeck"]
        ok = ours < naive and sdk / ours >= 10
        return (f"client_overhead: agentdeck stream {ours / naive:.2f}x the naive loop's CPU per chunk, "
                f"{sdk / ours:.1f}x less than the openai SDK (target <1x, >=10x): {'MET' if ok else 'MISSED'}")
    if naive and sdk:
        return f"client_overhead: openai SDK {sdk / naive:.1f}x the naive loop (agentdeck not measured)"
    return "client_overhead: measured " + ", ".join(med)


def make_label(name: str) -> str:
    from _clients import CLIENTS

    return CLIENTS[name].label


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with server_process() as base_url:
        samples, errors = asyncio.run(measure(args, base_url))
    summary = report(args, samples)
    for error in errors[:10]:
        print("TEXT MISMATCH:", error)
    print("\n" + summary)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
