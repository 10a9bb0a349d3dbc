"""Mixture-of-Agents (issue 16): layers of proposers, each reading the layer before, then an
aggregator; end to end on the simulator, through the registry and the CLI."""

from __future__ import annotations

import json

import pytest
from systems_support import sim_model

from agentdeck.cli import main
from agentdeck.store.runs import RunStore
from agentdeck.systems import registry
from agentdeck.systems.moa import AGGREGATE_AND_SYNTHESIZE
from agentdeck.systems.quotes import cut_marker
from agentdeck.systems.registry import RunRequest
from agentdeck.types import GenerationParams


def system_message(messages: list[dict]) -> str:
    return next((m["content"] for m in messages if m["role"] == "system"), "")


async def test_each_layer_reads_the_one_before_and_the_aggregator_answers() -> None:
    store = RunStore()
    request = RunRequest(
        "Why is the sky blue?", params=GenerationParams(max_tokens=16, seed=5), calls=2,
        rounds=2, store=store,
        options={"temperatures": [0.2, 0.8], "aggregator_temperature": 0.1,
                 "aggregator_max_tokens": 12})
    async with sim_model() as (_, model):
        result = await registry.get("moa").run(model, request)
    assert result.status == "done"
    assert list(result.workers) == ["l1-p1", "l1-p2", "l2-p1", "l2-p2", "agg"]
    sent = model.sent  # one request per worker, layer after layer
    texts = {w: r.outcome.content for w, r in result.workers.items()}
    layer1, layer2, agg = [sent[0], sent[1]], [sent[2], sent[3]], sent[4]
    for messages, _ in layer1:  # the prompt alone
        assert messages == [{"role": "user", "content": "Why is the sky blue?"}]
    for messages, _ in layer2:  # the prompt, with layer 1's answers to synthesize
        assert system_message(messages) == (f"{AGGREGATE_AND_SYNTHESIZE}\n"
                                             f"1. {texts['l1-p1'].strip()}\n"
                                             f"2. {texts['l1-p2'].strip()}")
        assert messages[-1] == {"role": "user", "content": "Why is the sky blue?"}
    assert system_message(agg[0]).endswith(f"1. {texts['l2-p1'].strip()}\n"
                                           f"2. {texts['l2-p2'].strip()}")
    # proposers: their own temperature and seed; the aggregator: its own params
    for layer in (layer1, layer2):
        assert sorted((k["temperature"], k["seed"], k["max_tokens"]) for _, k in layer) == [
            (0.2, 5, 16), (0.8, 6, 16)]
    assert (agg[1]["temperature"], agg[1]["max_tokens"]) == (0.1, 12)
    assert result.answer == texts["agg"] != ""

    info = store.load_run(result.run_id)
    assert (info.system, info.status) == ("moa", "done")
    assert [(s["step"], s["label"]) for s in info.steps] == [
        (1, "layer 1: proposers answer"), (2, "layer 2: proposers refine the answers"),
        (3, "aggregator synthesizes")]
    assert info.manifest["params"]["layers"] == 2 and info.manifest["params"]["proposers"] == 2
    assert info.read_text("agg") == result.answer


async def test_the_quoted_answers_are_cut_to_fit_a_small_window() -> None:
    """Three long answers quoted whole would pass a 512-token window; each keeps its end."""
    request = RunRequest("Tell me a long story.", params=GenerationParams(max_tokens=200),
                         calls=3, rounds=1, store=False)
    async with sim_model(max_model_len=512, output_tokens=200) as (_, model):
        result = await registry.get("moa").run(model, request)
    assert result.status == "done" and result.answer
    system = system_message(model.sent[-1][0])
    assert system.startswith(AGGREGATE_AND_SYNTHESIZE)
    assert system.count(cut_marker(0).split(" ")[0]) == 3 and "characters cut" in system
    assert all(o.outcome.ok for o in result.workers.values())


async def test_a_failed_proposer_leaves_the_run_partial_a_failed_aggregator_failed() -> None:
    async with sim_model(fault_schedule={2: {"fault": "status", "status": 400}}) as (_, model):
        result = await registry.get("moa").run(model, RunRequest(
            "q", params=GenerationParams(max_tokens=8), calls=2, rounds=1, store=False))
    assert (result.status, result.failed) == ("partial", ["l1-p2"])
    assert model.sent[-1][0][0]["content"].endswith("\n1. " + result.workers[
        "l1-p1"].outcome.content.strip())  # the aggregator read the one answer there was
    async with sim_model(fault_schedule={3: {"fault": "status", "status": 400}}) as (_, model):
        result = await registry.get("moa").run(model, RunRequest(
            "q", params=GenerationParams(max_tokens=8), calls=2, rounds=1, store=False))
    assert (result.status, result.answer, result.failed) == ("failed", "", ["agg"])


def test_the_moa_command_streams_the_aggregators_answer(capsys) -> None:
    assert main(["moa", "--demo", "-q", "--max-tokens", "8", "--layers", "1", "--proposers",
                 "2", "--temperatures", "0.3,0.9", "--aggregator-temperature", "0", "hi"]) == 0
    out = capsys.readouterr().out
    (info,) = RunStore().list_runs()
    assert out.strip() == info.read_text("agg").strip() != ""
    assert [w["id"] for w in info.workers] == ["l1-p1", "l1-p2", "agg"]
    assert main(["moa", "--demo", "-q", "--aggregator-temperature", "-1", "hi"]) == 2
    assert "--aggregator-temperature must be at least 0, got -1.0" in capsys.readouterr().err
    assert main(["run", "moa", "--demo", "--layers", "1", "--proposers", "1", "--max-tokens",
                 "4", "--json", "hi"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "done" and doc["layers"] and set(doc["workers"]) == {"l1-p1", "agg"}


@pytest.mark.parametrize(("flags", "message"), [
    (["--layers", "7"], "--layers must be between 1 and 6, got 7"),
    (["--proposers", "0"], "--proposers must be between 1 and 16, got 0"),
    (["--aggregator-max-tokens", "0"], "--aggregator-max-tokens must be at least 1, got 0"),
])
def test_moa_refuses_inputs_outside_its_limits(capsys, flags, message) -> None:
    assert main(["moa", *flags, "hi"]) == 2
    assert message in capsys.readouterr().err


async def test_the_users_system_prompt_reaches_every_layer_and_the_aggregator() -> None:
    """Regression: ``--system`` was dropped after layer 1 (later layers send a system message
    of their own, and the run's was only added to messages without one)."""
    request = RunRequest("Why?", params=GenerationParams(max_tokens=8), calls=2, rounds=2,
                         store=False, system_prompt="Answer in French.")
    async with sim_model() as (_, model):
        result = await registry.get("moa").run(model, request)
    assert result.status == "done"
    for messages, _ in model.sent:
        head = system_message(messages)
        assert head.startswith("Answer in French.")
    later = [system_message(m) for m, _ in model.sent[2:]]
    assert all(AGGREGATE_AND_SYNTHESIZE in text for text in later)
