"""Round trips through the real client (VLLMModel) against the simulator over loopback."""

from __future__ import annotations

import asyncio

import pytest

from agentdeck.errors import StreamError
from agentdeck.events import Retrying
from agentdeck.sim import SimConfig, SimServer, expected_text

VLLMModel = pytest.importorskip("agentdeck.client").VLLMModel

MESSAGES = [{"role": "user", "content": "Summarise how paged attention saves memory"}]
FAST = dict(tokens_per_s=0, ttft=0, seed=9)


def body(**extra) -> dict:
    """The request body the client builds, as far as the text depends on it."""
    return {"messages": MESSAGES, **extra}


async def test_complete_gets_the_exact_text_for_every_choice() -> None:
    cfg = SimConfig(output_tokens=30, reasoning=True, reasoning_tokens=10, **FAST)
    async with SimServer(cfg) as sim, VLLMModel("sim-model", sim.base_url) as model:
        done = await model.complete(MESSAGES, n=3)
    for i, choice in enumerate(done.choices):
        assert (choice.content, choice.reasoning) == expected_text(cfg, body(n=3), i)
        assert choice.finish_reason == "stop"
    assert done.usage.completion_tokens == 3 * (10 + 30 + 1)


async def test_call_stream_wraps_reasoning_in_think_tags() -> None:
    cfg = SimConfig(output_tokens=8, reasoning=True, reasoning_tokens=5, **FAST)
    async with SimServer(cfg) as sim, VLLMModel("sim-model", sim.base_url) as model:
        text = "".join([piece async for piece in model.call_stream(MESSAGES)])
    content, reasoning = expected_text(cfg, body())
    assert text == f"<think>{reasoning}</think>{content}"


async def test_disconnect_fault_raises_with_the_partial_text() -> None:
    cfg = SimConfig(output_tokens=40, **FAST)
    async with SimServer(cfg) as sim, VLLMModel("sim-model", sim.base_url) as model:
        with pytest.raises(StreamError) as info:
            await model.complete(MESSAGES, sim={"fault": "disconnect", "after": 5})
    full = expected_text(cfg, body())[0]
    assert info.value.partial and full.startswith(info.value.partial)
    assert sim.stats.requests == 1, "never retried after text was delivered"


async def test_status_fault_is_retried_then_succeeds() -> None:
    cfg = SimConfig(output_tokens=6, **FAST)
    forced = {"fault": "status", "status": 503, "retry_after_ms": 10, "times": 1}
    async with SimServer(cfg) as sim, VLLMModel("sim-model", sim.base_url) as model:
        events = [e async for e in model.stream(MESSAGES, sim=forced)]
    assert sum(isinstance(e, Retrying) for e in events) == 1
    assert events[-1].completion.text == expected_text(cfg, body())[0]
    assert sim.stats.by_status == {503: 1, 200: 1}


async def test_cancelling_the_consumer_is_seen_as_a_disconnect() -> None:
    async with SimServer(SimConfig(tokens_per_s=20, ttft=0, output_tokens=1000)) as sim:
        async with VLLMModel("sim-model", sim.base_url) as model:

            async def consume() -> None:
                async for _ in model.stream(MESSAGES):
                    pass

            task = asyncio.create_task(consume())
            while sim.stats.tokens_sent == 0:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for _ in range(500):
                if sim.stats.disconnects:
                    break
                await asyncio.sleep(0.01)
    assert sim.stats.disconnects == 1 and sim.stats.in_flight == 0


async def test_server_helpers_read_the_simulator() -> None:
    async with SimServer(SimConfig(max_model_len=4096, **FAST)) as sim:
        async with VLLMModel("sim-model", sim.base_url) as model:
            tokens = await model.tokenize("round trip, please!")
            assert await model.detokenize(tokens) == "round trip, please!"
            assert await model.max_model_len() == 4096
            assert [m["id"] for m in await model.list_models()] == ["sim-model"]
            gauges = await model.server_metrics()
    assert gauges is not None and gauges.get("running") == 0.0
