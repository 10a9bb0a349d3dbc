"""Run agentdeck's simulator in a process of its own, so the app's CPU is measured alone.

``python benchmarks/_sim_server.py '{"tokens_per_s": 300, ...}'`` (SimConfig fields as JSON)
prints ``URL <base_url>`` once it listens on 127.0.0.1 and stops when its stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys

from agentdeck.sim import SimConfig, SimServer


async def serve(knobs: dict) -> None:
    async with SimServer(SimConfig(**knobs)) as sim:
        print("URL", sim.base_url, flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.read()


def main() -> None:
    knobs = json.loads(sys.argv[1])
    try:  # the faster loop where installed: the feed must never be the bottleneck
        import uvloop
    except ImportError:
        asyncio.run(serve(knobs))
    else:
        uvloop.run(serve(knobs))


if __name__ == "__main__":
    main()
