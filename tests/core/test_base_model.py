"""``BaseModel`` as the seed promises: a model that implements only ``call_stream`` (or only
``stream``) works with every agent and system; one that implements neither fails clearly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from servers import Conn, Request, ScriptServer, chunk_obj

from agentdeck.client.model import BaseModel, ThinkSplitter
from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import TruncatedStreamError
from agentdeck.events import ChoiceFinished, Delta, StreamFinished, WorkerFailed
from agentdeck.systems import ChainOfAgents, Debate, MultiCallSystem
from agentdeck.systems.agents import BasicAgent, ContextAgent

MSG = [{"role": "user", "content": "hi"}]


class Toy(BaseModel):
    """The seed's way to add a model: only ``call_stream``, yielding text in small pieces."""

    model_name = "toy"

    def __init__(self) -> None:
        self.produced: list[str] = []
        self.asked: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []

    async def call_stream(self, messages: list[dict[str, Any]], **kwargs: Any):
        self.asked.append((messages, kwargs))
        number = len(self.produced) + 1
        text = f"<think>call {number} reads {len(messages[-1]['content'])} chars</think>"
        text += f"Reply {number}.\nAnswer: 7"
        self.produced.append(text)
        for i in range(0, len(text), 3):  # pieces cut through the tags
            await asyncio.sleep(0)
            yield text[i : i + 3]


def content_of(text: str) -> str:
    return text.split("</think>", 1)[1]


async def test_a_call_stream_only_model_streams_events() -> None:
    """Regression: such a model could not even be instantiated (stream() was abstract)."""
    toy = Toy()
    events = [event async for event in toy.stream(MSG, temperature=0.5)]
    assert toy.asked[0][1] == {"temperature": 0.5}
    deltas = [e for e in events if type(e) is Delta]
    assert "".join(d.reasoning for d in deltas) == "call 1 reads 2 chars"
    assert "".join(d.content for d in deltas) == "Reply 1.\nAnswer: 7"
    assert events[-2] == ChoiceFinished(0, "stop")
    completion = events[-1].completion
    assert type(events[-1]) is StreamFinished and completion.finish_reason == "stop"
    assert (completion.text, completion.reasoning) == ("Reply 1.\nAnswer: 7", "call 1 reads 2 chars")
    assert completion.usage is None and completion.model == "toy"
    assert completion.metrics.ttft is not None and completion.metrics.output_tokens == len(deltas)
    # And back: the seed's API gives exactly the text the toy produced.
    assert "".join([p async for p in toy.call_stream(MSG)]) == toy.produced[-1]


async def test_toy_under_basic_and_context_agents() -> None:
    toy = Toy()
    answer = await BasicAgent("a", toy, system_prompt="Be brief.", store=False).run(
        "hi", temperature=0.2)
    assert answer == toy.produced[-1]
    assert toy.asked[-1] == ([{"role": "system", "content": "Be brief."},
                              {"role": "user", "content": "hi"}], {"temperature": 0.2})
    agent = ContextAgent("c", toy, "The sky is green here.", store=False)
    assert await agent.run("What colour is the sky?") == toy.produced[-1]
    assert "The sky is green here." in toy.asked[-1][0][-1]["content"]
    assert agent.last_outcome.finish_reason == "stop"


async def test_toy_under_chain_of_agents() -> None:
    """The toy has no tokenizer and no window: the chain estimates, as it does elsewhere."""
    toy = Toy()
    chain = ChainOfAgents("c", toy, chunk_size=64, store=False)
    text = "\n\n".join(f"Paragraph {i}: " + "word " * 40 for i in range(6))
    answer = await chain.run("What is it about?", text)
    result = chain.last_result
    assert len(result.units) >= 2 and len(toy.produced) == len(result.units) + 1
    assert answer == toy.produced[-1]
    assert result.units == [content_of(t).strip() for t in toy.produced[:-1]]
    assert result.budget is not None and not result.budget.exact


@pytest.mark.parametrize("aggregate", [None, "vote"])
async def test_toy_under_multi_call(aggregate: str | None) -> None:
    toy = Toy()
    multi = MultiCallSystem("m", toy, store=False)
    options = {"aggregate": aggregate} if aggregate else {}
    files = await multi.run("Pick a number", 3, output_dir=None, **options)
    result = multi.last_result
    assert set(files) == set(result.outcomes) and len(files) == 3
    assert all(o.ok and o.finish_reason == "stop" for o in result.outcomes.values())
    assert sorted(o.text for o in result.outcomes.values()) == sorted(toy.produced)
    if aggregate:
        assert result.aggregate.answer == "7" and result.aggregate.vote.counts == {"7": 3}
    else:
        assert result.aggregate is None


async def test_toy_under_debate() -> None:
    toy = Toy()
    result = await Debate("d", toy, agents=2, rounds=1, store=False).run("Pick a number")
    assert len(toy.produced) == 4 and not result.failed
    assert sorted(result.answers) == sorted(content_of(t) for t in toy.produced[2:])
    assert result.answer == "7"


