"""The CLI's output contract, run as a script would: one JSON document (success or failure),
JSON event lines with wall-clock time, one id per call, human output on stderr, ``-q``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cli_support import QUICK, agentdeck, only_run
from systems_support import ThreadedSim

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_json_is_one_document_with_the_summary_and_each_workers_figures(tmp_path) -> None:
    done = agentdeck("multi", "-n", "3", "What is 6 times 7?", "--aggregate", "vote", "--demo",
                     "--output-dir", str(tmp_path), "--json", *QUICK)
    assert done.code == 0, done.err
    doc = done.doc
    assert doc["schema"] == 1 and doc["system"] == "multi" and doc["command"] == "multi"
    assert doc["run_id"] == only_run().run_id
    assert doc["summary"]["requests"] == {"done": 3, "failed": 0, "cancelled": 0}
    assert doc["summary"]["ttft_s"]["p50"] > 0 and doc["summary"]["output_tokens"] > 0
    assert list(doc["workers"]) == ["call-01", "call-02", "call-03"]
    for i, (wid, worker) in enumerate(doc["workers"].items(), 1):
        assert worker["status"] == "done" and worker["file"] == str(tmp_path / f"output_{i}.txt")
        assert worker["usage"]["completion_tokens"] > 0 and worker["metrics"]["ttft"] > 0
    agg = doc["aggregate"]
    assert agg["mode"] == "vote" and "summary" in agg["vote"]
    assert set(agg["inputs"]) <= set(doc["workers"])  # the same ids, not the seed's call_1
    assert "results" not in doc


def test_the_answer_of_each_system_is_in_its_json(tmp_path) -> None:
    ask = agentdeck("ask", "hi", "--demo", "--json", *QUICK).doc
    assert ask["answer"] and ask["answer"] == ask["text"] and list(ask["workers"]) == ["agent"]
    debate = agentdeck("debate", "2+2?", "--agents", "2", "--rounds", "0", "--demo", "--json",
                       *QUICK).doc
    assert debate["answers"] and len(debate["answers"]) == 2
    long = tmp_path / "long.txt"
    long.write_text("Ada Lovelace wrote the first program in 1843. " * 30)
    chain = agentdeck("chain", "--file", str(long), "Who?", "--demo", "--json", *QUICK).doc
    assert chain["answer"] and chain["workers"]["manager"]["status"] == "done"


def test_a_failure_with_json_is_an_error_document(tmp_path) -> None:
    with ThreadedSim() as sim:
        done = agentdeck("multi", "-n", "4", "x", "--base-url", sim.base_url, "--model", "nope",
                         "--output-dir", str(tmp_path), "--json")
        chat_requests = sim.stats.requests
    assert done.code == 6
    assert done.doc == {"schema": 1, "error": {
        "kind": "ModelNotFoundError", "exit_code": 6,
        "message": f"model 'nope' is not served at {sim.base_url}. Served models: sim-model "
                   "(--model picks one)"}}
    assert chat_requests == 0  # the model was checked once, before the four calls
    assert done.err_lines == ["agentdeck: model not found: " + done.doc["error"]["message"]]


@pytest.mark.parametrize(("argv", "kind", "code"), [
    (["ask", "   "], "InputError", 2),
    (["ask", "x", "--no-such-flag"], "UsageError", 2),
    (["models", "--temperature", "1"], "UsageError", 2),
    (["--events", "models"], "InputError", 2),
    (["ask", "x", "--profile", "nope"], "ProfileNotFoundError", 3),
])
def test_every_failure_prints_its_document(argv, kind, code) -> None:
    done = agentdeck(*argv, "--json", "--demo")
    assert done.code == code
    assert done.doc["schema"] == 1 and done.doc["error"]["kind"] == kind
    assert done.doc["error"]["exit_code"] == code and done.doc["error"]["message"]


def test_a_run_that_ends_badly_has_its_error_beside_its_result(tmp_path) -> None:
    with ThreadedSim(fault_schedule={2: {"fault": "status", "status": 400}}) as sim:
        done = agentdeck("multi", "-n", "3", "x", "--concurrency", "1", "--base-url",
                         sim.base_url, "--model", "sim-model", "--output-dir", str(tmp_path),
                         "--json")
    assert done.code == 7
    doc = done.doc
    assert doc["status"] == "partial" and doc["error"]["exit_code"] == 7
    assert doc["workers"]["call-02"]["status"] == "failed"
    assert doc["workers"]["call-02"]["error"]["kind"] == "BadRequestError"


def test_events_carry_schema_iso_time_and_no_worker_id_on_run_events(tmp_path) -> None:
    before = datetime.now(timezone.utc)
    done = agentdeck("multi", "-n", "2", "x", "--demo", "--events", "--output-dir",
                     str(tmp_path), *QUICK)
    assert done.code == 0
    lines = done.lines
    assert all(line["schema"] == 1 and ISO.match(line["time"]) for line in lines)
    for line in lines:
        when = datetime.strptime(line["time"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert before - timedelta(seconds=1) <= when <= datetime.now(timezone.utc)
    first, last = lines[0], lines[-1]
    assert first["event"] == "RunStarted" and "worker_id" not in first
    assert "t" in first  # the monotonic clock stays, for intervals
    assert next(x for x in lines if x["event"] == "RunFinished").keys().isdisjoint({"worker_id"})
    ids = {x["worker_id"] for x in lines if x["event"] == "WorkerFinished"}
    assert ids == {"call-01", "call-02"} == set(last["workers"])
    assert last["event"] == "Result" and last["summary"]["requests"]["done"] == 2
    assert "Running" not in done.out


def test_each_call_has_one_id_in_json_progress_and_run_files(tmp_path) -> None:
    done = agentdeck("multi", "-n", "2", "x", "--demo", "--output-dir", str(tmp_path), *QUICK)
    assert done.code == 0
    assert done.out.splitlines() == [f"call-0{i}: {tmp_path / f'output_{i}.txt'}" for i in (1, 2)]
    assert {"agentdeck: call-01 done (length)", "agentdeck: call-02 done (length)"} <= set(
        done.err_lines)
    run_dir = Path(only_run().dir)
    assert {"call-01.md", "call-02.md"} <= {p.name for p in run_dir.iterdir()}


def test_the_summary_table_ends_every_run_on_stderr_and_q_silences_all_but_errors(
        tmp_path) -> None:
    done = agentdeck("ask", "hi", "--demo", *QUICK)
    assert done.code == 0
    table = done.err_lines[-8:]
    assert table[0].startswith("requests   1 done, 0 failed, 0 cancelled in ")
    assert table[3].split() == ["(ms)", "mean", "p50", "p90", "p99"]
    assert [row.split()[0] for row in table[4:]] == ["TTFT", "TPOT", "ITL", "E2E"]
    assert "using the built-in simulator (profile demo, model agentdeck-sim) at " in done.err
    sim_help = " ".join(agentdeck("sim", "--help").out.split())
    assert "(default: agentdeck-sim, as with --demo)" in sim_help  # one name for the demo
    as_json = agentdeck("ask", "hi", "--demo", "--json", *QUICK)
    assert "TTFT" in as_json.err and as_json.doc["answer"]  # the table stays on stderr
    quiet = agentdeck("multi", "-n", "2", "hi", "--demo", "-q", "--output-dir", str(tmp_path),
                      *QUICK)
    assert quiet.code == 0 and quiet.err == "" and quiet.out
    failed = agentdeck("ask", "hi", "--demo", "-q", "-o", 'sim={"fault": "status", '
                       '"status": 400}')
    assert failed.code == 1 and len(failed.err_lines) == 1  # errors still show
    with ThreadedSim() as sim:
        picked = agentdeck("ask", "hi", "--base-url", sim.base_url)
        silent = agentdeck("ask", "hi", "--base-url", sim.base_url, "-q")
    assert "agentdeck: using model sim-model (the first the server lists" in picked.err
    assert silent.code == 0 and silent.err == "" and silent.out


def test_no_record_json_names_no_run() -> None:
    """Regression: `ask --no-record --json` printed a run_id that did not exist."""
    done = agentdeck("ask", "hi", "--demo", "--no-record", "--json", *QUICK)
    assert done.code == 0 and done.doc["run_id"] is None
    assert done.doc["workers"]["agent"]["file"] is None


def test_flags_a_command_does_not_honour_are_refused() -> None:
    for argv, flag in ((["models", "--events"], "--events"),
                       (["models", "--seed", "3"], "--seed"),
                       (["models", "--no-record"], "--no-record"),
                       (["models", "--raw"], "--raw")):
        done = agentdeck(*argv, "--demo")
        assert done.code == 2 and f"unrecognized arguments: {flag}" in done.err
    for argv, message in ((["--json", "models"], None),
                          (["--raw", "models"], "models does not take --raw"),
                          (["--json"], "the terminal app does not take --json"),
                          (["--no-record", "runs"], "runs does not take --no-record")):
        done = agentdeck(*argv, "--demo") if argv[-1] != "runs" else agentdeck(*argv)
        if message is None:
            assert done.code == 0 and done.doc["schema"] == 1
        else:
            assert done.code == 2 and done.err_lines == [f"agentdeck: bad input: {message}"]


def test_models_refuses_a_model_the_server_does_not_serve() -> None:
    """Regression: `models --model nope` exited 0 without a word."""
    with ThreadedSim() as sim:
        done = agentdeck("models", "--base-url", sim.base_url, "--model", "nope")
        ok = agentdeck("models", "--base-url", sim.base_url, "--model", "sim-model", "--json")
    assert done.code == 6 and "model 'nope' is not served" in done.err
    assert ok.code == 0 and ok.doc["selected"] == "sim-model"
