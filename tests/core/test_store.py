"""The run store: transcripts appended as they stream, manifests on state changes, history."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agentdeck import fsutil, paths
from agentdeck.errors import InputError, StallError, register_secret
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
from agentdeck.store.append_files import AppendFiles
from agentdeck.store.recorder import FLUSH_INTERVAL
from agentdeck.store.runs import RunStore, new_run_id
from agentdeck.types import GenerationParams, StreamMetrics, Usage, now


def manifest(rec) -> dict:
    return json.loads((rec.dir / "run.json").read_text())


def worker(data: dict, worker_id: str) -> dict:
    return next(w for w in data["workers"] if w["id"] == worker_id)


def delta(rec, wid: str, content: str = "", reasoning: str = "") -> None:
    rec(TextDelta(rec.run_id, wid, content, reasoning, now()))


def test_create_run_writes_a_private_manifest_without_secrets(isolated_home: Path) -> None:
    register_secret("sk-live-SECRET-0123456789")
    rec = RunStore().create_run(
        system="multi", params=GenerationParams(temperature=0.3, max_tokens=9),
        prompts={"prompt": "hello"}, endpoint="http://user:sk-live-SECRET-0123456789@gpu:8000/v1",
        model="m", label="my label",
    )
    assert rec.dir.parent == paths.runs_dir() and rec.dir.name == rec.run_id
    data = manifest(rec)
    assert data["status"] == "running" and data["system"] == "multi"
    assert data["params"] == {"temperature": 0.3, "max_tokens": 9}
    assert data["endpoint"] == "http://gpu:8000/v1" and data["model"] == "m"
    assert data["label"] == "my label" and data["prompts"] == {"prompt": "hello"}
    assert data["writer"]["pid"] > 0 and data["writer"]["host"]
    assert "SECRET" not in (rec.dir / "run.json").read_text()
    for folder in (paths.data_dir(), paths.runs_dir(), rec.dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE((rec.dir / "run.json").stat().st_mode) == 0o600
    rec.close()


async def test_text_is_buffered_then_flushed_by_the_loop_timer() -> None:
    rec = RunStore().create_run(system="basic")
    rec(WorkerQueued(rec.run_id, "agent", label="agent"))
    rec(WorkerStarted(rec.run_id, "agent"))
    for piece in ["Hel", "lo, ", "wör", "ld 🚀"]:
        delta(rec, "agent", piece)
    path = rec.worker_path("agent")
    assert not path.exists()  # the hot path only buffers
    # Nothing else arrives: the timer alone must get the last bytes to disk.
    await asyncio.sleep(FLUSH_INTERVAL + 0.2)
    assert path.read_text() == "Hello, wörld 🚀"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert worker(manifest(rec), "agent")["chars"] == len("Hello, wörld 🚀")
    assert rec.reasoning_path("agent") is None
    assert not list(rec.dir.glob("*.reasoning.md")), "reasoning file made without reasoning"
    rec.close()


async def test_manifest_follows_worker_states_and_never_per_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writes: list[Path] = []
    real = fsutil.atomic_write

    def counting(path: Path, data: bytes, **kw: object) -> None:
        writes.append(path)
        real(path, data, **kw)

    monkeypatch.setattr(fsutil, "atomic_write", counting)
    rec = RunStore().create_run(system="multi")
    rid = rec.run_id
    rec(RunStarted(rid, "multi", ("call-01", "call-02")))
    rec(WorkerQueued(rid, "call-01", label="call 1"))
    rec(WorkerStarted(rid, "call-01"))
    rec(FirstToken(rid, "call-01", ttft=0.25))
    before = len(writes)
    for i in range(2000):
        delta(rec, "call-01", f"t{i} ", "r" if i < 5 else "")
    assert len(writes) == before, "a token must never rewrite the manifest"
    await asyncio.sleep(FLUSH_INTERVAL + 0.2)
    data = manifest(rec)
    entry = worker(data, "call-01")
    assert entry["status"] == "streaming" and entry["label"] == "call 1" and entry["ttft"] == 0.25
    assert worker(data, "call-02")["status"] == "queued"
    metrics = StreamMetrics(ttft=0.25, e2e=2.0, itl_mean=0.01, itl_p99=0.02, tpot=0.01,
                            output_tokens=2000, tokens_per_s=1000.0)
    rec(WorkerFinished(rid, "call-01", "stop", Usage(5, 2000, 2005), metrics))
    rec(WorkerQueued(rid, "call-02"))
    rec(Retrying(attempt=1, max_attempts=3, delay=0.1, reason="429 slow down", run_id=rid,
                 worker_id="call-02"))
    rec(WorkerStarted(rid, "call-02"))
    rec(RunFinished(rid, "partial"))
    data = manifest(rec)
    first, second = worker(data, "call-01"), worker(data, "call-02")
    assert first["status"] == "done" and first["finish_reason"] == "stop"
    assert first["usage"]["completion_tokens"] == 2000 and first["metrics"]["tokens_per_s"] == 1000
    assert first["reasoning_file"] == "call-01.reasoning.md" and first["reasoning_chars"] == 5
    assert (rec.dir / "call-01.reasoning.md").read_text() == "rrrrr"
    assert (rec.dir / "call-01.md").read_text() == "".join(f"t{i} " for i in range(2000))
    assert second["status"] == "cancelled" and second["retries"] == 1  # the run ended first
    assert second["last_retry"] == "429 slow down"
    assert data["status"] == "partial" and data["finished_at"] is not None
    assert data["totals"]["workers"] == 2 and data["totals"]["completion_tokens"] == 2000
    assert len(writes) < 20


def test_failed_worker_keeps_exactly_its_partial_text() -> None:
    register_secret("key-in-error-0123456789")
    rec = RunStore().create_run(system="multi")
    rid = rec.run_id
    rec(WorkerStarted(rid, "call-01"))
    delta(rec, "call-01", "partial ")
    delta(rec, "call-01", "answer")
    error = StallError("no chunk for 300 s (key-in-error-0123456789)", partial="partial answer")
    rec(WorkerFailed(rid, "call-01", error, partial="partial answer"))
    assert (rec.dir / "call-01.md").read_text() == "partial answer"
    entry = worker(manifest(rec), "call-01")
    assert entry["status"] == "failed" and entry["error_kind"] == "StallError"
    assert entry["chars"] == len("partial answer")
    assert "key-in-error" not in json.dumps(entry) and "StallError" in entry["error"]
    # A partial that holds text never delivered as deltas completes the file.
    rec(WorkerStarted(rid, "call-02"))
    delta(rec, "call-02", "abc")
    rec(WorkerFailed(rid, "call-02", None, partial="abcdef", cancelled=True))
    assert (rec.dir / "call-02.md").read_text() == "abcdef"
    assert worker(manifest(rec), "call-02")["status"] == "cancelled"
    rec.close()
    rec.close()  # idempotent
    assert manifest(rec)["status"] == "interrupted"


def test_steps_get_their_own_files() -> None:
    rec = RunStore().create_run(system="chain")
    rid = rec.run_id
    rec(StepStarted(rid, 1, 3, "chunk 1/3", worker_id="chunk-01"))
    rec(StepFinished(rid, 1, "summary of chunk 1", worker_id="chunk-01"))
    rec(StepStarted(rid, 2, 3, "chunk 2/3", worker_id="chunk-02"))
    rec.close()
    steps = manifest(rec)["steps"]
    assert steps[0]["output_file"] == "step-01.md" and steps[0]["status"] == "done"
    assert steps[1]["status"] == "interrupted" and steps[1]["output_file"] is None
    info = RunStore().load_run(rec.run_id)
    assert info.read_step(1) == "summary of chunk 1"
    assert info.read_step(2) == ""


def test_worker_ids_become_safe_distinct_file_names() -> None:
    rec = RunStore().create_run(system="x")
    rid = rec.run_id
    for wid in ("../escape", "..\\escape", "step-01", "run"):
        rec(WorkerStarted(rid, wid))
        delta(rec, wid, wid)
    rec.close()
    names = sorted(p.name for p in rec.dir.iterdir())
    assert all((rec.dir / n).resolve().parent == rec.dir.resolve() for n in names)
    files = [w["file"] for w in manifest(rec)["workers"]]
    assert len(set(files)) == 4 and "step-01.md" not in files
    info = RunStore().load_run(rec.run_id)
    assert [info.read_text(w) for w in ("../escape", "..\\escape", "step-01", "run")] == [
        "../escape", "..\\escape", "step-01", "run"]


def test_a_retried_worker_keeps_its_earlier_attempt() -> None:
    rec = RunStore().create_run(system="multi")
    rid = rec.run_id
    rec(WorkerStarted(rid, "call-01"))
    delta(rec, "call-01", "first try")
    rec(WorkerFailed(rid, "call-01", RuntimeError("boom"), partial="first try"))
    rec(RunFinished(rid, "failed"))
    rec(WorkerQueued(rid, "call-01"))  # queued again after the run ended: it goes on
    assert manifest(rec)["status"] == "running" and not rec.closed
    rec(WorkerStarted(rid, "call-01"))
    delta(rec, "call-01", "second try")
    rec(WorkerFinished(rid, "call-01", "stop", None, None))
    rec(RunFinished(rid, "done"))
    entry = worker(manifest(rec), "call-01")
    assert entry["status"] == "done" and (rec.dir / "call-01.md").read_text() == "second try"
    assert entry["attempts"][0]["status"] == "failed"
    assert (rec.dir / entry["attempts"][0]["file"]).read_text() == "first try"


def test_without_an_event_loop_text_reaches_disk_on_close() -> None:
    rec = RunStore().create_run(system="basic")
    delta(rec, "agent", "sync ")
    delta(rec, "agent", "use")
    rec.close()
    assert (rec.dir / "agent.md").read_text() == "sync use"


# ---------------------------------------------------------------------------- history


def test_list_runs_newest_first_and_tolerant_of_broken_manifests(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    recs = []
    for i in range(3):
        rec = store.create_run(system="basic", prompts={"prompt": f"prompt {i}\nmore"})
        rec(RunFinished(rec.run_id, "done"))
        recs.append(rec)
    (recs[1].dir / "run.json").write_text('{"run_id": "half-writ')  # corrupt
    (store.root / "20000101-000000-empty").mkdir()  # killed before its manifest
    runs = store.list_runs()
    assert len(runs) == 4
    good = [r for r in runs if r.status == "done"]
    assert [r.run_id for r in good] == [recs[2].run_id, recs[0].run_id]
    assert good[0].prompt_head == "prompt 2"
    bad = {r.run_id: r for r in runs if r.status == "corrupt"}
    assert set(bad) == {recs[1].run_id, "20000101-000000-empty"}
    assert "cannot be read" in bad[recs[1].run_id].problem
    assert "missing" in bad["20000101-000000-empty"].problem
    assert len(store.list_runs(limit=2)) == 2
    assert RunStore(tmp_path / "nothing-here").list_runs() == []


def test_load_run_by_id_or_prefix_and_clear_errors() -> None:
    store = RunStore()
    rec = store.create_run(system="basic", run_id="custom-run-1")
    rec(RunFinished(rec.run_id, "done"))
    store.create_run(system="basic", run_id="custom-run-2").close()
    assert store.load_run("custom-run-1").status == "done"
    with pytest.raises(InputError, match="matches 2 runs"):
        store.load_run("custom-run")
    with pytest.raises(InputError, match="no run 'nope'"):
        store.load_run("nope")
    with pytest.raises(InputError, match="not a run id"):
        store.load_run("../etc")
    with pytest.raises(InputError, match="already exists"):
        store.create_run(system="basic", run_id="custom-run-1")
    with pytest.raises(InputError, match="not a safe folder name"):
        store.create_run(system="basic", run_id="../../x")
    with pytest.raises(InputError, match="no worker 'w'"):
        store.load_run("custom-run-1").worker("w")


def test_a_run_whose_writer_died_reads_as_interrupted() -> None:
    rec = RunStore().create_run(system="multi")
    rec(WorkerStarted(rec.run_id, "call-01"))
    rec(WorkerQueued(rec.run_id, "call-02"))
    rec(WorkerFinished(rec.run_id, "call-03", "stop", None, None))
    rec.flush()
    assert RunStore().load_run(rec.run_id).status == "running"  # this process is alive
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    data = manifest(rec)
    data["writer"]["pid"] = int(dead.stdout)
    data["writer"]["start"] = None
    (rec.dir / "run.json").write_text(json.dumps(data))
    info = RunStore().load_run(rec.run_id)
    assert info.status == "interrupted"
    assert {w["id"]: w["status"] for w in info.workers} == {
        "call-01": "interrupted", "call-02": "interrupted", "call-03": "done"}
    assert json.loads((rec.dir / "run.json").read_text())["status"] == "running", "read-only"


def test_new_run_ids_are_unique_and_file_safe() -> None:
    ids = {new_run_id("multi") for _ in range(500)}
    assert len(ids) == 500
    assert all("-multi-" in i and "/" not in i for i in ids)
    assert "/" not in new_run_id("../../evil")


def test_a_clashing_run_id_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentdeck.store.runs as store_module

    suffixes = iter(["aaaaaa", "aaaaaa", "bbbbbb"])
    monkeypatch.setattr(store_module.time, "strftime", lambda fmt: "20261125-120000")
    monkeypatch.setattr(store_module.secrets, "token_hex", lambda n: next(suffixes))
    first = RunStore().create_run(system="multi")
    second = RunStore().create_run(system="multi")
    assert first.run_id == "20261125-120000-multi-aaaaaa"
    assert second.run_id == "20261125-120000-multi-bbbbbb"
    assert manifest(first)["run_id"] != manifest(second)["run_id"]


def test_a_disk_error_does_not_break_the_run_and_text_is_retried(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rec = RunStore().create_run(system="basic")
    real = AppendFiles.append
    failures = iter([OSError(28, "No space left on device")])

    def flaky(self: AppendFiles, path: Path, data: bytes) -> None:
        error = next(failures, None)
        if error is not None:
            raise error
        real(self, path, data)

    monkeypatch.setattr(AppendFiles, "append", flaky)
    delta(rec, "agent", "kept ")
    rec.flush()  # fails: the text stays pending, the caller sees no exception
    assert rec.write_error is not None and "No space left" in caplog.text
    delta(rec, "agent", "in order")
    rec(WorkerFinished(rec.run_id, "agent", "stop", None, None))
    assert (rec.dir / "agent.md").read_text() == "kept in order"
    rec.close()
