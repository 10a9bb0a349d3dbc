"""MultiCallSystem against the simulator: files, the cap, per-call params, aggregation, cancel."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from servers import Conn, Request, ScriptServer, simple_handler
from systems_support import sim_model

from agentdeck.cli import main
from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import InputError
from agentdeck.events import TextDelta, WorkerFailed
from agentdeck.store.runs import RunStore
from agentdeck.systems import MultiCallSystem, registry
from agentdeck.systems.registry import RunRequest


async def test_64_calls_with_a_cap_of_8_never_exceed_8_in_flight(tmp_path: Path) -> None:
    async with sim_model(ttft=0.02) as (sim, model):
        multi = MultiCallSystem("m", model, concurrency=8, store=RunStore())
        results = await multi.run("Write a line", 64, str(tmp_path), "line", max_tokens=6)
        assert sim.stats.requests == 64
        assert sim.stats.max_in_flight == 8
    assert list(results) == [f"call_{i}" for i in range(1, 65)]
    for i in range(1, 65):
        path = Path(results[f"call_{i}"])
        assert path == tmp_path / f"line_{i}.txt"
        assert path.read_text() == multi.last_result.outcomes[f"call_{i}"].content != ""
    info = RunStore().load_run(multi.last_run_id)
    assert info.status == "done"
    assert [w["id"] for w in info.workers] == [f"call-{i:02d}" for i in range(1, 65)]
    assert info.read_text("call-07") == (tmp_path / "line_7.txt").read_text()


async def test_failed_call_keeps_partial_file_and_reports_error(tmp_path: Path) -> None:
    schedule = {2: {"fault": "disconnect", "after": 2}}
    async with sim_model(fault_schedule=schedule) as (_, model):
        multi = MultiCallSystem("m", model, concurrency=1, store=False)
        results = await multi.run("Go", 3, str(tmp_path), "out", max_tokens=10)
    assert results["call_1"] == str(tmp_path / "out_1.txt")
    assert results["call_2"].startswith("ERROR: StreamDisconnectedError")
    assert str(tmp_path / "out_2.txt") in results["call_2"]
    partial = multi.last_result.outcomes["call_2"].content
    assert partial and (tmp_path / "out_2.txt").read_text() == partial
    assert multi.last_result.failed == ["call_2"]


async def test_retry_worker_reruns_one_failed_call_with_the_same_id(tmp_path: Path) -> None:
    schedule = {2: {"fault": "disconnect", "after": 2}}
    events: list[object] = []
    async with sim_model(fault_schedule=schedule) as (_, model):
        multi = MultiCallSystem("m", model, concurrency=1, listeners=[events.append],
                                store=RunStore())
        results = await multi.run("Go", 3, str(tmp_path), "out", max_tokens=8)
        assert results["call_2"].startswith("ERROR:")
        events.clear()
        outcome = await multi.retry_worker("call-02")
    assert outcome.ok and outcome.worker_id == "call-02"
    assert results["call_2"] == str(tmp_path / "out_2.txt")  # the seed dict is updated
    assert (tmp_path / "out_2.txt").read_text() == outcome.content
    assert {getattr(e, "worker_id", "") for e in events if isinstance(e, TextDelta)} == {"call-02"}
    info = RunStore().load_run(multi.last_run_id)
    assert info.status == "done"
    assert info.worker("call-02")["status"] == "done"
    assert info.read_text("call-02") == outcome.content  # the broken attempt is moved aside
    with pytest.raises(InputError):
        await multi.retry_worker("call-99")


async def test_per_call_seeds_and_temperatures_reach_the_server(tmp_path: Path) -> None:
    async with sim_model() as (_, model):
        multi = MultiCallSystem("m", model, store=False)
        await multi.run("Go", 4, str(tmp_path), "o", max_tokens=4, seeds=10,
                        temperatures=[0.2, 0.9])
    sent = sorted((kw["seed"], kw["temperature"]) for _, kw in model.sent)
    assert sent == [(10, 0.2), (11, 0.9), (12, 0.2), (13, 0.9)]


async def test_vote_counts_identical_answers(tmp_path: Path) -> None:
    # The simulator's text is a pure function of the request seed: seeds 1,1,1,2 give two
    # distinct answers, three of one kind.
    async with sim_model() as (_, model):
        multi = MultiCallSystem("m", model, store=False)
        await multi.run("Pick", 4, str(tmp_path), "o", max_tokens=5, seeds=[1, 1, 1, 2],
                        aggregate="vote")
    agg = multi.last_result.aggregate
    assert agg is not None and agg.error is None and agg.vote is not None
    assert list(agg.vote.counts.values()) == [3, 1]
    majority = multi.last_result.outcomes["call_1"].content
    assert agg.chosen == "call-01" and agg.answer in majority  # the call's one id


@pytest.mark.parametrize("mode", ["select", "synthesize"])
async def test_select_and_synthesize_make_one_extra_call_over_all_answers(
    tmp_path: Path, mode: str
) -> None:
    async with sim_model() as (_, model):
        multi = MultiCallSystem("m", model, store=RunStore())
        await multi.run("Name a fruit", 3, str(tmp_path), "o", max_tokens=6, aggregate=mode)
    assert len(model.sent) == 4
    ask = model.prompts()[-1]
    answers = [o.content for o in multi.last_result.outcomes.values()]
    assert all(answer.strip() in ask for answer in answers)
    assert "Name a fruit" in ask
    agg = multi.last_result.aggregate
    if mode == "synthesize":
        assert agg.answer and agg.error is None
    else:  # the simulator's reply names no response: reported, not guessed
        assert agg.error == "the reply named no response" and agg.answer == ""
    info = RunStore().load_run(multi.last_run_id)
    assert info.worker("aggregate")["status"] == "done"
    assert info.read_step(1) == agg.answer


async def test_cancel_mid_run_keeps_partial_files(tmp_path: Path) -> None:
    async with sim_model(tokens_per_s=100.0, output_tokens=500) as (sim, model):
        multi = MultiCallSystem("m", model, store=RunStore())
        seen: set[str] = set()

        def cancel_when_all_stream(event: object) -> None:
            if isinstance(event, TextDelta):
                seen.add(event.worker_id)
                if len(seen) == 3:
                    multi.cancel()

        multi.add_listener(cancel_when_all_stream)
        results = await multi.run("Write", 3, str(tmp_path), "w")
        for _ in range(100):
            if sim.stats.disconnects == 3:
                break
            await asyncio.sleep(0.01)
        assert sim.stats.disconnects == 3
    for i in (1, 2, 3):
        assert results[f"call_{i}"].startswith("ERROR: cancelled")
        text = (tmp_path / f"w_{i}.txt").read_text()
        assert text and text == multi.last_result.outcomes[f"call_{i}"].content
    info = RunStore().load_run(multi.last_run_id)
    assert info.status == "cancelled"
    assert {w["status"] for w in info.workers} == {"cancelled"}


async def test_cancel_worker_stops_one_call_and_the_rest_finish(tmp_path: Path) -> None:
    events: list[object] = []
    async with sim_model(tokens_per_s=100.0, output_tokens=60) as (_, model):
        multi = MultiCallSystem("m", model, listeners=[events.append], store=RunStore())

        def cancel_second(event: object) -> None:
            if isinstance(event, TextDelta) and event.worker_id == "call-02":
                multi.cancel_worker("call-02")

        multi.add_listener(cancel_second)
        results = await multi.run("Write", 3, str(tmp_path), "w", max_tokens=40)
    assert not results["call_1"].startswith("ERROR") and not results["call_3"].startswith("ERROR")
    assert results["call_2"].startswith("ERROR: cancelled")
    failed = [e for e in events if isinstance(e, WorkerFailed)]
    assert [(e.worker_id, e.cancelled) for e in failed] == [("call-02", True)]
    assert RunStore().load_run(multi.last_run_id).status == "partial"


@pytest.mark.parametrize(
    ("prompt", "n", "options", "message"),
    [
        ("  ", 2, {}, "the prompt is empty"),
        ("x", 0, {}, "num_calls must be at least 1"),
        ("x", 2, {"aggregate": "best"}, "aggregate must be one of"),
        ("x", 2, {"concurrency": 0}, "concurrency must be at least 1"),
        ("x", 2, {"temperatures": [-1]}, "temperatures must be numbers >= 0"),
        ("x", 2, {"temperatures": "0.1,0.2"}, "temperatures must be a list of numbers"),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    tmp_path: Path, prompt: str, n: int, options: dict, message: str
) -> None:
    async with sim_model() as (sim, model):
        with pytest.raises(InputError, match=message):
            await MultiCallSystem("m", model).run(prompt, n, str(tmp_path), "o", **options)
        assert sim.stats.requests == 0


async def test_unwritable_output_folder_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    async with sim_model() as (sim, model):
        with pytest.raises(InputError, match="is not a folder"):
            await MultiCallSystem("m", model).run("x", 1, str(blocker), "o")
        assert sim.stats.requests == 0


async def test_base_filename_cannot_escape_the_output_folder(tmp_path: Path) -> None:
    async with sim_model() as (_, model):
        results = await MultiCallSystem("m", model, store=False).run(
            "x", 1, str(tmp_path / "out"), "../../evil", max_tokens=3)
    path = Path(results["call_1"])
    assert path.parent == tmp_path / "out" and path.exists()


async def test_output_dir_none_skips_the_seed_copies_and_points_at_the_run_store(
    tmp_path: Path,
) -> None:
    """The app passes output_dir=None: each call is written once, into the run store."""
    async with sim_model() as (sim, model):
        system = MultiCallSystem("m", model, store=RunStore())
        files = await system.run("Hello", 3, None, "call", max_tokens=8)
    info = RunStore().load_run(system.last_run_id)
    assert sorted(files) == ["call_1", "call_2", "call_3"]
    for i, path in enumerate(sorted(files.values()), start=1):
        assert Path(path).parent == info.dir
        assert Path(path).read_text() == info.read_text(f"call-{i:02d}") != ""
    assert not list(tmp_path.glob("**/call_*.txt"))


async def test_select_returns_the_response_the_reply_names(tmp_path: Path) -> None:
    """A server whose judge names Response 2: that call's answer and id come back, and are kept."""
    answers = iter(["Paris.", "Lyon.", "Marseille."])

    async def handler(request: Request, conn: Conn) -> None:
        ask = request.json["messages"][-1]["content"]
        reply = "The most consistent response is Response 2" if "Response 3:" in ask else next(answers)
        await simple_handler([reply])(request, conn)

    async with ScriptServer(handler) as srv, VLLMModel("m", srv.url) as model:
        multi = MultiCallSystem("m", model, store=RunStore())
        await multi.run("Name a French city", 3, str(tmp_path), "o", aggregate="select")
    outcomes = multi.last_result.outcomes
    agg = multi.last_result.aggregate
    assert agg.error is None and agg.chosen == "call-02"
    assert agg.answer == outcomes["call_2"].content != ""
    assert len({o.content for o in outcomes.values()}) == 3  # three different answers to pick from
    info = RunStore().load_run(multi.last_run_id)
    assert info.read_step(1) == agg.answer


