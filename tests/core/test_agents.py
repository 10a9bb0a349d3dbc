"""BasicAgent and ContextAgent against the simulator over real sockets: text, events, store."""

from __future__ import annotations

import asyncio

import pytest
from systems_support import sim_model

from agentdeck.errors import StreamDisconnectedError
from agentdeck.events import (
    FirstToken,
    RunFinished,
    RunStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerQueued,
    WorkerStarted,
)
from agentdeck.store.runs import RunStore
from agentdeck.systems.agents import BasicAgent, ContextAgent


async def test_basic_agent_returns_streamed_text_and_records_it() -> None:
    events: list[object] = []
    async with sim_model() as (_, model):
        agent = BasicAgent("basic_001", model, listeners=[events.append], store=RunStore())
        text = await agent.run("Explain async", max_tokens=12)
    streamed = "".join(e.content for e in events if isinstance(e, TextDelta))
    assert text == streamed and text
    kinds = [type(e) for e in events]
    assert kinds[:4] == [RunStarted, WorkerQueued, WorkerStarted, FirstToken]
    assert kinds[-2:] == [WorkerFinished, RunFinished]
    assert {e.worker_id for e in events if isinstance(e, TextDelta)} == {"agent"}
    info = RunStore().load_run(agent.last_run_id)
    assert info.status == "done" and info.system == "basic"
    assert info.read_text("agent") == text
    assert info.manifest["params"]["max_tokens"] == 12
    assert model.sent[0][0] == [{"role": "user", "content": "Explain async"}]


async def test_system_prompt_and_prior_messages_come_first() -> None:
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    async with sim_model() as (_, model):
        agent = BasicAgent("a", model, system_prompt="Be brief.", messages=history, store=False)
        await agent.run("And now?", max_tokens=4)
    sent = model.sent[0][0]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[1:3] == history
    assert sent[3] == {"role": "user", "content": "And now?"}


async def test_context_agent_puts_the_context_first_so_prompts_share_a_prefix() -> None:
    async with sim_model() as (_, model):
        agent = ContextAgent("ctx", model, "Python best practices.", store=False)
        await agent.run("First question?", max_tokens=4)
        await agent.run("Second question?", max_tokens=4)
    first, second = (messages[-1]["content"] for messages, _ in model.sent)
    assert first.startswith("Context:\nPython best practices.")
    prefix = "Context:\nPython best practices.\n\n---\n\nPrompt:\n"
    assert first.startswith(prefix) and second.startswith(prefix)
    assert first.endswith("First question?") and second.endswith("Second question?")


async def test_reasoning_is_wrapped_in_think_tags_like_call_stream() -> None:
    async with sim_model(reasoning=True, reasoning_tokens=6) as (_, model):
        text = await BasicAgent("r", model, store=False).run("Think first", max_tokens=20)
    assert text.startswith("<think>") and "</think>" in text
    assert text.split("</think>", 1)[1]  # the answer follows the reasoning


async def test_a_broken_stream_raises_and_keeps_the_partial_text_on_disk() -> None:
    events: list[object] = []
    async with sim_model() as (_, model):
        agent = BasicAgent("b", model, listeners=[events.append], store=RunStore())
        with pytest.raises(StreamDisconnectedError):
            await agent.run("Go", max_tokens=20, sim={"fault": "disconnect", "after": 3})
    failed = [e for e in events if isinstance(e, WorkerFailed)]
    assert len(failed) == 1 and not failed[0].cancelled and failed[0].partial
    info = RunStore().load_run(agent.last_run_id)
    assert info.status == "failed"
    assert info.read_text("agent") == failed[0].partial
    assert info.workers[0]["status"] == "failed"


async def test_cancel_stops_the_request_and_keeps_what_arrived() -> None:
    async with sim_model(tokens_per_s=200.0, output_tokens=400) as (sim, model):
        agent = BasicAgent("c", model, store=RunStore())

        def stop_after_text(event: object) -> None:
            if isinstance(event, TextDelta):
                agent.cancel()

        agent.add_listener(stop_after_text)
        with pytest.raises(asyncio.CancelledError):
            await agent.run("Write a lot")
        for _ in range(100):  # let the server notice the closed connection
            if sim.stats.disconnects:
                break
            await asyncio.sleep(0.01)
        assert sim.stats.disconnects == 1
    info = RunStore().load_run(agent.last_run_id)
    assert info.status == "cancelled"
    assert info.workers[0]["status"] == "cancelled"
    assert info.read_text("agent")  # the text that came before the cancel is kept


@pytest.mark.parametrize("make", ["agent", "multi", "debate"])
async def test_n_above_one_is_refused_before_anything_is_sent(make: str) -> None:
    """Each worker keeps one answer: n=3 would make the server write two that nobody sees."""
    from agentdeck.errors import InputError
    from agentdeck.systems import Debate, MultiCallSystem

    store = RunStore()
    async with sim_model() as (sim, model):
        runner = {
            "agent": lambda: BasicAgent("a", model, store=store).run("Hi", n=3),
            "multi": lambda: MultiCallSystem("m", model, store=store).run("Hi", 2, None, "o", n=3),
            "debate": lambda: Debate("d", model, agents=2, rounds=0, store=store).run("Hi", n=3),
        }[make]
        with pytest.raises(InputError, match="n=3 asks for 3 answers per request"):
            await runner()
        assert sim.stats.requests == 0
    assert RunStore().list_runs() == []  # no run folder for a refused run
