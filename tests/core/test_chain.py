"""ChainOfAgents against the simulator: token budget, 20+ chunks, the shrink path, the manager."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from systems_support import RecordingModel, sim_model

from agentdeck.errors import InputError, StreamDisconnectedError
from agentdeck.events import Retrying, StepFinished, TextDelta
from agentdeck.store.runs import RunStore
from agentdeck.systems import ChainOfAgents
from agentdeck.systems.chain import worker_prompt
from agentdeck.systems.chunking import (
    CHARS_PER_TOKEN,
    Chunker,
    TokenCounter,
    plan_budget,
    sentence_bounds,
)

QUESTION = "Which fact numbers mention topic 3?"


def document(sentences: int) -> str:
    return "".join(f"Sentence {i} tells about topic {i % 7} and fact {i * 3}. "
                   for i in range(sentences))


async def test_budget_is_window_minus_template_question_units_and_margin() -> None:
    async with sim_model(max_model_len=1024) as (_, model):
        counter = TokenCounter(model)
        template = worker_prompt("", "", QUESTION)
        budget = await plan_budget(model, counter, template, QUESTION, 100)
        assert budget.exact and budget.window == 1024
        assert budget.template == len(await model.tokenize(template))
        assert budget.question == len(await model.tokenize(QUESTION))
        assert budget.margin == 51  # 5 % of the window (more than the 32-token floor)
        assert budget.chunk == 1024 - budget.template - budget.question - 2 * 100 - 51


async def test_a_long_document_is_cut_into_20_plus_chunks_at_sentence_ends() -> None:
    text = document(1100)
    events: list[Any] = []
    async with sim_model(max_model_len=1024) as (sim, model):
        chain = ChainOfAgents("c", model, listeners=[events.append], store=RunStore())
        answer = await chain.run(QUESTION, text)
        result = chain.last_result
        limit = result.budget.chunk
        sizes = [len(await model.tokenize(chunk)) for chunk in result.chunks]
        assert sim.stats.by_status[400] == 0  # every prompt fit the window
    assert len(result.chunks) >= 20
    assert max(sizes) <= limit and min(sizes[:-1]) > limit * 0.8  # full, never over
    assert "".join(result.chunks) == text  # nothing lost, nothing repeated
    assert all(chunk.endswith(". ") for chunk in result.chunks)
    assert answer and len(result.units) == len(result.chunks)
    steps = [e for e in events if isinstance(e, StepFinished)]
    assert [e.worker_id for e in steps[:3]] == ["chunk-01", "chunk-02", "chunk-03"]
    assert steps[-1].worker_id == "manager" and [e.output for e in steps[:-1]] == result.units
    info = RunStore().load_run(chain.last_run_id)
    assert info.status == "done"
    assert info.read_step(2) == result.units[1]  # every unit is kept in the run folder
    assert info.read_text("manager") == answer


async def test_each_worker_sees_its_chunk_the_previous_unit_and_the_question() -> None:
    async with sim_model(max_model_len=1024) as (_, model):
        chain = ChainOfAgents("c", model, store=False)
        await chain.run(QUESTION, document(150))
    result = chain.last_result
    prompts = model.prompts()
    assert len(prompts) == len(result.chunks) + 1 >= 3
    for i, chunk in enumerate(result.chunks):
        assert prompts[i].startswith(chunk)
        assert QUESTION in prompts[i]
        if i:
            assert result.units[i - 1] in prompts[i]


async def test_the_manager_sees_only_the_last_unit() -> None:
    async with sim_model(max_model_len=1024) as (_, model):
        chain = ChainOfAgents("c", model, store=False)
        await chain.run(QUESTION, document(300))
    result = chain.last_result
    manager_messages = model.sent[-1][0]
    assert len(manager_messages) == 1
    prompt = manager_messages[0]["content"]
    assert result.units[-1] in prompt and QUESTION in prompt
    assert all(unit not in prompt for unit in result.units[:-1] if unit != result.units[-1])
    assert all(chunk[:40] not in prompt for chunk in result.chunks)


async def test_a_context_length_400_shrinks_the_chunk_and_retries_once() -> None:
    events: list[Any] = []
    # Units fill their max_tokens, so chunk 2 (chunk + a full unit) overflows the real window.
    async with sim_model(max_model_len=1024, output_tokens=400) as (sim, model):
        model.reported_window = 1400  # the server holds less than it reports
        chain = ChainOfAgents("c", model, listeners=[events.append], store=RunStore())
        answer = await chain.run(QUESTION, document(300))
        assert sim.stats.by_status[400] == 1
    retries = [e for e in events if isinstance(e, Retrying)]
    assert len(retries) == 1 and retries[0].worker_id == "chunk-02"
    assert "context length" in retries[0].reason
    result = chain.last_result
    assert answer and "".join(result.chunks) == document(300)
    info = RunStore().load_run(chain.last_run_id)
    assert info.status == "done" and info.worker("chunk-02")["retries"] == 1


async def test_a_server_without_tokenize_falls_back_to_the_character_estimate() -> None:
    class NoTokenizer(RecordingModel):
        async def tokenize(self, text: str) -> list[int] | None:
            return None

        async def detokenize(self, tokens: list[int]) -> str | None:
            return None

    async with sim_model(max_model_len=2048) as (sim, _), NoTokenizer(
        "sim-model", sim.base_url
    ) as model:
        chain = ChainOfAgents("c", model, store=False)
        await chain.run(QUESTION, document(200), max_tokens=64)
    budget = chain.last_result.budget
    assert not budget.exact and budget.margin == int(2048 * 0.15)
    assert all(len(c) <= budget.chunk * CHARS_PER_TOKEN for c in chain.last_result.chunks)
    assert sim.stats.by_status[400] == 0


async def test_query_less_workers_summarise_and_the_manager_gets_the_task() -> None:
    async with sim_model(max_model_len=1024) as (_, model):
        chain = ChainOfAgents("c", model, query_aware=False, store=False)
        await chain.run("Summarise the text in one paragraph.", document(120))
    prompts = model.prompts()
    assert all("Summarise the text" not in p for p in prompts[:-1])
    assert prompts[-1].startswith("Summarise the text in one paragraph.")


async def test_a_failed_step_raises_and_the_units_so_far_stay_on_disk() -> None:
    async with sim_model(max_model_len=1024,
                         fault_schedule={3: {"fault": "disconnect", "after": 2}}) as (_, model):
        chain = ChainOfAgents("c", model, store=RunStore())
        with pytest.raises(StreamDisconnectedError):
            await chain.run(QUESTION, document(300))
    info = RunStore().load_run(chain.last_run_id)
    assert info.status == "failed"
    assert info.read_step(1) and info.read_step(2)
    assert info.worker("chunk-03")["status"] == "failed"
    assert info.read_text("chunk-03")  # the partial unit is kept too


async def test_bad_input_is_refused_before_any_request() -> None:
    async with sim_model(max_model_len=1024) as (sim, model):
        chain = ChainOfAgents("c", model, store=RunStore())
        with pytest.raises(InputError, match="long text is empty"):
            await chain.run(QUESTION, "   ")
        with pytest.raises(InputError, match="question is empty"):
            await chain.run("", "text")
        with pytest.raises(InputError, match="no room for text"):
            await chain.run("why " * 900, "Some text.")
        assert sim.stats.requests == 0


async def test_cancel_stops_the_chain_and_keeps_the_units_so_far() -> None:
    """Regression: with an unpaced server the whole step arrived in one read, so the cancel
    landed after the step had finished; a paced stream makes "cancel mid-step" real."""
    async with sim_model(max_model_len=1024, tokens_per_s=400) as (sim, model):
        chain = ChainOfAgents("c", model, store=RunStore())

        def stop_at_third_chunk(event: object) -> None:
            if isinstance(event, TextDelta) and event.worker_id == "chunk-03":
                chain.cancel_worker("chunk-03")

        chain.add_listener(stop_at_third_chunk)
        with pytest.raises(asyncio.CancelledError):
            await chain.run(QUESTION, document(300))
        requests = sim.stats.requests
    assert requests == 3  # nothing was sent after the cancelled step
    info = RunStore().load_run(chain.last_run_id)
    assert info.status == "cancelled"
    assert info.read_step(1) and info.read_step(2)
    assert info.worker("chunk-03")["status"] == "cancelled" and info.read_text("chunk-03")


async def test_overlap_repeats_whole_sentences_at_the_next_chunk_start() -> None:
    text = document(60)
    async with sim_model() as (_, model):
        chunker = Chunker(text, TokenCounter(model), overlap=20)
        spans = await chunker.split(120)
        sizes = [len(await model.tokenize(text[a:b])) for a, b in spans]
    bounds = set(sentence_bounds(text))
    assert len(spans) >= 3 and max(sizes) <= 120
    for (a1, b1), (a2, _) in itertools.pairwise(spans):
        assert a1 < a2 < b1 and a2 in bounds  # starts inside the previous chunk, on a sentence
    assert spans[-1][1] == len(text)


def test_sentence_bounds_keep_the_text_whole() -> None:
    text = 'One. "Two?" Three!\nFour\n\nFive'
    bounds = sentence_bounds(text)
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    assert "".join(pieces) == text
    assert pieces == ["One. ", '"Two?" ', "Three!\n", "Four\n\n", "Five"]


async def test_a_sentence_longer_than_the_limit_is_cut_at_a_space() -> None:
    text = " ".join(f"word{i}" for i in range(400)) + "."
    async with sim_model() as (_, model):
        chunker = Chunker(text, TokenCounter(model))
        spans = await chunker.split(100)
        sizes = [len(await model.tokenize(text[a:b])) for a, b in spans]
    assert len(spans) >= 4 and max(sizes) <= 100
    assert "".join(text[a:b] for a, b in spans) == text
    assert all(text[b - 1] == " " for _, b in spans[:-1])
