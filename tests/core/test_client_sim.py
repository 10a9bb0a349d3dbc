"""The client against the built-in simulator: 256 concurrent streams, reasoning, faults."""

from __future__ import annotations

import asyncio

import pytest

from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import StreamDisconnectedError
from agentdeck.events import Retrying
from agentdeck.sim import SimConfig, SimServer, expected_text


def messages(i: int) -> list[dict]:
    return [{"role": "user", "content": f"Tell me about topic number {i}."}]


async def test_256_concurrent_streams_complete_with_exact_text() -> None:
    # Streams of ~0.45 s: long enough to all overlap even on a loaded machine, where opening
    # 256 requests (32 per loop turn, agentdeck.opengate) takes a while.
    config = SimConfig(tokens_per_s=100, ttft=0.05, output_tokens=40, seed=11)
    async with SimServer(config) as sim:
        async with VLLMModel("sim-model", sim.base_url, first_token_timeout=60) as model:
            results = await asyncio.gather(
                *(model.complete(messages(i), max_tokens=64) for i in range(256))
            )
        assert sim.stats.max_in_flight == 256  # all at once: no pool limit held them back
    for i, completion in enumerate(results):
        body = {"model": "sim-model", "messages": messages(i), "max_tokens": 64}
        content, _ = expected_text(config, body, 0)
        assert completion.text == content and completion.finish_reason == "stop"
        # usage is what the server counted; the metrics take it over the chunk count
        assert completion.metrics.output_tokens == completion.usage.completion_tokens >= 40
    assert len({r.text for r in results}) == 256  # every prompt got its own answer


async def test_reasoning_and_n2_against_sim() -> None:
    config = SimConfig(tokens_per_s=2000, ttft=0.01, output_tokens=20, reasoning=True,
                       reasoning_tokens=10, seed=3)
    async with SimServer(config) as sim:
        async with VLLMModel("sim-model", sim.base_url) as model:
            completion = await model.complete(messages(1), n=2)
            joined = "".join([p async for p in model.call_stream(messages(1))])
    body = {"model": "sim-model", "messages": messages(1), "n": 2}
    for index in (0, 1):
        content, reasoning = expected_text(config, body, index)
        assert completion.choices[index].content == content
        assert completion.choices[index].reasoning == reasoning and reasoning
    content, reasoning = expected_text(config, {"model": "sim-model", "messages": messages(1)})
    assert joined == f"<think>{reasoning}</think>{content}"


async def test_sim_retry_after_then_success() -> None:
    config = SimConfig(tokens_per_s=2000, ttft=0.01, output_tokens=5, seed=1)
    fault = {"fault": "status", "status": 503, "retry_after_ms": 5, "times": 2}
    async with SimServer(config) as sim:
        async with VLLMModel("sim-model", sim.base_url, backoff_base=0.001) as model:
            events = [e async for e in model.stream(messages(2), sim=fault)]
    retries = [e for e in events if isinstance(e, Retrying)]
    assert [(r.attempt, r.delay) for r in retries] == [(1, 0.005), (2, 0.005)]
    assert events[-1].completion.finish_reason == "stop"


async def test_sim_disconnect_keeps_partial() -> None:
    config = SimConfig(tokens_per_s=2000, ttft=0.01, output_tokens=30, seed=5)
    async with SimServer(config) as sim:
        async with VLLMModel("sim-model", sim.base_url, max_attempts=3) as model:
            with pytest.raises(StreamDisconnectedError) as info:
                await model.complete(messages(3), sim={"fault": "disconnect", "after": 4})
        assert sim.stats.requests == 1
    assert info.value.partial  # the first four chunks' text, kept
    full, _ = expected_text(config, {"model": "sim-model", "messages": messages(3)})
    assert full.startswith(info.value.partial) and len(info.value.partial) < len(full)
