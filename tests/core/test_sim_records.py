"""The simulator's per-request records: when each request arrived and its tokens really went out."""

from __future__ import annotations

import asyncio
import time

import httpx

from agentdeck.client.vllm import VLLMModel
from agentdeck.events import Delta
from agentdeck.sim import SimConfig, SimServer

MESSAGES = [{"role": "user", "content": "count for me"}]


async def stream_once(model: VLLMModel, tokens: int):
    async for event in model.stream(MESSAGES, max_tokens=tokens, ignore_eos=True):
        completion = getattr(event, "completion", None)
        if completion is not None:
            return completion
    raise AssertionError("no StreamFinished")


async def test_records_stamp_arrival_first_and_last_token_within_the_clients_view() -> None:
    cfg = SimConfig(ttft=0.2, tokens_per_s=50, tick=0.001)
    async with SimServer(cfg) as sim:
        model = VLLMModel("sim-model", sim.base_url)
        try:
            completion = await stream_once(model, 10)
        finally:
            await model.close_client()
    (record,) = sim.stats.records
    assert record.tokens_sent == 10 and record.done
    assert record.arrived <= record.first_token_at <= record.last_token_at
    # A sleep never ends early: the first token cannot go out before the programmed TTFT.
    assert record.ttft >= 0.2
    assert abs(record.tpot - 0.02) < 0.002, record.tpot
    # The client sent before the server saw the request and read after it was written.
    metrics = completion.metrics
    assert metrics.ttft >= record.ttft
    assert metrics.e2e >= record.last_token_at - record.arrived


async def test_a_late_server_loop_does_not_push_later_tokens_back() -> None:
    # One token every 20 ms with tick = 20 ms, while something blocks the server's loop for
    # 5 ms at a time: every wake-up is late. If a write's lateness carried over to the next,
    # the stream would drift behind its pace until two tokens went out in one write.
    cfg = SimConfig(ttft=0.05, tokens_per_s=50, tick=0.02)

    async def hog() -> None:
        while True:
            time.sleep(0.005)  # noqa: ASYNC251 - blocking the loop is the point
            await asyncio.sleep(0.002)

    reads: list[int] = []
    async with SimServer(cfg) as sim:
        model = VLLMModel("sim-model", sim.base_url)
        blocker = asyncio.create_task(hog())
        try:
            async for event in model.stream(MESSAGES, max_tokens=40, ignore_eos=True):
                if isinstance(event, Delta):
                    reads.append(event.tokens)
        finally:
            blocker.cancel()
            await model.close_client()
    assert reads == [1] * 40, "tokens due 20 ms apart went out together"
    (record,) = sim.stats.records
    assert record.tokens_sent == 40
    assert abs(record.tpot - 0.02) < 0.02 * 0.03, f"TPOT {record.tpot * 1000:.2f} ms, not 20"


async def test_a_whole_reply_stamps_its_tokens_when_it_is_sent() -> None:
    cfg = SimConfig(ttft=0.05, tokens_per_s=0, output_tokens=5)
    async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
        reply = await client.post(sim.base_url + "/chat/completions", json={"messages": MESSAGES})
    assert reply.status_code == 200
    (record,) = sim.stats.records
    assert record.tokens_sent == 5 + 1 and record.ttft >= 0.05
    assert record.first_token_at == record.last_token_at
