"""Crash safety end to end: real multi-call runs in child processes against the simulator.

The run store's own tests feed the recorder synthetic events; these run the whole stack
(``MultiCallSystem`` -> client -> sockets -> ``SimServer``) in a child process, kill it with
SIGKILL mid-stream, and read what it left through the CLI; and run two such processes at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from agentdeck.cli import main
from agentdeck.sim import SimConfig, expected_text
from agentdeck.store.runs import RunStore
from agentdeck.systems.run import think_text

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from agentdeck.client import VLLMModel
    from agentdeck.sim import SimConfig, SimServer
    from agentdeck.store import RunStore
    from agentdeck.systems import MultiCallSystem
    from agentdeck.events import RunStarted, WorkerFinished

    prompt, out_dir, tps, short = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]

    class Model(VLLMModel):
        def stream(self, messages, params=None, **kw):
            if short == "yes" and kw.get("seed") == 1:  # call 1 ends early, the rest stream on
                kw["sim"] = {"output_tokens": 6}
            return super().stream(messages, params, **kw)

    def say(event):
        if type(event) is RunStarted:
            print("RUN", event.run_id, flush=True)
        elif type(event) is WorkerFinished:
            print("DONE", event.worker_id, flush=True)

    async def main():
        config = SimConfig(tokens_per_s=tps, ttft=0.0, output_tokens=3000, seed=5, tick=0.02)
        async with SimServer(config) as sim:
            async with Model("sim-model", sim.base_url) as model:
                multi = MultiCallSystem("crash", model, listeners=[say], store=RunStore())
                await multi.run(prompt, 4, out_dir, "answer", seeds=1)
        print("END", flush=True)

    asyncio.run(main())
    """
)
CONFIG = SimConfig(output_tokens=3000, seed=5)


def full_text(prompt: str, seed: int, tokens: int | None = None) -> str:
    body = {"model": "sim-model", "messages": [{"role": "user", "content": prompt}],
            "seed": seed}
    config = CONFIG if tokens is None else SimConfig(output_tokens=tokens, seed=5)
    return expected_text(config, body)[0]


def spawn(prompt: str, out_dir: Path, tps: float, short: bool) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, prompt, str(out_dir), str(tps), "yes" if short else "no"],
        stdout=subprocess.PIPE, text=True, env=os.environ,
    )


