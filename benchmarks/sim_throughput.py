"""How many tokens/s one simulator process pushes across many concurrent streams.

Starts ``python -m agentdeck.sim`` in its own process, opens N raw-socket streams from this
process (a minimal HTTP/1.1 reader, far cheaper than the server side) and prints the aggregate
token rate, the steady per-stream pace, the start-up spread and the simulator's CPU use.
Not a test: it prints figures (which move with whatever else the machine is running).

    python benchmarks/sim_throughput.py [--streams 256] [--tokens-per-s 200] [--output-tokens 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one_stream(port: int, body: bytes) -> tuple[int, float, float]:
    """Stream one completion over a raw socket: (completion tokens, first byte s, end s)."""
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    first = None
    tail = b""
    while data := await reader.read(1 << 16):
        first = first or time.perf_counter() - start
        tail = (tail + data)[-4096:]
    writer.close()
    usage = tail.rsplit(b'"usage":', 1)[1].split(b"}", 1)[0] + b"}"
    return json.loads(usage)["completion_tokens"], first or 0.0, time.perf_counter() - start


async def run(args: argparse.Namespace) -> None:
    command = [sys.executable, "-m", "agentdeck.sim", "--port", "0", "--ttft", "0"]
    command += ["--jitter", "0", "--tokens-per-s", str(args.tokens_per_s)]
    command += ["--output-tokens", str(args.output_tokens)]
    command += ["--tokens-per-chunk", str(args.tokens_per_chunk)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(line.split(" at ")[1].split("/v1")[0].rsplit(":", 1)[1])
        messages = [{"role": "user", "content": "benchmark the simulator"}]
        body = json.dumps(
            {"stream": True, "stream_options": {"include_usage": True}, "messages": messages}
        ).encode()
        cpu0, t0, mine0 = cpu_seconds(proc.pid), time.perf_counter(), time.process_time()
        results = await asyncio.gather(*(one_stream(port, body) for _ in range(args.streams)))
        wall, cpu = time.perf_counter() - t0, cpu_seconds(proc.pid) - cpu0
        mine = time.process_time() - mine0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    tokens = sum(r[0] for r in results)
    pace = statistics.median(r[0] / (r[2] - r[1]) for r in results if r[2] > r[1])
    firsts = sorted(r[1] for r in results)
    print(
        f"{args.streams} streams x {args.output_tokens} tokens at {args.tokens_per_s:g} tok/s "
        f"each ({args.tokens_per_chunk} token/chunk): {tokens} tokens in {wall:.2f} s"
    )
    print(
        f"  aggregate {tokens / wall:,.0f} tokens/s over the whole run "
        f"(steady state {pace * args.streams:,.0f}: median stream paced at {pace:,.0f} tok/s; "
        f"last stream's first byte after {firsts[-1]:.2f} s)"
    )
    print(
        f"  simulator CPU {cpu:.2f} s = {cpu / wall:.0%} of one core, "
        f"{cpu / tokens * 1e6:.1f} us per token; reader process {mine / wall:.0%} of a core"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=256)
    parser.add_argument("--tokens-per-s", type=float, default=200.0, help="per stream; 0 = unpaced")
    parser.add_argument("--output-tokens", type=int, default=1000)
    parser.add_argument("--tokens-per-chunk", type=int, default=1)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
