"""Simulator faults, stats and /metrics: each fault behaves as documented and is counted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from agentdeck.sim import SimConfig, SimServer, expected_text

MESSAGES = [{"role": "user", "content": "Write about caches"}]
FAST = dict(tokens_per_s=0, ttft=0, seed=3, output_tokens=10)


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition the server reaches asynchronously (a generous bound, not timing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def body(sim_options: dict | None = None, **extra: Any) -> dict:
    out = {"messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}, **extra}
    if sim_options is not None:
        out["sim"] = sim_options
    return out


async def read_raw(
    client: httpx.AsyncClient, url: str, payload: dict
) -> tuple[bytes, Exception | None]:
    """The body bytes received before the stream ended or broke, and the error if it broke."""
    data = b""
    try:
        async with client.stream("POST", url, json=payload) as r:
            async for piece in r.aiter_raw():
                data += piece
    except httpx.HTTPError as exc:
        return data, exc
    return data, None


def payloads(raw: bytes) -> list[bytes]:
    return [p[6:] for p in raw.split(b"\n\n") if p]


def content_of(chunks: list[bytes]) -> str:
    text = ""
    for p in chunks:
        try:
            doc = json.loads(p)
        except ValueError:
            continue
        for c in doc.get("choices") or ():
            text += c["delta"].get("content") or ""
    return text


async def test_status_fault_sends_retry_after_headers() -> None:
    async with SimServer(SimConfig(**FAST)) as sim, httpx.AsyncClient() as client:
        url = sim.base_url + "/chat/completions"
        r429 = await client.post(
            url, json=body({"fault": "status", "status": 429, "retry_after": 2})
        )
        r503 = await client.post(url, json=body({"fault": "status", "retry_after_ms": 1500}))
    assert r429.status_code == 429 and r429.headers["retry-after"] == "2"
    assert r429.json()["error"]["code"] == 429 and r429.json()["error"]["type"] == "RateLimitError"
    assert r503.status_code == 503 and r503.headers["retry-after-ms"] == "1500"
    assert "retry-after" not in r503.headers
    assert sim.stats.by_status == {429: 1, 503: 1} and sim.stats.faults["status"] == 2


async def test_forced_fault_with_times_lets_the_retry_succeed() -> None:
    forced = {"fault": "status", "status": 503, "times": 2}
    async with SimServer(SimConfig(**FAST)) as sim, httpx.AsyncClient() as client:
        url = sim.base_url + "/chat/completions"
        codes = [(await client.post(url, json=body(forced))).status_code for _ in range(3)]
    assert codes == [503, 503, 200]


async def test_close_fault_drops_the_connection_before_any_response() -> None:
    async with SimServer(SimConfig(**FAST)) as sim, httpx.AsyncClient() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(sim.base_url + "/chat/completions", json=body({"fault": "close"}))
        ok = await client.post(sim.base_url + "/chat/completions", json=body())
    assert ok.status_code == 200
    assert sim.stats.faults["close"] == 1 and sim.stats.disconnects == 0


async def test_disconnect_fault_aborts_after_k_chunks_without_a_clean_end() -> None:
    cfg = SimConfig(**FAST)
    async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
        raw, error = await read_raw(
            client, sim.base_url + "/chat/completions", body({"fault": "disconnect", "after": 3})
        )
        await until(lambda: sim.stats.in_flight == 0)
    assert isinstance(error, httpx.RemoteProtocolError)
    chunks = payloads(raw)
    assert len(chunks) == 1 + 3 and b"[DONE]" not in raw
    assert expected_text(cfg, body())[0].startswith(content_of(chunks))
    assert sim.stats.disconnects == 0, "our own abort is a fault, not a client disconnect"
    assert sim.stats.tokens_sent == 3


async def test_stall_fault_goes_silent_then_the_client_gives_up() -> None:
    async with SimServer(SimConfig(**FAST)) as sim:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=0.3)) as client:
            raw, error = await read_raw(
                client,
                sim.base_url + "/chat/completions",
                body({"fault": "stall", "after": 2, "seconds": 60}),
            )
        assert isinstance(error, httpx.ReadTimeout)
        assert len(payloads(raw)) == 1 + 2
        await until(lambda: sim.stats.disconnects == 1 and sim.stats.in_flight == 0)
    assert sim.stats.records[-1].disconnected


async def test_short_stall_then_the_stream_completes() -> None:
    cfg = SimConfig(**FAST)
    async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
        raw, error = await read_raw(
            client,
            sim.base_url + "/chat/completions",
            body({"fault": "stall", "after": 0, "seconds": 0.05}),
        )
    assert error is None and raw.endswith(b"data: [DONE]\n\n")
    assert content_of(payloads(raw)) == expected_text(cfg, body())[0]


async def test_malformed_fault_sends_one_invalid_chunk_and_carries_on() -> None:
    cfg = SimConfig(**FAST)
    async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
        raw, error = await read_raw(
            client, sim.base_url + "/chat/completions", body({"fault": "malformed", "after": 2})
        )
    chunks = payloads(raw)
    bad = []
    for i, p in enumerate(chunks[:-1]):
        try:
            json.loads(p)
        except ValueError:
            bad.append(i)
    assert error is None and bad == [3], "role + 2 good chunks, then the broken one"
    assert chunks[-1] == b"[DONE]"
    assert content_of(chunks) == expected_text(cfg, body())[0]


async def test_error_fault_sends_an_error_event_then_done() -> None:
    async with SimServer(SimConfig(**FAST)) as sim, httpx.AsyncClient() as client:
        raw, error = await read_raw(
            client,
            sim.base_url + "/chat/completions",
            body({"fault": "error", "after": 2, "message": "engine died"}),
        )
    chunks = payloads(raw)
    assert error is None and chunks[-1] == b"[DONE]" and len(chunks) == 1 + 2 + 2
    # vLLM writes this one event with json.dumps defaults (spaces), unlike the chunks.
    assert chunks[-2] == (
        b'{"error": {"message": "engine died", "type": "InternalServerError", '
        b'"param": null, "code": 500}}'
    )
    assert not any(b'"finish_reason":"' in p for p in chunks), "the choice never finished"


async def test_random_faults_are_seeded_and_counted() -> None:
    async def statuses() -> list[int]:
        cfg = SimConfig(**FAST, faults={"status": 0.5}, fault_seed=11)
        async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
            out = [
                (await client.post(sim.base_url + "/chat/completions", json=body())).status_code
                for _ in range(12)
            ]
            assert sim.stats.faults["status"] == sum(code != 200 for code in out)
        return out

    first = await statuses()
    assert first == await statuses()
    assert 200 in first and set(first) - {200}


async def test_fault_schedule_by_request_number() -> None:
    cfg = SimConfig(**FAST, fault_schedule={2: {"fault": "status", "status": 500}})
    async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
        codes = [
            (await client.post(sim.base_url + "/chat/completions", json=body())).status_code
            for _ in range(3)
        ]
    assert codes == [200, 500, 200]


async def test_client_disconnect_is_detected_and_counted() -> None:
    async with SimServer(SimConfig(tokens_per_s=20, ttft=0, output_tokens=500)) as sim:
        async with httpx.AsyncClient() as client:
            async with client.stream("POST", sim.base_url + "/chat/completions", json=body()) as r:
                async for _ in r.aiter_raw():
                    break  # hang up after the first bytes
        await until(lambda: sim.stats.disconnects == 1 and sim.stats.in_flight == 0)
    record = sim.stats.records[-1]
    assert record.disconnected and not record.done and record.tokens_sent < 500


def gauge(text: str, name: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(name + "{"))
    return float(line.rsplit(" ", 1)[1])


async def test_metrics_reflect_running_and_waiting_requests() -> None:
    cfg = SimConfig(**FAST, max_num_seqs=2)
    stalled = body({"fault": "stall", "after": 1, "seconds": 60})
    async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
        url = sim.base_url + "/chat/completions"

        async def hold(started: asyncio.Event) -> None:
            async with client.stream("POST", url, json=stalled) as r:
                async for _ in r.aiter_raw():
                    started.set()

        events = [asyncio.Event() for _ in range(3)]
        tasks = [asyncio.create_task(hold(e)) for e in events]
        await until(lambda: sim.stats.in_flight == 3 and sim.stats.waiting == 1)
        text = (await client.get(sim.root_url + "/metrics")).text
        assert gauge(text, "vllm:num_requests_running") == 2.0
        assert gauge(text, "vllm:num_requests_waiting") == 1.0
        assert 0 < gauge(text, "vllm:kv_cache_usage_perc") < 1
        assert sim.stats.max_in_flight == 3
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await until(lambda: sim.stats.in_flight == 0)
        text = (await client.get(sim.root_url + "/metrics")).text
    assert gauge(text, "vllm:num_requests_running") == 0.0
    assert gauge(text, "vllm:num_requests_waiting") == 0.0
    assert gauge(text, "vllm:kv_cache_usage_perc") == 0.0
    assert sim.stats.disconnects == 3
    sim.reset_stats()
    assert sim.stats.requests == 0 and sim.stats.max_in_flight == 0 and not sim.stats.records


async def test_metrics_count_generated_tokens() -> None:
    async with SimServer(SimConfig(**FAST)) as sim, httpx.AsyncClient() as client:
        await client.post(sim.base_url + "/chat/completions", json=body())
        text = (await client.get(sim.root_url + "/metrics")).text
    assert gauge(text, "vllm:generation_tokens_total") == 10 + 1
    assert gauge(text, "vllm:prompt_tokens_total") == sim.stats.prompt_tokens > 0


async def test_faults_on_non_streaming_requests() -> None:
    cfg = SimConfig(**FAST)
    plain = {"messages": MESSAGES}
    async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
        url = sim.base_url + "/chat/completions"
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(url, json={**plain, "sim": {"fault": "disconnect"}})
        error = await client.post(url, json={**plain, "sim": {"fault": "error", "message": "x"}})
        broken = await client.post(url, json={**plain, "sim": {"fault": "malformed"}})
        slow = await client.post(url, json={**plain, "sim": {"fault": "stall", "seconds": 0.01}})
    assert error.status_code == 500 and error.json()["error"]["message"] == "x"
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        json.loads(broken.content)
    assert slow.json()["choices"][0]["message"]["content"] == expected_text(cfg, plain)[0]
    assert sim.stats.by_status == {500: 1, 200: 2} and sim.stats.disconnects == 0


async def test_fault_directive_in_the_prompt_text() -> None:
    """Faults can be triggered from any front end by writing a directive in the prompt."""
    cfg = SimConfig(**FAST)
    prompt = {
        "role": "user",
        "content": "Explain caching [[sim fault=status status=429 retry_after=3]]",
    }
    bad = {"role": "user", "content": "hi [[sim fault=explode]]"}
    async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
        url = sim.base_url + "/chat/completions"
        limited = await client.post(url, json={"messages": [prompt]})
        typo = await client.post(url, json={"messages": [bad]})
        plain = await client.post(url, json={"messages": [{"role": "user", "content": "[[sim]]"}]})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert typo.status_code == 400 and "explode" in typo.json()["error"]["message"]
    assert plain.status_code == 200
