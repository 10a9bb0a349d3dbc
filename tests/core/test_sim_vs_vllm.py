"""The simulator side by side with the real vLLM peer: same requests, same shapes and bodies.

Skipped unless the peer (../shared/peers/vllm/start.sh) answers at http://127.0.0.1:8011/v1 (or
AGENTDECK_VLLM_URL) with key ``testkey`` (or AGENTDECK_VLLM_KEY). Run with
``pytest -m vllm tests/core/test_sim_vs_vllm.py``.
"""

from __future__ import annotations

import json
import os
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from agentdeck.sim import SimConfig, SimServer

PEER = os.environ.get("AGENTDECK_VLLM_URL", "http://127.0.0.1:8011/v1").rstrip("/")
KEY = os.environ.get("AGENTDECK_VLLM_KEY", "testkey")
MODEL = "tiny-llama"


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(not _listening(PEER), reason=f"no vLLM peer at {PEER}"),
]


def shape(value):
    if isinstance(value, dict):
        return [(k, shape(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


def stream_shapes(raw: bytes) -> list:
    """The kinds of events in order, runs of alike deltas folded into one.

    The peer may pack several tokens into one chunk, so only the sequence of kinds compares.
    """
    assert raw.endswith(b"data: [DONE]\n\n") and b"\r" not in raw
    out: list = []
    for event in raw.split(b"\n\n")[:-2]:
        kind = shape(json.loads(event[6:]))
        if not out or out[-1] != kind:
            out.append(kind)
    return out


async def both(method: str, path: str, **kw) -> tuple[httpx.Response, httpx.Response]:
    """Send the same request to the peer and to a simulator configured like it."""
    cfg = SimConfig(models=(MODEL,), api_key=KEY, max_model_len=1024, tokens_per_s=0, ttft=0)
    headers = {"Authorization": f"Bearer {KEY}", **kw.pop("headers", {})}
    root = PEER.removesuffix("/v1")
    async with SimServer(cfg) as sim, httpx.AsyncClient(timeout=120) as client:
        real = await client.request(method, root + path, headers=headers, **kw)
        ours = await client.request(method, sim.root_url + path, headers=headers, **kw)
    return real, ours


@pytest.mark.parametrize("include_usage", [True, False])
async def test_stream_shapes_match_the_peer(include_usage: bool) -> None:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "max_tokens": 6,
        "ignore_eos": True,
    }
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    real, ours = await both("POST", "/v1/chat/completions", json=body)
    assert real.headers["content-type"] == ours.headers["content-type"]
    assert stream_shapes(ours.content) == stream_shapes(real.content)


@pytest.mark.parametrize(
    "body",
    [
        {"model": "no-such-model", "messages": []},
        {"model": MODEL},
        {"model": MODEL, "messages": "hi"},
        {"model": MODEL, "messages": [], "max_tokens": 5000},
        {"model": MODEL, "messages": [], "max_tokens": 0},
        {"model": MODEL, "messages": [], "max_tokens": 2.5},
        {"model": MODEL, "messages": [], "temperature": -2},
        {"model": MODEL, "messages": [], "n": 0},
    ],
)
async def test_error_bodies_match_the_peer_byte_for_byte(body: dict) -> None:
    real, ours = await both("POST", "/v1/chat/completions", json=body)
    assert (ours.status_code, ours.content) == (real.status_code, real.content)


async def test_auth_and_routes_match_the_peer() -> None:
    for method, path, headers in [
        ("GET", "/v1/models", {"Authorization": "Bearer wrong"}),
        ("GET", "/v1/nope", {}),
        ("GET", "/v1/chat/completions", {}),
    ]:
        real, ours = await both(method, path, headers=headers)
        assert (ours.status_code, ours.content) == (real.status_code, real.content), path


async def test_tokenize_and_models_shapes_match_the_peer() -> None:
    real, ours = await both("POST", "/tokenize", json={"model": MODEL, "prompt": "Hello there"})
    assert list(ours.json()) == list(real.json())
    real, ours = await both("GET", "/v1/models")
    assert shape(ours.json()) == shape(real.json())


REASONING_PEER = os.environ.get("AGENTDECK_VLLM_REASONING_URL", "http://127.0.0.1:8012/v1")


@pytest.mark.skipif(not _listening(REASONING_PEER), reason=f"no reasoning peer at {REASONING_PEER}")
@pytest.mark.parametrize("stream", [True, False])
async def test_reasoning_replies_match_the_reasoning_peer(stream: bool) -> None:
    name = "tiny-llama-reasoning"
    body = {"model": name, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    cfg = SimConfig(models=(name,), api_key=KEY, reasoning=True, tokens_per_s=0, ttft=0)
    headers = {"Authorization": f"Bearer {KEY}"}
    async with SimServer(cfg) as sim, httpx.AsyncClient(timeout=120) as client:
        real = await client.post(REASONING_PEER + "/chat/completions", json=body, headers=headers)
        ours = await client.post(sim.base_url + "/chat/completions", json=body, headers=headers)
    if stream:
        assert stream_shapes(ours.content) == stream_shapes(real.content)
    else:
        assert shape(ours.json()) == shape(real.json())
