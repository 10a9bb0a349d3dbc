"""Every request fits the window: max_tokens is a cap, the chain budgets from the room left."""

from __future__ import annotations

import json
from typing import Any

import pytest
from systems_support import RecordingModel, ThreadedSim, sim_model

from agentdeck.cli import main
from agentdeck.client.model import BaseModel
from agentdeck.errors import ContextLengthError, InputError
from agentdeck.events import ParamsFitted, Retrying
from agentdeck.store.runs import RunStore
from agentdeck.systems.agents import BasicAgent
from agentdeck.systems.chain import ChainOfAgents
from agentdeck.systems.fit import FLOOR, byte_bound, server_numbers
from agentdeck.systems.multi import MultiCallSystem

QUESTION = "Which harbour is named in the text?"


def document(sentences: int) -> str:
    return " ".join(f"Sentence {i} tells of the harbour at Vell and its {i} boats."
                    for i in range(sentences))


class CountingModel(RecordingModel):
    """Counts the helper round trips a run costs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokenized = self.windows = 0

    async def tokenize(self, text: str) -> list[int] | None:
        self.tokenized += 1
        return await super().tokenize(text)

    async def max_model_len(self) -> int | None:
        self.windows += 1
        return await super().max_model_len()


def test_the_byte_bound_never_undercounts_and_costs_no_request() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "héllo"}]
    assert byte_bound(messages) == len("Be brief.") + len("héllo".encode()) + 2 * 8 + 16
    assert byte_bound([{"role": "user", "content": [{"type": "text", "text": "abc"}]}]) == 27


@pytest.mark.parametrize(("message", "numbers"), [
    ("This model's maximum context length is 1024 tokens. However, your prompt contains at "
     "least 1025 input tokens, which exceeds this limit", (1024, 1025)),
    ("max_tokens=5000 cannot be greater than max_model_len=1024. Please request fewer output "
     "tokens.", (1024, None)),
    ("This model's maximum context length is 4096 tokens. However, you requested 5000 tokens "
     "(1000 in the messages, 4000 in the completion).", (4096, 1000)),
    ("'max_tokens' is too large: 500. This model's maximum context length is 1024 tokens and "
     "your request has 600 input tokens (500 > 1024 - 600).", (1024, 600)),
    ("something else went wrong", (None, None)),
])
def test_the_servers_numbers_are_read_from_its_message(message, numbers) -> None:
    assert server_numbers(ContextLengthError(message)) == numbers


async def test_max_tokens_32000_on_a_1024_window_is_lowered_once_and_reported() -> None:
    events: list[Any] = []
    async with sim_model(max_model_len=1024) as (sim, model):
        agent = BasicAgent("a", model, listeners=[events.append], store=RunStore())
        assert await agent._stream_and_aggregate("Say hello", max_tokens=32000)
        assert await agent._stream_and_aggregate("Say hello again", max_tokens=32000)
        assert sim.stats.by_status == {200: 2}
    sent = [kwargs["max_tokens"] for _, kwargs in model.sent]
    assert all(FLOOR <= s < 1024 for s in sent)
    fitted = [e for e in events if isinstance(e, ParamsFitted)]
    assert len(fitted) == 2  # once per run, and each run reports its own
    assert fitted[0].note == f"max_tokens 32000 lowered to {sent[0]} to fit the 1024-token window"
    manifest = json.loads((RunStore().run_dir(agent.last_run_id) / "run.json").read_text())
    assert manifest["fitted"]["sent"] == sent[1] and manifest["fitted"]["window"] == 1024


async def test_a_request_that_fits_by_its_bytes_costs_no_tokenize_and_one_window_look_up() -> None:
    async with sim_model(max_model_len=1024) as (sim, _):
        async with CountingModel("sim-model", sim.base_url) as model:
            for _ in range(3):
                agent = BasicAgent("a", model, store=False)
                await agent._stream_and_aggregate("Say hello", max_tokens=100)
            assert model.tokenized == 0 and model.windows == 1
            assert [kwargs["max_tokens"] for _, kwargs in model.sent] == [100] * 3
            # Past the bound, the server's tokenizer counts (once per request).
            await BasicAgent("a", model, store=False)._stream_and_aggregate(
                "Say hello", max_tokens=1000)
            assert model.tokenized == 1 and model.sent[-1][1]["max_tokens"] < 1000


async def test_a_prompt_that_leaves_no_room_fails_before_sending_and_says_by_how_much() -> None:
    async with sim_model(max_model_len=1024) as (sim, model):
        agent = BasicAgent("a", model, store=False)
        with pytest.raises(ContextLengthError, match=r"shorten the prompt by \d+ tokens"):
            await agent._stream_and_aggregate(document(80), max_tokens=200)
        assert sim.stats.requests == 0 or sim.stats.by_status == {}
        assert model.sent == []


async def test_a_window_the_server_misreports_is_fitted_from_its_400_and_retried_once() -> None:
    events: list[Any] = []
    async with sim_model(max_model_len=1024) as (sim, model):
        model.reported_window = 8192  # a proxy that says more than the server holds
        agent = BasicAgent("a", model, listeners=[events.append], store=False)
        assert await agent._stream_and_aggregate("Say hello", max_tokens=4000)
        assert sim.stats.by_status == {400: 1, 200: 1}
    assert model.sent[0][1]["max_tokens"] == 4000 and model.sent[1][1]["max_tokens"] < 1024
    assert [e.worker_id for e in events if isinstance(e, Retrying)] == ["agent"]
    assert [e.window for e in events if isinstance(e, ParamsFitted)] == [1024]


@pytest.mark.parametrize("window", [32768, 40960])
async def test_the_chain_runs_with_the_seeds_32000_on_large_windows(window) -> None:
    async with sim_model(max_model_len=window) as (sim, model):
        chain = ChainOfAgents("c", model, store=False)
        assert await chain.run(QUESTION, document(40), max_tokens=32000)
        assert sim.stats.by_status[400] == 0
    budget = chain.last_result.budget
    assert budget.unit < 32000 and budget.chunk >= window // 3
    assert "max_tokens 32000 lowered" in budget.describe()
    assert all(kwargs["max_tokens"] + 1 <= window for _, kwargs in model.sent)


async def test_the_chain_runs_with_defaults_on_a_1024_window_and_names_the_knob() -> None:
    async with sim_model(max_model_len=1024) as (sim, model):
        assert await ChainOfAgents("c", model, store=False).run(QUESTION, document(60))
        assert await ChainOfAgents("c", model, store=False).run(QUESTION, document(60),
                                                                max_tokens=400)
        with pytest.raises(InputError, match="unit_tokens.*max_tokens"):
            await ChainOfAgents("c", model, store=False, unit_tokens=450).run(QUESTION, "text")
        assert sim.stats.by_status[400] == 0


async def test_the_seed_script_with_max_tokens_32000_runs_to_the_end_on_1024(tmp_path) -> None:
    max_tokens = 32000  # the seed's own setting
    async with sim_model(max_model_len=1024) as (sim, model):
        assert await BasicAgent("basic", model, store=False)._stream_and_aggregate(
            "What is a context window?", max_tokens=max_tokens)
        assert await ChainOfAgents("chain", model, store=False).run(
            QUESTION, document(60), max_tokens=max_tokens)
        files = await MultiCallSystem("multi", model, store=False).run(
            "Name a color", 3, output_dir=str(tmp_path), max_tokens=max_tokens)
        assert len(files) == 3 and not any(v.startswith("ERROR") for v in files.values())
        assert sim.stats.by_status[400] == 0


def test_the_cli_prints_one_note_per_run(capsys, tmp_path) -> None:
    with ThreadedSim(max_model_len=1024) as sim:
        code = main(["multi", "-n", "3", "Name a color", "--base-url", sim.base_url,
                     "--model", "sim-model", "--max-tokens", "32000", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert err.count("to fit the 1024-token window") == 1
    assert "max_tokens 32000 lowered to" in err


async def test_a_window_look_up_that_failed_is_asked_again_next_time() -> None:
    """Review finding: one failed /v1/models (a server still loading) turned fitting off for
    the model's whole life."""
    from agentdeck.errors import ConnectError
    from agentdeck.systems.fit import Fitter

    class Loading(BaseModel):
        model_name = "m"
        calls = 0

        async def call_stream(self, messages, **kwargs):  # pragma: no cover - not streamed
            yield ""

        async def max_model_len(self):
            self.calls += 1
            if self.calls == 1:
                raise ConnectError("still loading")
            return 1024

    fitter = Fitter(Loading())
    assert await fitter.window() is None
    assert await fitter.window() == 1024