def test_sigkill_mid_stream_leaves_valid_files_and_shows_interrupted(tmp_path: Path,
                                                                     capsys) -> None:
    prompt = "Tell the long story of the lighthouse keeper and the café — naïve, déjà vu."
    out_dir = tmp_path / "answers"
    proc = spawn(prompt, out_dir, tps=40.0, short=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("RUN "), f"child did not start: {line!r}"
        run_id = line.split()[1]
        assert proc.stdout.readline().strip() == "DONE call-01"
        run_dir = RunStore().run_dir(run_id)
        deadline = time.monotonic() + 30  # a deadline to wait for text, not a timing check
        while time.monotonic() < deadline:
            sizes = [(run_dir / f"call-0{i}.md") for i in (2, 3, 4)]
            if all(p.exists() and p.stat().st_size > 200 for p in sizes):
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    written = list(run_dir.iterdir()) + list(out_dir.iterdir())
    for path in written:
        path.read_bytes().decode("utf-8")  # strict: every file is valid UTF-8
    assert not [p for p in written if p.name.endswith(".tmp")]
    manifest = json.loads((run_dir / "run.json").read_text("utf-8"))
    status = {w["id"]: w["status"] for w in manifest["workers"]}
    assert manifest["status"] == "running" and status["call-01"] == "done"
    assert {status[f"call-0{i}"] for i in (2, 3, 4)} == {"streaming"}  # text was on disk

    # What reached the disk is exactly a prefix of what the server sent, in both copies.
    assert (run_dir / "call-01.md").read_text("utf-8") == full_text(prompt, 1, tokens=6)
    for i in (2, 3, 4):
        full = full_text(prompt, i)
        kept = (run_dir / f"call-0{i}.md").read_text("utf-8")
        seed_copy = (out_dir / f"answer_{i}.txt").read_text("utf-8")
        assert len(kept) >= 200 and full.startswith(kept) and full.startswith(seed_copy)
        assert len(kept) < len(full)

    assert main(["runs", "show", run_id]) == 0
    out = capsys.readouterr().out
    assert "status   INTERRUPTED" in out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()
            if line.startswith("call-")}
    assert rows == {"call-01": "done", "call-02": "INTERRUPTED", "call-03": "INTERRUPTED",
                    "call-04": "INTERRUPTED"}
    assert main(["runs", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)["runs"]
    assert listed["run_id"] == run_id and listed["status"] == "interrupted"


def test_two_processes_running_at_once_never_clash(tmp_path: Path) -> None:
    prompts = ["Write about the northern orchard in spring.",
               "Write about the southern quarry at night."]
    procs = [spawn(p, tmp_path / f"out{k}", tps=0.0, short=False) for k, p in enumerate(prompts)]
    outputs = [p.communicate(timeout=90)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    run_ids = [out.split()[1] for out in outputs]
    assert len(set(run_ids)) == 2

    runs = {info.run_id: info for info in RunStore().list_runs()}
    assert set(runs) == set(run_ids)
    for k, (prompt, run_id, proc) in enumerate(zip(prompts, run_ids, procs, strict=True)):
        info = runs[run_id]
        assert info.status == "done" and info.manifest["writer"]["pid"] == proc.pid
        assert info.prompts["prompt"] == prompt
        assert sorted(p.name for p in info.dir.iterdir()) == [
            "call-01.md", "call-02.md", "call-03.md", "call-04.md", "run.json"]
        for i in range(1, 5):
            # Each file holds its own process's text, whole: nothing interleaved.
            assert info.read_text(f"call-0{i}") == full_text(prompt, i)
            assert (tmp_path / f"out{k}" / f"answer_{i}.txt").read_text() == full_text(prompt, i)


def test_ctrl_c_cancels_the_cli_run_and_keeps_every_partial_answer(tmp_path: Path,
                                                                   capsys) -> None:
    """SIGINT (Ctrl-C) to ``agentdeck multi``: exit 130, a "cancelled" run, no text lost."""
    out_dir = tmp_path / "answers"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentdeck", "multi", "-n", "3", "Tell a long story", "--demo",
         "--output-dir", str(out_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        deadline = time.monotonic() + 30  # wait for text on disk (a deadline, not a timing test)
        while time.monotonic() < deadline:
            runs = RunStore().list_runs()
            workers = runs[0].workers if runs else []
            if len(workers) == 3 and all(w["chars"] > 0 for w in workers):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == ("agentdeck: interrupted; partial text is kept in the run "
                                    "folder (`agentdeck runs`)")
    (run,) = RunStore().list_runs()
    assert run.status == "cancelled"
    for i, worker in enumerate(run.workers, 1):
        kept = run.read_text(worker["id"])
        assert worker["status"] == "cancelled" and worker["chars"] == len(kept) > 0
        seed_copy = think_text(kept, run.read_reasoning(worker["id"]))  # as the seed wrote it
        assert (out_dir / f"output_{i}.txt").read_text("utf-8") == seed_copy
    folder = json.loads((out_dir / "manifest.json").read_text())["sets"]["output"]
    assert folder["run_id"] == run.run_id and folder["status"] == "cancelled"
    assert {c["status"] for c in folder["calls"].values()} == {"cancelled"}
    assert all(c["chars"] == len((out_dir / c["file"]).read_text("utf-8"))
               for c in folder["calls"].values())
    assert main(["runs", "show", run.run_id]) == 0
    assert "status   cancelled" in capsys.readouterr().out
