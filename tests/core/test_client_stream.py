"""VLLMModel.stream()/call_stream() over real loopback sockets: vLLM's own bytes and SSE edges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from servers import (
    USAGE,
    Conn,
    Request,
    ScriptServer,
    chunk_obj,
    sample_body,
    simple_handler,
    stream_handler,
)

from agentdeck.client.vllm import VLLMModel
from agentdeck.events import ChoiceFinished, Delta, StreamFinished
from agentdeck.types import GenerationParams

MSG = [{"role": "user", "content": "hi"}]


def model_for(server: ScriptServer, **kw) -> VLLMModel:
    kw.setdefault("backoff_base", 0.001)
    return VLLMModel("tiny-llama", server.url, kw.pop("api_key", None), **kw)


async def collect(model: VLLMModel, **kw) -> list:
    return [event async for event in model.stream(MSG, **kw)]


@pytest.mark.parametrize("pieces", [None, 1, 7, 1000])
async def test_vllm_sample_plain_stream_byte_for_byte(pieces) -> None:
    """The captured vLLM stream, however the bytes are split, gives the exact text and usage."""
    async with ScriptServer(stream_handler(sample_body("chat_stream.body"), pieces=pieces)) as srv:
        async with model_for(srv) as model:
            events = await collect(model, max_tokens=8)
    deltas = [e for e in events if isinstance(e, Delta)]
    assert "".join(d.content for d in deltas) == "hosthosthosthosthosthostONON"
    # the chunks of one socket read come as one Delta: however they were split, 8 in all
    assert sum(d.tokens for d in deltas) == 8 and 1 <= len(deltas) <= 8
    finished = events[-1]
    assert isinstance(finished, StreamFinished)
    completion = finished.completion
    assert completion.finish_reason == "length"
    assert completion.usage.completion_tokens == 8 and completion.usage.prompt_tokens == 16
    assert completion.metrics.output_tokens == 8
    assert completion.request_id == "chatcmpl-b96980fbac5929ad"
    assert completion.model == "tiny-llama"
    assert [e for e in events if isinstance(e, ChoiceFinished)] == [ChoiceFinished(0, "length")]


async def test_request_body_and_headers() -> None:
    """POST {base}/chat/completions with stream, include_usage, params and a Bearer key."""
    async with ScriptServer(simple_handler(["a"])) as srv:
        model = model_for(srv, api_key="sk-secret-123")
        await model.complete(MSG, GenerationParams(temperature=0.5, max_tokens=9), top_k=3)
        await model.close_client()
    request = srv.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-secret-123"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "model": "tiny-llama",
        "messages": MSG,
        "temperature": 0.5,
        "max_tokens": 9,
        "top_k": 3,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def test_n3_choices_routed_by_index() -> None:
    """vLLM's n=3 capture: interleaved choices each aggregate to their own text."""
    async with ScriptServer(stream_handler(sample_body("chat_stream_n3.body"))) as srv:
        async with model_for(srv) as model:
            completion = await model.complete(MSG, n=3)
    texts = [c.content for c in completion.choices]
    assert texts == ["host wmodulesnsoff", "00nterclu whereargument", "'sarningZEir\"\""]
    assert [c.finish_reason for c in completion.choices] == ["length"] * 3
    assert completion.usage.completion_tokens == 15


async def test_n3_missing_one_finish_reason_is_truncation() -> None:
    """A stream is complete only when every choice finished, even with [DONE]."""
    body = sample_body("chat_stream_n3.body").replace(
        b'"argument"},"logprobs":null,"finish_reason":"length"',
        b'"argument"},"logprobs":null,"finish_reason":null',
    )
    from agentdeck.errors import TruncatedStreamError

    async with ScriptServer(stream_handler(body)) as srv:
        async with model_for(srv) as model:
            with pytest.raises(TruncatedStreamError, match="choice 1") as info:
                await model.complete(MSG, n=3)
    assert info.value.partial == "host wmodulesnsoff"


