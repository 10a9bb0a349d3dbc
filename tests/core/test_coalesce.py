"""The text chunks of one socket read come as one ``Delta`` per choice, in order, counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from servers import USAGE, Conn, Request, ScriptServer, chunk_obj

from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import MalformedChunkError, ServerStreamError
from agentdeck.events import ChoiceFinished, Delta, StreamFinished, TextDelta
from agentdeck.systems import MultiCallSystem
from agentdeck.tui.live import LiveRun

MSG = [{"role": "user", "content": "hi"}]


def sse(*objs: dict | bytes) -> bytes:
    return b"".join(o if isinstance(o, bytes) else b"data: " + json.dumps(o).encode() + b"\n\n"
                    for o in objs)


def one_write(*objs: dict | bytes, done: bool = True):
    """A handler sending every event in ONE HTTP chunk: the client gets them in one read."""
    async def handler(request: Request, conn: Conn) -> None:
        await conn.start_stream()
        await conn.chunk(sse(*objs, *([b"data: [DONE]\n\n"] if done else [])))
        await conn.end()
    return handler


def model_for(server: ScriptServer) -> VLLMModel:
    return VLLMModel("m", server.url, None, backoff_base=0.001)


async def collect(model: VLLMModel, **kw) -> list:
    return [event async for event in model.stream(MSG, **kw)]


FIVE = [chunk_obj("He"), chunk_obj("llo"), chunk_obj(", "), chunk_obj("wör"), chunk_obj("ld")]


async def test_five_events_in_one_write_are_one_delta_with_five_tokens() -> None:
    async with ScriptServer(one_write(*FIVE, chunk_obj("", finish="stop"), USAGE)) as srv:
        async with model_for(srv) as model:
            events = await collect(model)
    assert events[:2] == [Delta("Hello, wörld", "", 0, 5), ChoiceFinished(0, "stop")]
    finished = events[-1]
    assert isinstance(finished, StreamFinished) and len(events) == 3
    assert finished.completion.text == "Hello, wörld"
    assert finished.completion.metrics.output_tokens == 2  # usage wins; the clock saw 5 chunks


async def test_chunk_count_still_feeds_the_metrics_fallback() -> None:
    async with ScriptServer(one_write(*FIVE, chunk_obj("", finish="stop"))) as srv:
        async with model_for(srv) as model:
            completion = await model.complete(MSG)
    assert completion.usage is None and completion.metrics.output_tokens == 5


async def test_reasoning_after_content_in_one_read_keeps_the_order() -> None:
    objs = [chunk_obj(reasoning="a"), chunk_obj(reasoning="b"), chunk_obj("C"), chunk_obj("D"),
            chunk_obj(reasoning="e"), chunk_obj("F", finish="stop")]
    async with ScriptServer(one_write(*objs)) as srv:
        async with model_for(srv) as model:
            events = await collect(model)
            pieces = [p async for p in model.call_stream(MSG)]
    # reasoning then content within one Delta; reasoning after content starts the next one
    assert events[:3] == [Delta("CD", "ab", 0, 4), Delta("F", "e", 0, 2), ChoiceFinished(0, "stop")]
    assert "".join(pieces) == "<think>ab</think>CD<think>e</think>F"
    completion = events[-1].completion
    assert (completion.reasoning, completion.text) == ("abe", "CDF")


async def test_pending_text_of_every_choice_comes_before_a_finish() -> None:
    objs = [chunk_obj("a"), chunk_obj("b", index=1), chunk_obj("c", finish="stop"),
            chunk_obj("d", index=1, finish="length")]
    async with ScriptServer(one_write(*objs)) as srv:
        async with model_for(srv) as model:
            events = await collect(model, n=2)
    assert events[:5] == [Delta("ac", "", 0, 2), Delta("b", "", 1, 1), ChoiceFinished(0, "stop"),
                          Delta("d", "", 1, 1), ChoiceFinished(1, "length")]
    assert [c.content for c in events[-1].completion.choices] == ["ac", "bd"]


@pytest.mark.parametrize("bad, error", [
    (b"data: {not json\n\n", MalformedChunkError),
    ({"error": {"message": "boom", "type": "x", "code": 500}}, ServerStreamError),
])
async def test_an_error_inside_a_read_follows_the_text_before_it(bad, error) -> None:
    objs = [chunk_obj("ab"), chunk_obj("c", index=1), chunk_obj("cd"), bad, chunk_obj("never")]
    async with ScriptServer(one_write(*objs, done=False)) as srv:
        async with model_for(srv) as model:
            events: list = []
            with pytest.raises(error) as info:
                async for event in model.stream(MSG, n=2):
                    events.append(event)
    assert events == [Delta("abcd", "", 0, 2), Delta("c", "", 1, 1)]
    assert info.value.partial == "abcd"


async def test_live_run_counts_the_tokens_a_text_delta_carries(tmp_path: Path) -> None:
    live = LiveRun()
    deltas: list[TextDelta] = []
    live_and_log = [live, lambda e: deltas.append(e) if type(e) is TextDelta else None]
    async with ScriptServer(one_write(*FIVE, chunk_obj("", finish="stop"), USAGE)) as srv:
        async with model_for(srv) as model:
            system = MultiCallSystem("m", model, listeners=live_and_log, store=False)
            await system.run("Go", 1, str(tmp_path), "out")
    assert [(d.content, d.tokens) for d in deltas] == [("Hello, wörld", 5)]
    buf = live.buffers["call-01"]
    assert buf.text == "Hello, wörld"
    assert live.total_tokens == 5
    assert buf.tokens == 2  # the final usage replaces the running count


def test_live_run_adds_tokens_not_deltas() -> None:
    live = LiveRun()
    live(TextDelta("r", "w", "abc", "", 1.0, 3))
    live(TextDelta("r", "w", "d", "", 2.0))
    assert live.buffers["w"].tokens == 4 and live.total_tokens == 4
    assert live.buffers["w"].text == "abcd"
