"""A fleet through vLLM's own router (issue 17): two simulator replicas behind ``vllm-router``.

agentdeck is a client: it talks to the router as to any endpoint. The runs must complete
exactly, spread over both replicas, and a replica killed mid-run must fail only the workers it
was serving (their partial text kept) while new calls flow to the live one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from agentdeck import VLLMModel
from agentdeck.sim import SimConfig, SimServer
from agentdeck.store.runs import RunStore
from agentdeck.systems.registry import RunRequest, get

pytestmark = pytest.mark.timeout(120)


def _router_binary() -> str | None:
    beside = Path(sys.executable).parent / "vllm-router"
    return str(beside) if beside.exists() else shutil.which("vllm-router")


ROUTER = _router_binary()
if ROUTER is None and os.environ.get("CI"):
    raise RuntimeError("vllm-router is not installed: the test extra installs it")
needs_router = pytest.mark.skipif(ROUTER is None, reason="vllm-router is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Fleet:
    """Two simulator replicas in this process and the router in its own."""

    def __init__(self, replicas: list[SimServer], port: int, process: subprocess.Popen,
                 log: Path) -> None:
        self.replicas = replicas
        self.log = log
        self.url = f"http://127.0.0.1:{port}/v1"
        self.process = process

    def served(self) -> list[int]:
        return [r.stats.requests for r in self.replicas]


async def _wait_ready(fleet: Fleet) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if fleet.process.poll() is not None:
                raise RuntimeError(f"vllm-router exited at start: {fleet.log.read_text()[-800:]}")
            try:
                async with session.get(fleet.url + "/models") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("vllm-router did not come up in 10 s")


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Fleet]:
    # shutdown_timeout ~0: stop() drops open streams at once, as a killed replica would
    config = SimConfig(ttft=0.05, tokens_per_s=100.0, output_tokens=40, tick=0.01,
                       shutdown_timeout=0.001)
    replicas = [await SimServer(config).start() for _ in range(2)]
    port = _free_port()
    log = tmp_path / "router.log"
    assert ROUTER is not None
    with log.open("wb") as err:
        process = subprocess.Popen(
            [ROUTER, "--host", "127.0.0.1", "--port", str(port), "--policy", "round_robin",
             "--worker-urls", *(r.root_url for r in replicas), "--log-level", "warning",
             "--health-check-interval-secs", "1", "--prometheus-host", "127.0.0.1",
             "--prometheus-port", str(_free_port())],
            stdout=subprocess.DEVNULL, stderr=err,
        )
    fleet = Fleet(replicas, port, process, log)
    try:
        await _wait_ready(fleet)
        for replica in replicas:
            replica.reset_stats()  # the router's start-up checks are not calls
        yield fleet
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        for replica in replicas:
            await replica.stop()


async def _multi(fleet: Fleet, store: RunStore, calls: int, concurrency: int) -> object:
    model = VLLMModel("sim-model", fleet.url + "/chat/completions", max_attempts=2)
    try:
        request = RunRequest("tell me about fleets", calls=calls, concurrency=concurrency,
                             store=store)
        return await get("multi").run(model, request)
    finally:
        await model.close_client()


@needs_router
async def test_64_streams_through_the_router_complete_spread_over_both_replicas(
        fleet: Fleet, tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    result = await _multi(fleet, store, calls=64, concurrency=32)
    assert result.status == "done"  # type: ignore[attr-defined]
    assert result.summary["requests"] == {"done": 64, "failed": 0, "cancelled": 0}  # type: ignore[attr-defined]
    served = fleet.served()
    assert sum(served) == 64
    assert min(served) >= 16, f"requests not spread over the replicas: {served}"
    run = store.load_run(result.run_id)  # type: ignore[attr-defined]
    assert all(w["status"] == "done" for w in run.workers)


@needs_router
async def test_a_replica_killed_mid_run_fails_only_its_streams(
        fleet: Fleet, tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    task = asyncio.create_task(_multi(fleet, store, calls=48, concurrency=8))
    dead, live = fleet.replicas
    while dead.stats.tokens_sent < 20:  # its first streams are under way
        await asyncio.sleep(0.02)
    in_flight = dead.stats.in_flight
    await dead.stop()
    before = live.stats.requests
    result = await task
    summary = result.summary  # type: ignore[attr-defined]
    failed = summary["requests"]["failed"]
    assert 1 <= failed <= in_flight, (failed, in_flight)
    assert summary["requests"]["done"] == 48 - failed
    assert live.stats.requests > before  # new calls kept flowing to the live replica
    run = store.load_run(result.run_id)  # type: ignore[attr-defined]
    broken = [w for w in run.workers if w["status"] == "failed"]
    assert len(broken) == failed
    # the text each failed worker had streamed is on disk
    assert all(run.read_text(w["id"]) for w in broken)
