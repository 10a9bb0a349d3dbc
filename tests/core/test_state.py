"""One run-state vocabulary, folded once: the recorder, the live view, the CLI's progress and a
run read back from disk all say the same thing about every worker."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from agentdeck.cli.output import Output
from agentdeck.cli.progress import Progress
from agentdeck.errors import StallError
from agentdeck.events import (
    FirstToken,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerQueued,
    WorkerStarted,
)
from agentdeck.state import RunFold, RunStatus, WorkerState, read_state
from agentdeck.store.runs import RunStore
from agentdeck.tui.live import LiveRun
from agentdeck.tui.screens.run_view import live_from_disk

RUN = "run-1"
IDS = ("call-01", "call-02", "call-03", "call-04", "call-05", "call-06")


def script() -> list:
    """Six workers that end every way a worker can, and a run that ends with one queued."""
    return [
        RunStarted(RUN, "multi", IDS),
        *(WorkerQueued(RUN, w, f"call {i}") for i, w in enumerate(IDS, 1)),
        WorkerStarted(RUN, "call-01"),
        FirstToken(RUN, "call-01", 0.1),
        TextDelta(RUN, "call-01", "Hello", "", 1.0),
        WorkerFinished(RUN, "call-01", "stop", None, None),
        WorkerStarted(RUN, "call-02"),
        TextDelta(RUN, "call-02", "", "thinking", 1.0),  # text without FirstToken: streaming
        WorkerFailed(RUN, "call-02", StallError("no chunk for 30 s"), partial=""),
        WorkerStarted(RUN, "call-03"),
        Retrying(1, 3, 0.5, "503 busy", run_id=RUN, worker_id="call-03"),
        WorkerStarted(RUN, "call-04"),
        WorkerStarted(RUN, "call-05"),
        TextDelta(RUN, "call-05", "half", "", 2.0),
        WorkerFailed(RUN, "call-05", None, partial="half", cancelled=True),
    ]


EXPECTED = {"call-01": "done", "call-02": "failed", "call-03": "retrying",
            "call-04": "waiting", "call-05": "cancelled", "call-06": "queued"}


def readers(tmp_path: Path) -> dict[str, RunFold]:
    store = RunStore(tmp_path)
    return {
        "fold": RunFold(),
        "live": LiveRun(),
        "recorder": store.create_run(system="multi"),
        "progress": Progress(Output(io.StringIO(), io.StringIO()), live=True),
    }


def states(fold: RunFold) -> dict[str, str]:
    return {w: fold.workers[w].state.value for w in fold.order}


def on_disk(recorder) -> dict[str, str]:
    recorder.flush()
    data = json.loads((recorder.dir / "run.json").read_text())
    return {w["id"]: w["status"] for w in data["workers"]}


def test_every_reader_folds_the_same_states(tmp_path: Path) -> None:
    folds = readers(tmp_path)
    for event in script():
        for fold in folds.values():
            fold(event)
        seen = {name: states(fold) for name, fold in folds.items()}
        assert len({tuple(s.items()) for s in seen.values()}) == 1, (event, seen)
    assert states(folds["live"]) == EXPECTED
    assert on_disk(folds["recorder"]) == EXPECTED
    info = RunStore(tmp_path).load_run(folds["recorder"].run_id)
    assert {w["id"]: w["status"] for w in info.workers} == EXPECTED
    assert states(live_from_disk(info)) == EXPECTED
    for fold in folds.values():
        assert fold.counts[WorkerState.DONE] == 1 and fold.counts[WorkerState.QUEUED] == 1
    bar = folds["progress"]._bar()
    assert "2/6" not in bar and "3/6" in bar  # done, failed and cancelled have ended
    assert "0 streaming, 1 waiting, 1 retrying, 2 failed" in bar

    # The run ends on its own: workers it never ran are cancelled, everywhere.
    for fold in folds.values():
        fold(RunFinished(RUN, "partial"))
        assert fold.status == "partial" and fold.finished
    after = {**EXPECTED, "call-03": "cancelled", "call-04": "cancelled", "call-06": "cancelled"}
    assert {name: states(fold) for name, fold in folds.items()} == dict.fromkeys(folds, after)
    assert on_disk(folds["recorder"]) == after


def test_a_run_closed_without_finishing_is_interrupted_on_disk_and_in_the_view(
    tmp_path: Path,
) -> None:
    recorder = RunStore(tmp_path).create_run(system="multi")
    for event in script():
        recorder(event)
    recorder.close()  # no RunFinished: the process is going down
    unfinished = {w for w, s in EXPECTED.items() if s in ("retrying", "waiting", "queued")}
    want = {w: "interrupted" if w in unfinished else s for w, s in EXPECTED.items()}
    assert on_disk(recorder) == want
    live = live_from_disk(RunStore(tmp_path).load_run(recorder.run_id))
    assert states(live) == want and live.status == RunStatus.INTERRUPTED
    assert "process ended" in live.buffers["call-04"].error


FORMAT_1 = {
    "format": 1, "run_id": "20250101-000000-multi-abcdef", "system": "multi", "label": "",
    "status": "running", "created_at": 1.0, "finished_at": None,
    "prompts": {"prompt": "old run"}, "steps": [],
    "workers": [
        {"id": "call-01", "label": "call 1", "status": "done", "file": "call-01.md",
         "chars": 5, "ttft": 0.1},
        {"id": "call-02", "label": "call 2", "status": "running", "file": "call-02.md",
         "chars": 4, "ttft": 0.2},
        {"id": "call-03", "label": "call 3", "status": "running", "file": "call-03.md",
         "chars": 0, "ttft": None},
        {"id": "call-04", "label": "call 4", "status": "queued", "file": "call-04.md",
         "chars": 0, "ttft": None},
    ],
}


def old_run(tmp_path: Path, writer_pid: int) -> Path:
    run_dir = tmp_path / FORMAT_1["run_id"]
    run_dir.mkdir(parents=True)
    manifest = {**FORMAT_1, "writer": {"pid": writer_pid, "host": os.uname().nodename}}
    (run_dir / "run.json").write_text(json.dumps(manifest))
    (run_dir / "call-01.md").write_text("Hello")
    (run_dir / "call-02.md").write_text("half")
    return run_dir


def test_a_format_1_manifest_reads_in_todays_words(tmp_path: Path) -> None:
    """Runs written before the vocabulary split said ``running`` for any sent request."""
    old_run(tmp_path, os.getpid())  # the writer is alive: the run is still going
    info = RunStore(tmp_path).load_run(FORMAT_1["run_id"])
    assert info.status == "running"
    words = {w["id"]: w["status"] for w in info.workers}
    assert words == {"call-01": "done", "call-02": "streaming", "call-03": "waiting",
                     "call-04": "queued"}
    live = live_from_disk(info)
    assert states(live) == words and not live.finished
    assert live.buffers["call-02"].text == "half"


def test_a_format_1_manifest_of_a_dead_writer_reads_as_interrupted(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    old_run(tmp_path, int(dead.stdout))
    info = RunStore(tmp_path).load_run(FORMAT_1["run_id"])
    assert info.status == "interrupted"
    assert {w["id"]: w["status"] for w in info.workers} == {
        "call-01": "done", "call-02": "interrupted", "call-03": "interrupted",
        "call-04": "interrupted"}


def test_read_state_knows_every_word_and_nothing_else() -> None:
    assert [read_state(s.value) for s in WorkerState] == list(WorkerState)
    assert read_state("running") is WorkerState.WAITING
    assert read_state("running", streamed=True) is WorkerState.STREAMING
    assert read_state("unknown") is None and read_state(None) is None
    assert f"{WorkerState.DONE} {RunStatus.PARTIAL}" == "done partial"


def test_a_retried_worker_reopens_the_run_then_finishes_it_again(tmp_path: Path) -> None:
    folds = readers(tmp_path)
    events = [
        RunStarted(RUN, "multi", ("call-01",)),
        WorkerStarted(RUN, "call-01"),
        TextDelta(RUN, "call-01", "first", "", 1.0),
        WorkerFailed(RUN, "call-01", RuntimeError("boom"), partial="first"),
        RunFinished(RUN, "failed"),
        WorkerQueued(RUN, "call-01"),
    ]
    for event in events:
        for fold in folds.values():
            fold(event)
    for fold in folds.values():
        assert not fold.finished and fold.workers["call-01"].state is WorkerState.QUEUED
        assert fold.counts[WorkerState.QUEUED] == 1 and fold.counts[WorkerState.FAILED] == 0
    for event in (WorkerStarted(RUN, "call-01"), TextDelta(RUN, "call-01", "second", "", 2.0),
                  WorkerFinished(RUN, "call-01", "stop", None, None), RunFinished(RUN, "done")):
        for fold in folds.values():
            fold(event)
    assert {fold.status for fold in folds.values()} == {"done"}
    assert on_disk(folds["recorder"]) == {"call-01": "done"}


def test_steps_end_with_the_run(tmp_path: Path) -> None:
    folds = {"live": LiveRun(), "recorder": RunStore(tmp_path).create_run(system="chain")}
    for event in (StepStarted(RUN, 1, 2, "chunk 1/2", "chunk-01"),
                  StepFinished(RUN, 1, "unit", "chunk-01"),
                  StepStarted(RUN, 2, 2, "chunk 2/2", "chunk-02"),
                  RunFinished(RUN, "failed")):
        for fold in folds.values():
            fold(event)
    for fold in folds.values():
        assert [s.status for s in fold.steps.values()] == ["done", "cancelled"]


def test_a_late_retry_report_does_not_reopen_a_finished_worker() -> None:
    """Review finding: a Retrying event after a worker's end moved it back to `retrying`."""
    fold: RunFold = RunFold()
    for event in (RunStarted(RUN, "multi", ("call-01",)), WorkerStarted(RUN, "call-01"),
                  WorkerFinished(RUN, "call-01", "stop", None, None),
                  Retrying(1, 3, 0.5, "a model's late report", run_id=RUN, worker_id="call-01")):
        fold(event)
    assert fold.workers["call-01"].state is WorkerState.DONE
    assert fold.workers["call-01"].retries == 0