REASONING_STREAM = [
    chunk_obj(""),
    chunk_obj(reasoning="The user"),
    chunk_obj(reasoning=" wants hi."),
    chunk_obj("Hello"),
    chunk_obj(" there", finish="stop"),
    USAGE,
]


def events_handler(objs: list, done: bool = True):
    async def handler(request: Request, conn: Conn) -> None:
        await conn.start_stream()
        for obj in objs:
            if isinstance(obj, bytes):
                await conn.chunk(obj)
            else:
                await conn.event(obj)
        if done:
            await conn.chunk(b"data: [DONE]\n\n")
        await conn.end()

    return handler


async def test_reasoning_kept_apart_and_wrapped_by_call_stream() -> None:
    async with ScriptServer(events_handler(REASONING_STREAM)) as srv:
        async with model_for(srv) as model:
            completion = await model.complete(MSG)
            pieces = [p async for p in model.call_stream(MSG)]
    assert completion.reasoning == "The user wants hi."
    assert completion.text == "Hello there"
    assert "".join(pieces) == "<think>The user wants hi.</think>Hello there"


async def test_reasoning_content_fallback_and_think_in_content_untouched() -> None:
    objs = [
        chunk_obj(""),
        {"choices": [{"index": 0, "delta": {"reasoning_content": "hmm"}}]},
        chunk_obj("<think>x</think>ok", finish="stop"),
    ]
    async with ScriptServer(events_handler(objs)) as srv:
        async with model_for(srv) as model:
            completion = await model.complete(MSG)
            joined = "".join([p async for p in model.call_stream(MSG)])
    assert completion.reasoning == "hmm"
    assert joined == "<think>hmm</think><think>x</think>ok"


async def test_call_stream_seed_api() -> None:
    async with ScriptServer(simple_handler(["Hel", "lo ", "wörld"])) as srv:
        model = VLLMModel("m", srv.url + "/", None)
        pieces = [p async for p in model.call_stream(MSG, temperature=0.1)]
        await model.close_client()
    assert "".join(pieces) == "Hello wörld"  # pieces of one socket read come merged
    assert srv.requests[0].json["temperature"] == 0.1


async def test_nulls_unknown_keys_empty_choices_and_keepalives() -> None:
    """Null fields, unknown keys, a choices-less chunk and SSE comments are all harmless."""
    objs = [
        b": keep-alive\n\n",
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}, "x": 1}]},
        {"choices": [{"index": 0, "delta": None, "finish_reason": None}], "weird": [1, 2]},
        b"event: ping\ndata: {\"choices\": []}\n\n",
        b"id: 7\nretry: 100\n\n",
        {"choices": [{"index": 0, "delta": {"content": "A", "reasoning": None}}]},
        {"object": "chat.completion.chunk"},
        {"choices": [{"delta": {"content": "B"}, "finish_reason": "stop", "index": None}]},
        {"choices": [], "usage": None},
    ]
    async with ScriptServer(events_handler(objs)) as srv:
        async with model_for(srv) as model:
            completion = await model.complete(MSG)
    assert completion.text == "AB"
    assert completion.usage is None
    assert completion.metrics.output_tokens == 2  # counted chunks when there is no usage


async def test_crlf_and_cr_line_ends_split_everywhere() -> None:
    """A server using CRLF/CR framing, sent one byte per HTTP chunk, decodes the same."""
    body = (
        b"data: " + json.dumps(chunk_obj("é漢")).encode() + b"\r\n\r\n"
        b"data: " + json.dumps(chunk_obj("2", finish="stop")).encode() + b"\r\r"
        b"data: [DONE]\r\n\r\n"
    )
    async with ScriptServer(stream_handler(body, pieces=len(body))) as srv:
        async with model_for(srv) as model:
            completion = await model.complete(MSG)
    assert completion.text == "é漢2"


