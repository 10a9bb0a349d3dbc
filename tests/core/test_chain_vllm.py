"""Chain of Agents against the real vLLM peer (../shared/peers/vllm/start.sh), using /tokenize.

Skipped unless the peer answers at http://127.0.0.1:8011/v1 (or AGENTDECK_VLLM_URL), key
``testkey`` (or AGENTDECK_VLLM_KEY). Run with ``pytest -m vllm tests/core/test_chain_vllm.py``.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

from agentdeck.client.vllm import VLLMModel
from agentdeck.systems import ChainOfAgents

BASE_URL = os.environ.get("AGENTDECK_VLLM_URL", "http://127.0.0.1:8011/v1")
KEY = os.environ.get("AGENTDECK_VLLM_KEY", "testkey")


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = [pytest.mark.vllm,
              pytest.mark.skipif(not _listening(BASE_URL), reason=f"no vLLM peer at {BASE_URL}")]


async def test_chain_budgets_with_the_servers_tokenizer_and_never_overflows() -> None:
    text = "".join(f"Record {i} says the lamp in room {i % 9} is {'on' if i % 2 else 'off'}. "
                   for i in range(400))
    async with VLLMModel("tiny-llama", BASE_URL, KEY) as model:
        chain = ChainOfAgents("peer", model, store=False)
        answer = await chain.run("Which rooms have the lamp on?", text, max_tokens=48,
                                 ignore_eos=True)
        result = chain.last_result
        sizes = [len(await model.tokenize(chunk) or []) for chunk in result.chunks]
    assert result.budget.exact and result.budget.window == 1024  # from /v1/models
    assert len(result.chunks) >= 5 and max(sizes) <= result.budget.chunk
    assert "".join(result.chunks) == text
    assert answer and len(result.units) == len(result.chunks)
