"""A status poll racing a reconnect: it leaves no session open and reports no stale status."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import warnings
from collections.abc import AsyncIterator

from aiohttp import web

from agentdeck.config.settings import load_settings
from agentdeck.connect import Connection, ServerStatus


@contextlib.asynccontextmanager
async def vllm_routes(health_delay: float) -> AsyncIterator[tuple[str, list[str]]]:
    """A server with vLLM's /health (answering after ``health_delay``) and /metrics."""
    hits: list[str] = []

    async def health(request: web.Request) -> web.Response:
        hits.append("health")
        await asyncio.sleep(health_delay)
        return web.Response()

    async def metrics(request: web.Request) -> web.Response:
        hits.append("metrics")
        return web.Response(text="vllm:num_requests_running 2\n")

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v1", hits
    finally:
        await runner.cleanup()


def unclosed_sessions() -> list[str]:
    """What aiohttp says at garbage collection about sessions nobody closed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    return [str(w.message) for w in caught if "Unclosed client session" in str(w.message)]


async def test_a_reconnect_during_a_slow_health_check_shows_no_stale_status() -> None:
    async with vllm_routes(health_delay=0.3) as (url, hits):
        conn = Connection(load_settings(flags={"base_url": url, "model": "m"}, env={}))
        await conn.open()
        assert (await conn.poll()).running == 2
        polling = asyncio.ensure_future(conn.poll())
        while hits.count("health") < 2:
            await asyncio.sleep(0.01)
        await conn.open()  # the user saved settings while /health was slow
        # The old model's status was "unhealthy: ProtocolError" (its request was cut).
        assert await polling == ServerStatus()
        assert (await conn.poll()).healthy
        await conn.close()
    assert unclosed_sessions() == []


async def test_a_poll_between_two_requests_leaves_no_session_on_a_dropped_model() -> None:
    """Regression: a reconnect between the poll's /health and /metrics left the dropped model
    with a new ClientSession nobody closed ("Unclosed client session" at garbage collection).

    Every loop turn of a poll is tried as the moment of the reconnect."""
    async with vllm_routes(health_delay=0) as (url, _):
        conn = Connection(load_settings(flags={"base_url": url, "model": "m"}, env={}))
        await conn.open()
        for turns in itertools.count():
            polling = asyncio.ensure_future(conn.poll())
            for _ in range(turns):
                await asyncio.sleep(0)
            finished_first = polling.done()
            await conn.open()
            await polling
            if finished_first:  # every moment of a whole poll was tried
                break
        await conn.close()
    assert turns > 5
    assert unclosed_sessions() == []