async def test_end_without_done_but_finished_is_success() -> None:
    async with ScriptServer(events_handler([chunk_obj("x", finish="stop")], done=False)) as srv:
        async with model_for(srv) as model:
            completion = await model.complete(MSG)
    assert completion.text == "x" and completion.finish_reason == "stop"


@pytest.mark.parametrize(
    "given",
    ["{root}", "{root}/", "{root}/v1", "{root}/v1/", "{root}/v1/chat/completions", " {root}/v1 "],
)
async def test_api_url_normalised(given: str) -> None:
    async with ScriptServer(simple_handler(["ok"])) as srv:
        async with VLLMModel("m", given.format(root=srv.root)) as model:
            assert model.base_url == srv.url and model.root_url == srv.root
            assert (await model.complete(MSG)).text == "ok"
    assert srv.requests[0].path == "/v1/chat/completions"


async def test_default_params_merged_under_call_params() -> None:
    async with ScriptServer(simple_handler(["ok"])) as srv:
        defaults = GenerationParams(temperature=0.2, max_tokens=5, extra={"top_k": 2})
        async with model_for(srv, default_params=defaults) as model:
            await model.complete(MSG, GenerationParams(max_tokens=7), min_p=0.1)
    body = srv.requests[0].json
    assert (body["temperature"], body["max_tokens"], body["top_k"], body["min_p"]) == (
        0.2, 7, 2, 0.1,
    )


async def test_metrics_are_filled() -> None:
    async with ScriptServer(simple_handler(["a", "b", "c"])) as srv:
        async with model_for(srv) as model:
            metrics = (await model.complete(MSG)).metrics
    assert metrics.ttft is not None and 0 <= metrics.ttft <= metrics.e2e
    assert metrics.output_tokens == 2  # usage says 2, usage wins over the chunk count
    assert metrics.itl_mean is not None and metrics.itl_p99 >= 0
    assert metrics.tokens_per_s > 0


REASONING_CAPTURE = Path(__file__).parent / "data" / "vllm_reasoning_stream.sse"


@pytest.mark.parametrize("pieces", [None, 5])
async def test_vllm_reasoning_capture_byte_for_byte(pieces) -> None:
    """A stream captured from the peer's reasoning model (--reasoning-parser deepseek_r1)."""
    body = REASONING_CAPTURE.read_bytes()
    async with ScriptServer(stream_handler(body, pieces=pieces)) as srv:
        async with model_for(srv) as model:
            completion = await model.complete(MSG)
            joined = "".join([p async for p in model.call_stream(MSG)])
    assert completion.reasoning == "The user wants a greeting, keep it short."
    assert completion.text == "Hello from tiny llama!"
    assert completion.usage.reasoning_tokens == 17 and completion.usage.completion_tokens == 31
    assert joined == f"<think>{completion.reasoning}</think>{completion.text}"


async def test_server_ignoring_stream_true_still_works() -> None:
    """A 200 JSON chat.completion (no SSE) becomes the same events."""
    reply = sample_body("reasoning_chat_nonstream.body").rstrip(b"\n")

    async def handler(request: Request, conn: Conn) -> None:
        await conn.respond(200, reply, {"content-type": "application/json"})

    async with ScriptServer(handler) as srv:
        async with model_for(srv) as model:
            completion = await model.complete(MSG)
    assert completion.text == "Hello from tiny llama!"
    assert completion.reasoning == "The user wants a greeting, keep it short."
    assert completion.finish_reason == "stop" and completion.usage.reasoning_tokens == 17


async def test_html_200_is_a_clear_error() -> None:
    from agentdeck.errors import ProtocolError

    async def handler(request: Request, conn: Conn) -> None:
        page = "<html><title>Sign in</title></html>"
        await conn.respond(200, page, {"content-type": "text/html"})

    async with ScriptServer(handler) as srv:
        async with model_for(srv) as model:
            with pytest.raises(ProtocolError, match="not an event stream.*Sign in"):
                await model.complete(MSG)
    assert len(srv.requests) == 1  # not retried: a resend gets the same page
