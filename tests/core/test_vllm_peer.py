"""Integration tests against a real vLLM server (../shared/peers/vllm/start.sh [reasoning]).

Skipped unless the peer answers: base model at http://127.0.0.1:8011/v1 (or
AGENTDECK_VLLM_URL), reasoning model at :8012 (or AGENTDECK_VLLM_REASONING_URL); API key
``testkey`` (or AGENTDECK_VLLM_KEY). Run them with ``pytest -m vllm tests/core/test_vllm_peer.py``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from urllib.parse import urlsplit

import pytest

from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import AuthenticationError, ContextLengthError, ModelNotFoundError
from agentdeck.events import Delta

# Read at import: the suite's autouse fixture clears AGENTDECK_* variables inside tests.
BASE_URL = os.environ.get("AGENTDECK_VLLM_URL", "http://127.0.0.1:8011/v1")
REASONING_URL = os.environ.get("AGENTDECK_VLLM_REASONING_URL", "http://127.0.0.1:8012/v1")
KEY = os.environ.get("AGENTDECK_VLLM_KEY", "testkey")
MSG = [{"role": "user", "content": "Say something."}]


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=0.5):
            return True
    except OSError:
        return False


base = pytest.mark.skipif(not _listening(BASE_URL), reason=f"no vLLM peer at {BASE_URL}")
reasoning = pytest.mark.skipif(
    not _listening(REASONING_URL), reason=f"no vLLM reasoning peer at {REASONING_URL}"
)
pytestmark = pytest.mark.vllm


def llama(**kw) -> VLLMModel:
    return VLLMModel("tiny-llama", BASE_URL, KEY, **kw)


@base
async def test_plain_stream_fixed_length() -> None:
    async with llama() as model:
        completion = await model.complete(MSG, max_tokens=40, ignore_eos=True)
    assert completion.finish_reason == "length"
    assert completion.usage.completion_tokens == 40
    assert completion.metrics.output_tokens == 40 and completion.metrics.ttft > 0
    assert completion.text  # gibberish from random weights, but text


@base
async def test_greedy_call_stream_equals_complete() -> None:
    async with llama() as model:
        kw = dict(max_tokens=30, ignore_eos=True, temperature=0)
        joined = "".join([p async for p in model.call_stream(MSG, **kw)])
        completion = await model.complete(MSG, **kw)
    assert joined == completion.text


@base
async def test_n3_every_choice_finishes() -> None:
    async with llama() as model:
        completion = await model.complete(MSG, n=3, max_tokens=12, ignore_eos=True)
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert all(c.finish_reason == "length" and c.content for c in completion.choices)
    assert completion.usage.completion_tokens == 36


@reasoning
async def test_reasoning_split() -> None:
    async with VLLMModel("tiny-llama-reasoning", REASONING_URL, KEY) as model:
        completion = await model.complete(MSG)
        joined = "".join([p async for p in model.call_stream(MSG)])
    assert completion.reasoning == "The user wants a greeting, keep it short."
    assert completion.text == "Hello from tiny llama!"
    assert joined == f"<think>{completion.reasoning}</think>{completion.text}"


@base
async def test_wrong_key_401() -> None:
    async with VLLMModel("tiny-llama", BASE_URL, "wrong-key-xyz") as model:
        with pytest.raises(AuthenticationError) as info:
            await model.complete(MSG, max_tokens=2)
    assert "AGENTDECK_API_KEY" in str(info.value) and "wrong-key-xyz" not in str(info.value)


@base
async def test_unknown_model_404_lists_models() -> None:
    async with VLLMModel("no-such-model", BASE_URL, KEY) as model:
        with pytest.raises(ModelNotFoundError) as info:
            await model.complete(MSG, max_tokens=2)
    assert info.value.available == ["tiny-llama"] and "tiny-llama" in str(info.value)


@base
async def test_context_length_400() -> None:
    async with llama() as model:
        with pytest.raises(ContextLengthError):
            await model.complete(MSG, max_tokens=5000)
        with pytest.raises(ContextLengthError):
            await model.complete([{"role": "user", "content": "word " * 3000}], max_tokens=2)


@base
async def test_server_helpers() -> None:
    async with llama() as model:
        assert await model.max_model_len() == 1024
        assert [m["id"] for m in await model.list_models()] == ["tiny-llama"]
        assert await model.health() > 0
        tokens = await model.tokenize("hello world")
        assert tokens and all(isinstance(t, int) for t in tokens)
        assert "hello world" in await model.detokenize(tokens)
        gauges = await model.server_metrics()
    assert set(gauges) == {"running", "waiting", "kv_cache_usage"}
    assert 0.0 <= gauges["kv_cache_usage"] <= 1.0


@base
async def test_cancel_frees_the_server() -> None:
    """Cancelling the consumer closes the response; vLLM aborts the request."""
    async with llama() as model:
        started = asyncio.Event()

        async def consume() -> None:
            async for event in model.stream(MSG, max_tokens=900, ignore_eos=True):
                if isinstance(event, Delta):
                    started.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(started.wait(), 60)
        assert (await model.server_metrics())["running"] >= 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(50):
            if (await model.server_metrics())["running"] == 0:
                break
            await asyncio.sleep(0.1)
        assert (await model.server_metrics())["running"] == 0


@base
async def test_32_concurrent_streams() -> None:
    async with llama() as model:
        results = await asyncio.gather(
            *(model.complete(MSG, max_tokens=16, ignore_eos=True) for _ in range(32))
        )
    assert all(r.usage.completion_tokens == 16 and r.finish_reason == "length" for r in results)
