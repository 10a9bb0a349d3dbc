"""The registry of systems: declarations, the one entry point, and a toy system in the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from systems_support import sim_model
from toy_system import RELAY

from agentdeck.cli import main
from agentdeck.errors import InputError
from agentdeck.store.runs import RunStore
from agentdeck.systems import registry
from agentdeck.systems.registry import Option, RunRequest, RunResult, SystemSpec
from agentdeck.types import GenerationParams

LONG_TEXT = " ".join(f"Sentence {i} says the budget of item {i} is {i * 10} euros."
                     for i in range(200))


@pytest.fixture
def relay() -> Iterator[None]:
    """The toy system, registered for one test."""
    registry.register(RELAY)
    try:
        yield
    finally:
        registry.unregister(RELAY.key)


def test_the_built_ins_in_picker_order_with_their_limits() -> None:
    specs = registry.specs()
    assert [s.key for s in specs] == ["basic", "context", "chain", "multi", "debate", "moa",
                                      "compare"]
    assert [s.label for s in specs] == ["Basic", "Context", "Chain", "Multi-call", "Debate",
                                        "MoA", "Compare"]
    multi, debate = registry.get("multi"), registry.get("debate")
    assert (multi.calls.minimum, multi.calls.maximum) == (1, 10_000)
    assert (debate.calls.minimum, debate.calls.maximum, debate.rounds.maximum) == (2, 16, 10)
    assert registry.get("context").attachment.need == "required"
    with pytest.raises(InputError, match="unknown system 'swarm'"):
        registry.get("swarm")


@pytest.mark.parametrize(
    ("key", "request_", "message"),
    [
        ("basic", RunRequest("  "), "the prompt is empty"),
        ("chain", RunRequest("q"), "chain needs a long text"),
        ("multi", RunRequest("q", calls=0), "number of calls must be between 1 and 10000"),
        ("debate", RunRequest("q", rounds=11), "debate rounds must be between 0 and 10"),
        ("multi", RunRequest("q", aggregate="poll"), "aggregate must be one of vote"),
        ("basic", RunRequest("q", calls=3), "basic takes no calls"),
        ("chain", RunRequest("q", "t", options={"chunk_size": 8}), "chunk size must be at least"),
        ("basic", RunRequest("q", options={"colour": "red"}), "takes no option colour"),
    ],
)
def test_prepare_checks_a_request_against_the_declaration(key, request_, message) -> None:
    with pytest.raises(InputError, match=message):
        registry.get(key).prepare(request_)


def test_prepare_fills_in_the_declared_defaults() -> None:
    request = registry.get("debate").prepare(RunRequest("q"))
    assert (request.calls, request.rounds) == (3, 2)
    request = registry.get("multi").prepare(RunRequest("q", aggregate="none", concurrency=2))
    assert (request.calls, request.aggregate, request.concurrency) == (4, None, 2)
    assert request.options == {"base_filename": "output"}


async def test_every_built_in_answers_the_one_entry_point_with_a_result() -> None:
    store = RunStore()
    async with sim_model(max_model_len=2048) as (_, model):
        results = {}
        for key, request in (
            ("basic", RunRequest("Say hi", params=GenerationParams(max_tokens=8))),
            ("context", RunRequest("What is it?", "The code word is PELICAN.")),
            ("chain", RunRequest("Which budget is largest?", LONG_TEXT,
                                 options={"chunk_size": 512})),
            ("multi", RunRequest("Answer: 4", calls=3, aggregate="vote")),
            ("debate", RunRequest("Answer: 4", calls=2, rounds=1)),
        ):
            results[key] = await registry.get(key).run(model, replace(request, store=store))
    for key, result in results.items():
        assert result.status == "done", key
        info = store.load_run(result.run_id)
        assert info.system == key
        for name, worker in result.workers.items():
            assert worker.outcome.ok and Path(worker.file).read_text() == worker.outcome.content
    assert results["basic"].answer and list(results["basic"].workers) == ["agent"]
    assert results["chain"].answer and "manager" in results["chain"].workers
    assert list(results["multi"].workers) == ["call-01", "call-02", "call-03"]
    assert results["multi"].aggregate.mode == "vote"
    assert len(results["debate"].workers) == 4 and results["debate"].answer


async def test_a_seed_in_the_params_gives_each_call_its_own_seed() -> None:
    """One seed for every call would make every answer the same (the CLI's rule, now core's)."""
    async with sim_model() as (_, model):
        request = RunRequest("x", params=GenerationParams(seed=40, max_tokens=4), calls=3,
                             store=False)
        await registry.get("multi").run(model, request)
        assert sorted(kwargs.get("seed") for _, kwargs in model.sent) == [40, 41, 42]


def test_a_registered_system_is_a_command_with_its_declared_limits(relay, capsys) -> None:
    """Issue 10: adding a system is one file and one registration; the CLI follows."""
    assert main(["--help"]) == 0
    assert "pass an answer along N legs" in capsys.readouterr().out
    assert main(["relay", "--help"]) == 0
    assert "--legs LEGS" in capsys.readouterr().out
    assert main(["relay", "x", "--legs", "4"]) == 2
    assert "bad input: --legs must be between 1 and 3, got 4" in capsys.readouterr().err
    assert RunStore().list_runs() == []

    assert main(["relay", "Say hi", "--legs", "2", "--demo", "--max-tokens", "4"]) == 0
    out = capsys.readouterr().out
    (run,) = RunStore().list_runs()
    assert run.system == "relay" and run.status == "done"
    assert out.strip() == run.read_text("leg-2").strip() != ""

    assert main(["relay", "Say hi", "--demo", "--max-tokens", "4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "done" and set(doc["workers"]) == {"leg-1", "leg-2"}


def test_an_unregistered_system_leaves_the_cli(relay, capsys) -> None:
    registry.unregister("relay")
    assert main(["relay", "x"]) == 2
    assert "invalid choice: 'relay'" in capsys.readouterr().err


class Verdict:
    """A system that ends as its ``--status`` says, with no worker at all (as a plugin may)."""

    def __init__(self, request: RunRequest) -> None:
        self.status = request.options["status"]

    async def run_request(self, request: RunRequest) -> RunResult:
        failure = "the judge could not decide" if self.status == "failed" else ""
        return RunResult(None, self.status, "guilty", failure=failure)

    def cancel(self) -> None: ...

    def cancel_worker(self, worker_id: str) -> bool:
        return False


VERDICT = SystemSpec(
    "verdict", "Verdict", "end as told", lambda model, request: Verdict(request),
    options=(Option("status", "--status", kind="choice", default="done",
                    choices=("done", "partial", "failed", "cancelled")),),
)


@pytest.mark.parametrize(("status", "code"),
                         [("done", 0), ("partial", 7), ("failed", 1), ("cancelled", 130)])
def test_the_exit_code_follows_the_runs_status(capsys, status, code) -> None:
    """Regression: a run that failed or was cancelled with no failed worker (a plugin, a
    failed aggregation step) exited 0."""
    registry.register(VERDICT)
    try:
        assert main(["verdict", "x", "--status", status, "--demo", "--no-record"]) == code
    finally:
        registry.unregister(VERDICT.key)
    out, err = capsys.readouterr()
    assert out.strip() == "guilty"
    assert ("the judge could not decide" in err) == (status == "failed")


@pytest.mark.parametrize(
    ("key", "options", "message"),
    [
        ("multi", {"output_dir": 5}, "output folder must be a folder path, got 5"),
        ("chain", {"summarize": "no"}, "summarize must be True or False, got 'no'"),
        ("multi", {"temperatures": "0.1,0.2"},
         "temperatures must be a list of numbers, got '0.1,0.2'"),
        ("multi", {"temperatures": [0.2, -1]}, "temperatures must be numbers >= 0, got -1"),
        ("multi", {"temperatures": []}, "temperatures is an empty list"),
        ("multi", {"base_filename": 7}, "base file name must be text, got 7"),
        ("chain", {"chunk_size": "128"}, "chunk size must be a whole number, got '128'"),
    ],
)
def test_every_kind_of_option_is_checked(key, options, message) -> None:
    """Regression: only ints and choices were checked; output_dir=5 was a TypeError deep in
    the run, summarize="no" was true, temperatures="0.1,0.2" was refused for "got '0'"."""
    with pytest.raises(InputError, match=re.escape(message)):
        registry.get(key).prepare(RunRequest("q", "a long text", options=options))


def test_options_parse_the_text_of_a_flag_or_a_field(tmp_path) -> None:
    from agentdeck.systems.declarations import (
        AGGREGATE,
        CHUNK_SIZE,
        OUTPUT_DIR,
        SUMMARIZE,
        TEMPERATURES,
    )

    assert TEMPERATURES.parse("0.1, 0.7") == [0.1, 0.7]
    assert (SUMMARIZE.parse("off"), SUMMARIZE.parse("Yes")) == (False, True)
    assert (CHUNK_SIZE.parse("128"), CHUNK_SIZE.parse("  ")) == (128, None)  # blank: not given
    assert AGGREGATE.parse("vote") == "vote"
    assert OUTPUT_DIR.parse(str(tmp_path / "answers")) == str(tmp_path / "answers")
    assert (tmp_path / "answers").is_dir()
    for option, text, message in (
        (CHUNK_SIZE, "12.5", "--chunk-size must be a whole number, got '12.5'"),
        (CHUNK_SIZE, "32", "--chunk-size must be at least 64, got 32"),
        (TEMPERATURES, "0.1;0.2", "--temperatures must be numbers separated by commas"),
        (SUMMARIZE, "maybe", "--summarize must be on or off, got 'maybe'"),
        (AGGREGATE, "poll", "--aggregate must be one of vote, select, synthesize, got 'poll'"),
    ):
        with pytest.raises(InputError, match=re.escape(message)):
            option.parse(text, option.flag)


def test_a_refused_input_creates_no_output_folder(tmp_path, monkeypatch, capsys) -> None:
    """Regression: the CLI made ./multi_call_outputs before refusing the temperatures."""
    monkeypatch.chdir(tmp_path)
    assert main(["multi", "-n", "2", "x", "--temperatures", "0.5,-1"]) == 2
    assert "--temperatures must be numbers >= 0, got -1" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


async def test_the_systems_constructors_check_against_the_declared_limits() -> None:
    """The seed's constructors keep their messages; the limits are the registry's."""
    from agentdeck.systems import BasicAgent, ChainOfAgents, Debate, MultiCallSystem
    from agentdeck.systems.declarations import CHUNK_SIZE, DEBATE_AGENTS, MULTI_CALLS

    model: Any = object()  # never asked: every refusal comes before a request
    Debate("d", model, agents=DEBATE_AGENTS.maximum)
    with pytest.raises(InputError, match="a debate needs 2 to 16 agents, got 17$"):
        Debate("d", model, agents=DEBATE_AGENTS.maximum + 1)
    ChainOfAgents("c", model, chunk_size=CHUNK_SIZE.minimum)
    with pytest.raises(InputError, match="chunk_size must be at least 64 tokens"):
        ChainOfAgents("c", model, chunk_size=CHUNK_SIZE.minimum - 1)
    with pytest.raises(InputError, match="num_calls 10001 is more than the limit of 10000"):
        await MultiCallSystem("m", model).run("x", MULTI_CALLS.maximum + 1)
    with pytest.raises(InputError, match="concurrency must be a whole number, got '2'"):
        BasicAgent("a", model, concurrency="2")  # was a TypeError
    assert (Debate("d", model).agents, Debate("d", model).rounds) == (3, 2)