async def test_the_registry_result_names_workers_by_id_with_the_file_that_holds_them(
    tmp_path: Path,
) -> None:
    """Regression: multi keyed its RunResult workers by task id (call_1) where every other
    system, the events and the store use worker ids, and with nothing written its file was
    the text "(not recorded: call-01)" instead of None."""
    spec = registry.get("multi")
    async with sim_model() as (_, model):
        bare = await spec.run(model, RunRequest("x", calls=2, store=False))
        stored = await spec.run(model, RunRequest("x", calls=2, store=RunStore()))
        copied = await spec.run(model, RunRequest("x", calls=2, store=False,
                                                  options={"output_dir": str(tmp_path)}))
    ids = ["call-01", "call-02"]
    assert [list(r.workers) for r in (bare, stored, copied)] == [ids] * 3
    assert [w.file for w in bare.workers.values()] == [None, None]
    run = RunStore().load_run(stored.run_id)
    for wid, worker in stored.workers.items():
        assert worker.outcome.worker_id == wid
        assert Path(worker.file).read_text() == run.read_text(wid) == worker.outcome.content
    assert [w.file for w in copied.workers.values()] == [
        str(tmp_path / "output_1.txt"), str(tmp_path / "output_2.txt")]
    assert bare.document()["results"] == {  # the seed's dict, as MultiCallSystem.run gives it
        "call_1": "(not recorded: call-01)", "call_2": "(not recorded: call-02)"}


async def test_a_request_without_a_count_makes_the_declared_number_of_calls() -> None:
    """Regression: multi fell back to 1 call (``calls or 1``) where it declares 4."""
    async with sim_model() as (sim, model):
        system = registry.get("multi").make(model, RunRequest("x"))
        result = await system.run_request(RunRequest("x", store=False))
        assert sim.stats.requests == len(result.workers) == 4


def test_the_cli_json_of_multi_names_each_call_by_its_worker_id(tmp_path: Path, capsys) -> None:
    """Issue 13: one id per call (``call-01``) in JSON, progress and run files; the seed's
    ``call_1`` keys stay in ``MultiCallSystem.run``'s return value only."""
    assert main(["multi", "-n", "2", "Name a colour", "--json", "--output-dir", str(tmp_path),
                 "--max-tokens", "4"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {w: x["file"] for w, x in doc["workers"].items()} == {
        "call-01": str(tmp_path / "output_1.txt"), "call-02": str(tmp_path / "output_2.txt")}
    assert "results" not in doc and doc["status"] == "done" and doc["aggregate"] is None