class DeltasOnly(BaseModel):
    """A user's ``stream()`` that yields text and simply ends (no finish events)."""

    async def stream(self, messages: Any, params: Any = None, **kwargs: Any):
        yield Delta("", "hm")
        yield Delta("Hel", "")
        yield Delta("lo", "")


async def test_a_user_stream_without_finish_events_is_completed() -> None:
    """Regression: it ended in TruncatedStreamError, though the model did nothing wrong."""
    model = DeltasOnly()
    assert await BasicAgent("a", model, store=False).run("hi") == "<think>hm</think>Hello"
    completion = await model.complete(MSG)
    assert (completion.text, completion.reasoning, completion.finish_reason) == (
        "Hello", "hm", "stop")
    assert "".join([p async for p in model.call_stream(MSG)]) == "<think>hm</think>Hello"


async def test_a_user_stream_keeps_its_own_finish() -> None:
    class Finishing(BaseModel):
        async def stream(self, messages: Any, params: Any = None, **kwargs: Any):
            yield Delta("cut", "")
            yield ChoiceFinished(0, "length")

    events = [e async for e in Finishing().stream(MSG)]
    assert [type(e) for e in events] == [Delta, ChoiceFinished, StreamFinished]
    assert events[-1].completion.finish_reason == "length"


async def test_a_completed_stream_is_wrapped_once() -> None:
    """Regression: a subclass taking over its parent's (already completed) stream() wrapped it
    a second time: two completing layers, one more generator step for every event."""

    class Renamed(DeltasOnly):
        stream = DeltasOnly.stream

    class Passing(DeltasOnly):
        strict_stream = True  # it passes the parent's events on: the parent's layer completes

        async def stream(self, messages: Any, params: Any = None, **kwargs: Any):
            async for event in super().stream(messages, params, **kwargs):
                yield event

    assert Renamed.stream is DeltasOnly.stream
    assert not hasattr(Passing.stream, "__wrapped__")
    for cls in (Renamed, Passing):
        events = [e async for e in cls().stream(MSG)]
        assert [type(e) for e in events[-2:]] == [ChoiceFinished, StreamFinished]
        assert events[-1].completion.text == "Hello"


def test_a_model_implementing_neither_fails_at_instantiation() -> None:
    class Empty(BaseModel):
        model_name = "empty"

    with pytest.raises(TypeError, match=r"Empty must implement stream\(\) .* or call_stream\(\)"):
        Empty()


async def test_the_server_helpers_have_safe_defaults() -> None:
    toy = Toy()
    assert await toy.tokenize("abc") is None and await toy.detokenize([1]) is None
    assert await toy.max_model_len() is None and await toy.server_metrics() is None
    assert await toy.list_models() == [{"id": "toy"}]
    assert await toy.health() == 0.0
    async with toy:
        pass
    await toy.close_client()


class LoggingVLLM(VLLMModel):
    """A user's subclass that wraps VLLMModel.stream (as tests' RecordingModel does)."""

    def stream(self, messages: Any, params: Any = None, **kwargs: Any) -> Any:
        return super().stream(messages, params, **kwargs)


@pytest.mark.parametrize("cls", [VLLMModel, LoggingVLLM])
async def test_vllm_stays_strict_about_a_stream_without_finish_reason(cls: type) -> None:
    """A server that stops without a finish reason is still a truncation, not a completion."""

    async def cut_short(request: Request, conn: Conn) -> None:
        await conn.start_stream()
        await conn.event(chunk_obj("Hel"))
        await conn.end()

    failed: list[WorkerFailed] = []
    async with ScriptServer(cut_short) as srv:
        async with cls("m", srv.url) as model:
            agent = BasicAgent("a", model, store=False, listeners=[
                lambda e: failed.append(e) if isinstance(e, WorkerFailed) else None])
            with pytest.raises(TruncatedStreamError, match="before a finish reason"):
                await agent.run("hi")
    assert failed and failed[0].partial == "Hel"


@pytest.mark.parametrize("cut", range(1, 12))
def test_think_tags_cut_anywhere_are_split_out(cut: int) -> None:
    text = "<think>a < b</think>so <b>x</b></think>"
    pieces = [text[i : i + cut] for i in range(0, len(text), cut)]
    split = ThinkSplitter()
    parts = [part for piece in pieces for part in split.feed(piece)] + split.end()
    reasoning = "".join(t for thinking, t in parts if thinking)
    content = "".join(t for thinking, t in parts if not thinking)
    assert (reasoning, content) == ("a < b", "so <b>x</b></think>")


def test_a_tag_start_at_the_very_end_is_text() -> None:
    split = ThinkSplitter()
    assert split.feed("x <thi") == [(False, "x ")]
    assert split.end() == [(False, "<thi")]
