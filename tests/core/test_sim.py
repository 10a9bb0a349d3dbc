"""The simulator speaks vLLM's dialect: framing, JSON shapes, n > 1, reasoning, routes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from agentdeck.sim import SimConfig, SimServer, expected_text

# Captured from vLLM 0.32.0 (see ../shared/peers/vllm/samples.md), trimmed to one of each kind.
VLLM_ROLE = (
    b'{"id":"chatcmpl-b96980fbac5929ad","object":"chat.completion.chunk","created":1795625913,'
    b'"model":"tiny-llama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"lo'
    b'gprobs":null,"finish_reason":null}],"prompt_token_ids":null,"prompt_text":null}'
)
VLLM_DELTA = (
    b'{"id":"chatcmpl-b96980fbac5929ad","object":"chat.completion.chunk","created":1795625913,'
    b'"model":"tiny-llama","choices":[{"index":0,"delta":{"content":"host"},"logprobs":null,"f'
    b'inish_reason":null,"token_ids":null}]}'
)
VLLM_FINISH = (
    b'{"id":"chatcmpl-b96980fbac5929ad","object":"chat.completion.chunk","created":1795625913,'
    b'"model":"tiny-llama","choices":[{"index":0,"delta":{"content":"ON"},"logprobs":null,"fin'
    b'ish_reason":"length","stop_reason":null,"token_ids":null}]}'
)
VLLM_USAGE = (
    b'{"id":"chatcmpl-b96980fbac5929ad","object":"chat.completion.chunk","created":1795625913,'
    b'"model":"tiny-llama","choices":[],"usage":{"prompt_tokens":16,"total_tokens":24,"complet'
    b'ion_tokens":8},"system_fingerprint":"vllm-0.32.0-0bef8187"}'
)
VLLM_REASONING = (
    b'{"id":"chatcmpl-aa3bc806b4ffb489","object":"chat.completion.chunk","created":1795625635,'
    b'"model":"tiny-llama-reasoning","choices":[{"index":0,"delta":{"reasoning":"The"},"logpro'
    b'bs":null,"finish_reason":null,"token_ids":null}]}'
)
VLLM_NONSTREAM = (
    b'{"id":"chatcmpl-bf0dd44053469406","object":"chat.completion","created":1795625634,"model'
    b'":"tiny-llama-reasoning","choices":[{"index":0,"message":{"role":"assistant","content":"'
    b'Hello from tiny llama!","refusal":null,"annotations":null,"audio":null,"function_call":n'
    b'ull,"reasoning":"The user wants a greeting, keep it short."},"logprobs":null,"finish_rea'
    b'son":"stop","stop_reason":null,"token_ids":null,"routed_experts":null}],"service_tier":n'
    b'ull,"system_fingerprint":"vllm-0.32.0-e723464e","usage":{"prompt_tokens":14,"total_token'
    b's":45,"completion_tokens":31,"prompt_tokens_details":null,"completion_tokens_details":{"'
    b'reasoning_tokens":17}},"prompt_logprobs":null,"prompt_token_ids":null,"prompt_text":null'
    b',"kv_transfer_params":null,"ec_transfer_params":null,"metrics":null}'
)
VLLM_MODELS = (
    b'{"object":"list","data":[{"id":"tiny-llama","object":"model","created":1795625913,"owned'
    b'_by":"vllm","root":"<peer home>/models/tiny-llama","parent":null,"max_model_len":1024,"p'
    b'ermission":[{"id":"modelperm-a0aa0e4ed59e7bf1","object":"model_permission","created":179'
    b'5625913,"allow_create_engine":false,"allow_sampling":true,"allow_logprobs":true,"allow_s'
    b'earch_indices":false,"allow_view":true,"allow_fine_tuning":false,"organization":"*","gro'
    b'up":null,"is_blocking":false}]}]}'
)

FAST = dict(tokens_per_s=0, ttft=0, seed=7)
MESSAGES = [{"role": "user", "content": "Explain how request batching helps a GPU server"}]


def shape(value: Any) -> Any:
    """Keys in order and value kinds, so two JSON documents compare by structure, not content."""
    if isinstance(value, dict):
        return [(k, shape(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


def events(raw: bytes) -> list[bytes]:
    """Split an SSE body the way vLLM frames it: ``data: <payload>`` + blank line, LF only."""
    assert b"\r" not in raw
    assert raw.endswith(b"\n\n")
    parts = raw[:-2].split(b"\n\n")
    for part in parts:
        assert part.startswith(b"data: ") and b"\n" not in part, part[:80]
    return [p[6:] for p in parts]


def texts(payloads: list[bytes]) -> dict[int, dict[str, str]]:
    """Aggregate content and reasoning per choice index."""
    out: dict[int, dict[str, str]] = {}
    for p in payloads[:-1]:
        for c in json.loads(p)["choices"]:
            slot = out.setdefault(c["index"], {"content": "", "reasoning": ""})
            for key in ("content", "reasoning"):
                slot[key] += c["delta"].get(key) or ""
    return out


async def post(sim: SimServer, body: dict, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(sim.base_url + "/chat/completions", json=body, **kw)


async def test_stream_is_framed_and_shaped_like_vllm() -> None:
    cfg = SimConfig(output_tokens=12, **FAST)
    body = {
        "model": "sim-model",
        "messages": MESSAGES,
        "stream": True,
        "max_tokens": 8,
        "stream_options": {"include_usage": True},
    }
    async with SimServer(cfg) as sim:
        r = await post(sim, body)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert r.headers["transfer-encoding"] == "chunked"
    payloads = events(r.content)
    assert payloads[-1] == b"[DONE]"
    role, *deltas, finish, usage = [json.loads(p) for p in payloads[:-1]]
    assert shape(role) == shape(json.loads(VLLM_ROLE))
    for d in deltas:
        assert shape(d) == shape(json.loads(VLLM_DELTA))
    assert shape(finish) == shape(json.loads(VLLM_FINISH))
    assert shape(usage) == shape(json.loads(VLLM_USAGE))
    # Compact JSON, exactly as vLLM writes it.
    assert payloads[1] == json.dumps(deltas[0], separators=(",", ":"), ensure_ascii=False).encode()
    assert role["id"].startswith("chatcmpl-") and len(role["id"]) == 25
    assert {e["id"] for e in deltas} == {role["id"]}
    assert finish["choices"][0]["finish_reason"] == "length"
    assert usage["usage"] == {
        "prompt_tokens": usage["usage"]["prompt_tokens"],
        "total_tokens": usage["usage"]["prompt_tokens"] + 8,
        "completion_tokens": 8,
    }
    assert texts(payloads)[0]["content"] == expected_text(cfg, body)[0]


async def test_natural_end_is_stop_and_no_usage_without_include_usage() -> None:
    cfg = SimConfig(output_tokens=5, **FAST)
    body = {"messages": MESSAGES, "stream": True}
    async with SimServer(cfg) as sim:
        payloads = events((await post(sim, body)).content)
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["choices"] for c in chunks), "no usage chunk unless include_usage"
    # As vLLM does on EOS: an empty content delta carries "stop"; with no usage chunk to
    # come, the finish chunk carries system_fingerprint itself.
    last = chunks[-1]
    assert last["choices"][0]["delta"] == {"content": ""}
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["choices"][0]["stop_reason"] is None
    assert list(last)[-1] == "system_fingerprint"
    assert len(chunks) == 1 + 5 + 1  # role, one chunk per token, EOS


async def test_n3_interleaves_choices_with_one_usage_chunk() -> None:
    cfg = SimConfig(output_tokens=6, **FAST)
    body = {"messages": MESSAGES, "stream": True, "n": 3, "stream_options": {"include_usage": True}}
    async with SimServer(cfg) as sim:
        payloads = events((await post(sim, body)).content)
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert [c["choices"][0]["index"] for c in chunks[:3]] == [0, 1, 2]
    assert all(c["choices"][0]["delta"] == {"role": "assistant", "content": ""} for c in chunks[:3])
    order = [c["choices"][0]["index"] for c in chunks[3:-1]]
    assert order[:6] == [0, 1, 2, 0, 1, 2], "choices advance together, routed by index"
    finishes = [
        c["choices"][0]["index"]
        for c in chunks
        if c["choices"] and c["choices"][0]["finish_reason"]
    ]
    assert sorted(finishes) == [0, 1, 2]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3 * (6 + 1)
    got = texts(payloads)
    assert {i: got[i]["content"] for i in range(3)} == {
        i: expected_text(cfg, body, i)[0] for i in range(3)
    }
    assert len({got[i]["content"] for i in range(3)}) == 3, "each choice gets its own text"


async def test_reasoning_comes_first_in_delta_reasoning() -> None:
    cfg = SimConfig(output_tokens=10, reasoning=True, reasoning_tokens=12, **FAST)
    body = {"messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    async with SimServer(cfg) as sim:
        payloads = events((await post(sim, body)).content)
    chunks = [json.loads(p) for p in payloads[1:-2]]
    kinds = [next(iter(c["choices"][0]["delta"])) for c in chunks]
    assert kinds == ["reasoning"] * 12 + ["content"] * (10 + 1)
    assert shape(chunks[0]) == shape(json.loads(VLLM_REASONING))
    got = texts(payloads)[0]
    content, reasoning = expected_text(cfg, body)
    assert (got["content"], got["reasoning"]) == (content, reasoning)
    assert reasoning.startswith("Okay, the user is asking about")
    usage = json.loads(payloads[-2])["usage"]
    assert usage["completion_tokens"] == 12 + 10 + 1
    assert usage["completion_tokens_details"] == {"reasoning_tokens": 12}


async def test_reasoning_field_can_be_reasoning_content() -> None:
    cfg = SimConfig(
        output_tokens=2,
        reasoning=True,
        reasoning_tokens=2,
        reasoning_field="reasoning_content",
        **FAST,
    )
    async with SimServer(cfg) as sim:
        payloads = events((await post(sim, {"messages": MESSAGES, "stream": True})).content)
    assert "reasoning_content" in json.loads(payloads[1])["choices"][0]["delta"]


async def test_non_streaming_reply_matches_vllm_shape() -> None:
    cfg = SimConfig(output_tokens=9, reasoning=True, reasoning_tokens=4, **FAST)
    body = {"model": "sim-model", "messages": MESSAGES}
    async with SimServer(cfg) as sim:
        r = await post(sim, body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()
    assert shape(data) == shape(json.loads(VLLM_NONSTREAM))
    message = data["choices"][0]["message"]
    assert (message["content"], message["reasoning"]) == expected_text(cfg, body)
    assert data["usage"]["completion_tokens"] == 4 + 9 + 1  # reasoning, content, EOS
    assert data["usage"]["completion_tokens_details"] == {"reasoning_tokens": 4}


async def test_text_is_deterministic_per_seed_and_fresh_without_one() -> None:
    body = {"messages": MESSAGES, "max_tokens": 40}
    a = expected_text(SimConfig(seed=1), body)[0]
    assert a == expected_text(SimConfig(seed=1), body)[0]
    assert a != expected_text(SimConfig(seed=2), body)[0]
    assert a != expected_text(SimConfig(seed=1), {**body, "seed": 5})[0]
    with pytest.raises(ValueError, match="seed"):
        expected_text(SimConfig(), body)
    async with SimServer(SimConfig(tokens_per_s=0, ttft=0)) as sim:
        one = (await post(sim, body)).json()["choices"][0]["message"]["content"]
        two = (await post(sim, body)).json()["choices"][0]["message"]["content"]
        seeded = [
            (await post(sim, {**body, "seed": 3})).json()["choices"][0]["message"]["content"]
            for _ in range(2)
        ]
    assert one != two, "without a seed, repeated prompts get fresh text (the demo looks alive)"
    assert seeded[0] == seeded[1] == expected_text(SimConfig(), {**body, "seed": 3})[0]


async def test_text_looks_like_markdown_and_echoes_the_prompt() -> None:
    body = {"messages": [{"role": "user", "content": "Tell me about quantization and pruning"}]}
    content = expected_text(SimConfig(seed=4, output_tokens=900), body)[0]
    assert "## " in content and "\n- " in content and "**" in content and "```" in content
    assert "quantization" in content or "pruning" in content


@pytest.mark.parametrize(
    ("extra", "count", "finish"),
    [
        ({"max_tokens": 4}, 4, "length"),
        ({"max_completion_tokens": 3}, 3, "length"),
        ({"max_tokens": 50}, 10 + 1, "stop"),  # the EOS token counts, as in vLLM
        ({"max_tokens": 10}, 10, "length"),  # the text fits but the EOS does not
        ({"max_tokens": 30, "ignore_eos": True}, 30, "length"),
        ({"max_tokens": 30, "min_tokens": 20}, 20 + 1, "stop"),
    ],
)
async def test_length_limits_follow_vllm(extra: dict, count: int, finish: str) -> None:
    cfg = SimConfig(output_tokens=10, **FAST)
    async with SimServer(cfg) as sim:
        data = (await post(sim, {"messages": MESSAGES, **extra})).json()
    assert data["usage"]["completion_tokens"] == count
    assert data["choices"][0]["finish_reason"] == finish


async def test_stop_string_cuts_the_text_and_names_itself() -> None:
    cfg = SimConfig(output_tokens=300, **FAST)
    full = expected_text(cfg, {"messages": MESSAGES})[0]
    stop = full.split()[12]
    async with SimServer(cfg) as sim:
        choice = (await post(sim, {"messages": MESSAGES, "stop": [stop]})).json()["choices"][0]
    assert choice["message"]["content"] == full[: full.index(stop)]
    assert (choice["finish_reason"], choice["stop_reason"]) == ("stop", stop)


async def test_prompt_plus_max_tokens_over_context_is_capped_not_refused() -> None:
    cfg = SimConfig(output_tokens=100, max_model_len=40, **FAST)
    async with SimServer(cfg) as sim:
        data = (await post(sim, {"messages": MESSAGES, "max_tokens": 40})).json()
    usage = data["usage"]
    assert usage["total_tokens"] == 40 and data["choices"][0]["finish_reason"] == "length"


async def test_models_health_version() -> None:
    async with SimServer(SimConfig(models=("a", "b"), max_model_len=1024)) as sim:
        async with httpx.AsyncClient() as client:
            models = await client.get(sim.base_url + "/models")
            health = await client.get(sim.root_url + "/health")
            version = await client.get(sim.root_url + "/version")
    data = models.json()
    assert shape(data["data"][0]) == shape(json.loads(VLLM_MODELS)["data"][0])
    assert [m["id"] for m in data["data"]] == ["a", "b"]
    assert data["data"][0]["max_model_len"] == 1024
    assert health.status_code == 200 and health.content == b""
    assert health.headers["content-length"] == "0"
    assert "version" in version.json()


async def test_tokenize_detokenize_round_trip_and_match_usage() -> None:
    text = "Hello, wörld!\n  Tokenizers_are   fun: 12345 ✓ internationalization"
    async with SimServer(SimConfig(max_model_len=2048, **FAST)) as sim:
        async with httpx.AsyncClient() as client:
            tok = (
                await client.post(
                    sim.root_url + "/tokenize",
                    json={"model": "sim-model", "prompt": text, "return_token_strs": True},
                )
            ).json()
            detok = (
                await client.post(
                    sim.root_url + "/detokenize",
                    json={"model": "sim-model", "tokens": tok["tokens"]},
                )
            ).json()
            again = (await client.post(sim.root_url + "/tokenize", json={"prompt": text})).json()
            chat = (
                await client.post(sim.root_url + "/tokenize", json={"messages": MESSAGES})
            ).json()
            reply = (
                await client.post(sim.base_url + "/chat/completions", json={"messages": MESSAGES})
            ).json()
            unknown = await client.post(sim.root_url + "/detokenize", json={"tokens": [10**9]})
            negative = await client.post(sim.root_url + "/detokenize", json={"tokens": [-1]})
            neither = await client.post(sim.root_url + "/tokenize", json={"model": "sim-model"})
    assert list(tok) == ["count", "max_model_len", "tokens", "token_strs"]
    assert tok["count"] == len(tok["tokens"]) and tok["max_model_len"] == 2048
    assert "".join(tok["token_strs"]) == text
    assert detok == {"prompt": text}
    assert again["tokens"] == tok["tokens"] and again["token_strs"] is None
    assert chat["count"] == reply["usage"]["prompt_tokens"]
    # What vLLM 0.32 answers (checked against the peer): unknown ids decode to nothing.
    assert unknown.status_code == 200 and unknown.json() == {"prompt": ""}
    assert negative.status_code == 400 and negative.json()["error"] == {
        "message": "1 validation error:\n  {'type': 'greater_than_equal', 'loc': "
        "'body.tokens.0', 'msg': 'Input should be greater than or equal to 0', "
        "'input': '-1', 'ctx': {'ge': 0}}",
        "type": "Bad Request",
        "param": "body.tokens.0",
        "code": 400,
    }
    assert neither.status_code == 400 and neither.json()["error"] == {
        "message": "2 validation errors:\n  {'type': 'missing', 'loc': 'body.prompt', 'msg': "
        "'Field required', 'input': '<dict of 1 items>'}\n  {'type': 'missing', 'loc': "
        "'body.messages', 'msg': 'Field required', 'input': '<dict of 1 items>'}",
        "type": "Bad Request",
        "param": "body.prompt",
        "code": 400,
    }


def test_demo_config_varies_lengths_and_thinks() -> None:
    cfg = SimConfig.demo(seed=1)
    lengths = set()
    for i in range(6):
        content, reasoning = expected_text(cfg, {"messages": [{"role": "user", "content": str(i)}]})
        assert reasoning and content
        lengths.add(len(content))
    assert len(lengths) > 1, "answers of different lengths look alive in a demo"


def test_long_prompts_wait_for_prefill() -> None:
    from agentdeck.sim.plan import build_plan

    cfg = SimConfig(ttft=0.1, prefill_tokens_per_s=1000, seed=1)
    long = build_plan(cfg, {"messages": [{"role": "user", "content": "word " * 2000}]})
    short = build_plan(cfg, {"messages": [{"role": "user", "content": "word"}]})
    assert long.ttft > 2.0 > short.ttft >= 0.1
