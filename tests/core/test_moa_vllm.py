"""Mixture-of-Agents against the real vLLM peer (../shared/peers/vllm/start.sh): its 1024-token
window cannot hold three 200-token answers and the instructions, so the quotes are cut to fit.

Skipped unless the peer answers at http://127.0.0.1:8011/v1 (or AGENTDECK_VLLM_URL), key
``testkey`` (or AGENTDECK_VLLM_KEY). Run with ``pytest -m vllm tests/core/test_moa_vllm.py``.
"""

from __future__ import annotations

import pytest
from systems_support import RecordingModel
from test_chain_vllm import BASE_URL, KEY, _listening

from agentdeck.store.runs import RunStore
from agentdeck.systems import registry
from agentdeck.systems.registry import RunRequest
from agentdeck.types import GenerationParams

pytestmark = [pytest.mark.vllm,
              pytest.mark.skipif(not _listening(BASE_URL), reason=f"no vLLM peer at {BASE_URL}")]


async def test_moa_runs_every_layer_on_vllm_and_fits_the_window() -> None:
    store = RunStore()
    params = GenerationParams.from_kwargs(max_tokens=200, ignore_eos=True)
    async with RecordingModel("tiny-llama", BASE_URL, KEY) as model:
        result = await registry.get("moa").run(model, RunRequest(
            "Name three colours.", params=params, calls=3, rounds=2, store=store,
            options={"temperatures": [0.3, 0.7, 1.0]}))
    assert result.status == "done", result.failure
    assert list(result.workers) == ["l1-p1", "l1-p2", "l1-p3", "l2-p1", "l2-p2", "l2-p3", "agg"]
    assert all(w.outcome.ok for w in result.workers.values()) and result.answer
    system = model.sent[-1][0][0]["content"]
    assert system.count("characters cut ...]") == 3  # 3 x 200 tokens would not fit in 1024
    info = store.load_run(result.run_id)
    assert info.status == "done" and info.read_text("agg") == result.answer
