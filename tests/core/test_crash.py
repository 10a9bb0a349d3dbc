"""Crash safety: kill -9 mid-stream leaves readable files and an honest manifest, and two
processes recording at once never share a run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from agentdeck.store.runs import RunStore

STREAMER = textwrap.dedent(
    """
    import asyncio, sys
    from agentdeck.store import RunStore
    from agentdeck.events import (RunStarted, TextDelta, WorkerFinished, WorkerQueued,
                                  WorkerStarted)
    from agentdeck.types import now

    def piece(i):
        return f"tok{i} é日本🚀 "

    async def stream(rec, wid, count):
        rec(WorkerStarted(rec.run_id, wid))
        for i in range(count):
            rec(TextDelta(rec.run_id, wid, piece(i), "思考 " if i % 5 == 0 else "", now()))
            await asyncio.sleep(0.002)
        rec(WorkerFinished(rec.run_id, wid, "stop", None, None))

    async def main():
        rec = RunStore().create_run(system="multi", prompts={"prompt": "crash me"},
                                    endpoint="http://127.0.0.1:9/v1", model="m")
        wids = ("call-01", "call-02", "call-03")
        rec(RunStarted(rec.run_id, "multi", wids))
        for wid in wids:
            rec(WorkerQueued(rec.run_id, wid))
        await stream(rec, "call-01", 20)
        print(rec.run_id, flush=True)
        await asyncio.gather(stream(rec, "call-02", 10**9), stream(rec, "call-03", 10**9))

    asyncio.run(main())
    """
)


def expected_text(limit: int = 200_000) -> str:
    return "".join(f"tok{i} é日本🚀 " for i in range(limit))


def call_01_done(run_dir: Path) -> bool:
    workers = json.loads((run_dir / "run.json").read_text())["workers"]
    return any(w["id"] == "call-01" and w["status"] == "done" for w in workers)


def test_kill_9_mid_stream_leaves_valid_files_and_marks_unfinished_workers() -> None:
    proc = subprocess.Popen([sys.executable, "-c", STREAMER], stdout=subprocess.PIPE, text=True)
    try:
        run_id = proc.stdout.readline().strip()
        assert run_id, "the streamer did not start"
        run_dir = RunStore().run_dir(run_id)
        deadline = time.monotonic() + 30
        # Let text reach disk before the kill (a deadline, not a timing assertion).
        while time.monotonic() < deadline:
            files = [run_dir / "call-02.md", run_dir / "call-03.reasoning.md"]
            if all(f.exists() and f.stat().st_size > 300 for f in files) and call_01_done(run_dir):
                break
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    for path in run_dir.iterdir():
        path.read_bytes().decode("utf-8")  # strict: every file is valid UTF-8
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "running"  # what the killed process last wrote

    full = expected_text()
    for wid in ("call-01", "call-02", "call-03"):
        text = (run_dir / f"{wid}.md").read_text()
        assert text and full.startswith(text), f"{wid}: text on disk is not what was streamed"

    infos = {info.run_id: info for info in RunStore().list_runs()}
    for info in (infos[run_id], RunStore().load_run(run_id)):
        assert info.status == "interrupted"
        statuses = {w["id"]: w["status"] for w in info.workers}
        assert statuses == {"call-01": "done", "call-02": "interrupted",
                            "call-03": "interrupted"}
        assert info.read_text("call-01") == expected_text(20)
        assert info.read_reasoning("call-02").startswith("思考 思考 ")


WRITER = textwrap.dedent(
    """
    import os, sys, time
    from agentdeck.store import RunStore
    from agentdeck.events import RunFinished, TextDelta
    from agentdeck.types import now
    start = float(sys.argv[1])
    time.sleep(max(0.0, start - time.time()))
    store = RunStore()
    for i in range(40):
        rec = store.create_run(system="multi")
        rec(TextDelta(rec.run_id, "call-01", f"pid {os.getpid()}", "", now()))
        rec(RunFinished(rec.run_id, "done"))
    """
)


def test_two_processes_recording_at_once_never_share_a_run() -> None:
    start = str(time.time() + 1.0)  # both start in the same second
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, start]) for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    runs = RunStore().list_runs()
    assert len(runs) == 80 and len({r.run_id for r in runs}) == 80
    pids = {p.pid for p in procs}
    seen = set()
    for info in runs:
        writer = info.manifest["writer"]["pid"]
        assert info.manifest["run_id"] == info.dir.name and writer in pids
        assert info.read_text("call-01") == f"pid {writer}"
        assert info.status == "done"
        seen.add(writer)
    assert seen == pids


def test_no_temporary_files_are_left_by_finished_runs(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    for _ in range(3):
        store.create_run(system="basic").close()
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
