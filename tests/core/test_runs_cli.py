"""``agentdeck runs``: list, show, retry, export, rm and prune, run as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from runs_support import seed_multi

from agentdeck.store.runs import RunStore
from agentdeck.systems.aggregate import AggregateResult, majority_vote
from agentdeck.systems.debate import DebateResult
from agentdeck.systems.multi import MultiResult

FAST = ["--demo", "--max-tokens", "6", "-q"]


def cli(*args: str, cwd: Path | None = None, stdin: object = subprocess.DEVNULL
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "agentdeck", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, stdin=stdin, timeout=60, check=False)


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def manifest(run_id: str) -> dict:
    return orjson.loads((RunStore().run_dir(run_id) / "run.json").read_bytes())


def test_list_filters_by_system_status_and_text_and_shows_model_tokens_time() -> None:
    done = seed_multi({"call-01": "Answer: 42", "call-02": "Answer: 42"}, prompt="six sevens")
    partial = seed_multi({"call-01": "a walrus appears", "call-02": None}, prompt="zoo story")
    RunStore().create_run(system="chain", prompts={"prompt": "a chain"}).close()

    listed = cli("runs")
    assert listed.returncode == 0, listed.stderr
    head, *rows = listed.stdout.splitlines()
    assert head.split()[:8] == ["RUN", "STATUS", "SYSTEM", "MODEL", "CALLS", "TOKENS", "TIME",
                                "PROMPT"]
    assert len(rows) == 3
    row = next(r for r in rows if r.startswith(done))
    assert row.split()[1:6] == ["done", "multi", "agentdeck-sim", "2", "8"]

    picked = cli("runs", "list", "--system", "multi", "--status", "partial", "--json")
    doc = json.loads(picked.stdout)
    assert doc["schema"] == 1 and [r["run_id"] for r in doc["runs"]] == [partial]
    assert doc["runs"][0]["output_tokens"] == 4 and doc["runs"][0]["model"] == "agentdeck-sim"
    # The search reads the answers, not only the prompts.
    found = cli("runs", "--search", "WALRUS")
    assert [r.split()[0] for r in found.stdout.splitlines()[1:]] == [partial]
    newest = cli("runs", "--limit", "1")
    assert len(newest.stdout.splitlines()) == 2  # header + newest
    assert "the newest 1 of 3 runs shown" in newest.stderr


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_limit_below_one_is_bad_input(limit: str) -> None:
    """Regression: ``runs --limit 0`` printed "no runs yet" with runs present."""
    seed_multi({"call-01": "x"})
    proc = cli("runs", "--limit", limit)
    assert proc.returncode == 2 and proc.stdout == ""
    assert one_line(proc.stderr) == f"agentdeck: bad input: --limit must be at least 1, got {limit}"


def test_show_latest_prints_summary_workers_and_vote_and_text(tmp_path: Path) -> None:
    ran = cli("multi", "-n", "3", "What is 6 times 7?", "--aggregate", "vote", *FAST,
              cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    (info,) = RunStore().list_runs()

    shown = cli("runs", "show", "latest")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert f"run      {info.run_id}" in out
    assert "requests   3 done, 0 failed, 0 cancelled" in out and "TTFT" in out and "ITL" in out
    table = [line.split() for line in out.splitlines() if line.startswith("call-")]
    assert [row[:2] for row in table] == [["call-01", "done"], ["call-02", "done"],
                                          ["call-03", "done"]]
    assert all(row[2] == "6" and row[-1].endswith(".md") for row in table)
    assert "vote: " in out

    text = cli("runs", "show", info.run_id[:20], "--text").stdout
    for wid in ("call-01", "call-02", "call-03"):
        assert f"== {wid} (done) ==\n{info.read_text(wid).rstrip()}\n" in text

    doc = json.loads(cli("runs", "show", "latest", "--json").stdout)
    assert doc["schema"] == 1 and doc["summary"]["requests"]["done"] == 3
    assert doc["result"]["aggregate"]["mode"] == "vote"
    assert sum(doc["result"]["aggregate"]["vote"]["counts"].values()) == 3


def test_show_says_what_select_picked_and_a_debates_final_answer() -> None:
    picked = AggregateResult("select", "Answer: 42", chosen="call-02",
                             inputs=("call-01", "call-02"))
    rid = seed_multi({"call-01": "Answer: 41", "call-02": "Answer: 42"},
                     result=MultiResult(files={}, aggregate=picked))
    out = cli("runs", "show", rid).stdout
    assert "select: picked call-02\nAnswer: 42\n" in out

    vote = majority_vote(["Answer: 42", "Answer: 42"])
    debate = DebateResult(["Answer: 42", "Answer: 42"], vote=vote)
    rid = seed_multi({"call-01": "Answer: 42", "call-02": "Answer: 42"}, system="debate",
                     result=debate)
    out = cli("runs", "show", rid).stdout
    assert "vote: 42 (2 of 2)" in out and "final answer:\n42\n" in out


def test_show_a_run_recorded_without_a_summary() -> None:
    """Runs recorded before run.json carried a summary: rebuilt from the workers' figures."""
    rid = seed_multi({"call-01": "Answer: 42", "call-02": None})
    path = RunStore().run_dir(rid) / "run.json"
    doc = orjson.loads(path.read_bytes())
    doc.pop("summary", None)
    path.write_bytes(orjson.dumps(doc))
    out = cli("runs", "show", rid).stdout
    assert "requests   1 done, 1 failed, 0 cancelled" in out
    assert "rebuilt from each request's recorded figures" in out
    assert "call-02  failed" in out and "503 server error" in out

    bare = RunStore().create_run(system="chain", prompts={"prompt": "q"})
    bare.close()
    assert "no summary recorded" in cli("runs", "show", bare.run_id).stdout


def test_retry_runs_the_failed_and_cancelled_calls_into_the_same_run(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    rid = seed_multi({"call-01": "Answer: 42", "call-02": None, "call-03": "Answer: 42",
                      "call-04": None}, cancelled=("call-04",), aggregate="vote",
                     output_dir=str(folder))
    calls = {f"call-0{i}": {"file": f"output_{i}.txt", "status": "done", "chars": 0}
             for i in range(1, 5)}
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(  # the folder says this run wrote it
        {"schema": 1, "sets": {"output": {"run_id": rid, "status": "partial", "calls": calls}}}))
    before = RunStore().load_run(rid).read_text("call-01")

    proc = cli("runs", "retry", rid, "--demo")
    assert proc.returncode == 0, proc.stderr
    assert "retrying run" in proc.stderr and "call-02, call-04" in proc.stderr
    assert "requests   4 done, 0 failed, 0 cancelled" in proc.stderr  # as a run command's
    assert "vote: 42" in proc.stdout
    info = RunStore().load_run(rid)
    assert info.status == "done" and len(RunStore().list_runs()) == 1
    assert [e["status"] for e in info.workers] == ["done"] * 4
    assert info.read_text("call-01") == before  # the done calls are kept as they were
    assert (info.dir / "call-02.attempt-1.md").read_text() == "half an"
    assert info.worker("call-04")["attempts"][0]["status"] == "cancelled"
    assert info.read_text("call-02").strip() and info.summary["requests"]["done"] == 4
    assert info.result["aggregate"]["vote"]["voters"] == 4  # voted again over all four
    # The seed-style copies of the retried calls, and the folder's manifest, follow the run.
    assert (folder / "output_2.txt").read_text() == info.read_text("call-02")
    calls = json.loads((folder / "manifest.json").read_text())["sets"]["output"]
    assert calls["run_id"] == rid and calls["status"] == "done"
    assert {c["status"] for c in calls["calls"].values()} == {"done"}

    again = cli("runs", "retry", rid, "--demo")
    assert again.returncode == 0
    assert one_line(again.stderr) == f"agentdeck: nothing to retry: every call of run {rid} is done"


def test_retry_writes_no_output_folder_that_does_not_name_the_run(tmp_path: Path) -> None:
    """Regression: a folder whose manifest was gone (or never written) was written into."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "output_2.txt").write_text("someone else's")
    rid = seed_multi({"call-01": "Answer: 42", "call-02": None}, output_dir=str(folder))
    proc = cli("runs", "retry", rid, "--demo")
    assert proc.returncode == 0, proc.stderr
    assert (folder / "output_2.txt").read_text() == "someone else's"
    assert "the retried calls are kept in the run folder only" in " ".join(proc.stderr.split())


def test_a_retry_that_fails_says_so_and_exits_non_zero() -> None:
    """Regression: a retry whose calls failed again exited 0 with no error line; and the
    server it went to was not said when it was not the run's."""
    rid = seed_multi({"call-01": "Answer: 42", "call-02": None})
    proc = cli("runs", "retry", rid, "--base-url", "http://127.0.0.1:1/v1", "--model", "m",
               "--json", "--connect-timeout", "2")
    assert proc.returncode not in (0, 2), proc.stderr
    err = " ".join(proc.stderr.split())
    assert "retrying against http://127.0.0.1:1/v1; the run used http://127.0.0.1:9/v1" in err
    assert "agentdeck: 1 of 2 calls failed" in err
    doc = json.loads(proc.stdout)  # a run command's document
    assert doc["schema"] == 1 and doc["run_id"] == rid and doc["status"] == "partial"
    assert set(doc["workers"]) == {"call-01", "call-02"} and doc["error"]["exit_code"]


def test_retry_refuses_a_compare_run_with_the_reason() -> None:
    rec = RunStore().create_run(system="compare", prompts={"prompt": "q"})
    rec.close()
    proc = cli("runs", "retry", rec.run_id, "--demo")
    assert proc.returncode == 2
    assert "a compare run's calls go to several targets" in " ".join(proc.stderr.split())


def test_retry_refuses_a_run_whose_calls_depend_on_each_other() -> None:
    rec = RunStore().create_run(system="chain", prompts={"prompt": "q"})
    rec.close()
    proc = cli("runs", "retry", rec.run_id, "--demo")
    assert proc.returncode == 2 and "simulator" not in proc.stderr
    assert one_line(proc.stderr).startswith(
        f"agentdeck: bad input: run {rec.run_id} is a chain run; only multi-call runs can be "
        "retried")


def test_export_markdown_and_json(tmp_path: Path) -> None:
    rid = seed_multi({"call-01": "Answer: 42", "call-02": None}, prompt="six sevens?")
    md = cli("runs", "export", rid)
    assert md.returncode == 0
    text = md.stdout
    for part in (f"# Run {rid}", "## Prompt\n\nsix sevens?", "## Settings", '"max_tokens": 8',
                 "### call-01 (done)\n\nAnswer: 42", "### call-02 (failed)\n\nhalf an",
                 "## Summary", "requests   1 done, 1 failed"):
        assert part in text
    target = tmp_path / "run.json"
    out = cli("runs", "export", rid, "--format", "json", "--output", str(target))
    assert out.returncode == 0 and out.stdout == "" and str(target) in out.stderr
    doc = json.loads(target.read_text())
    assert doc["schema"] == 1 and doc["manifest"]["run_id"] == rid
    assert doc["texts"] == {"call-01": "Answer: 42", "call-02": "half an"}


def test_rm_asks_or_refuses_and_says_what_it_removed() -> None:
    keep, gone = seed_multi({"call-01": "a"}), seed_multi({"call-01": "b"})
    refused = cli("runs", "rm", gone)
    assert refused.returncode == 2
    assert "add --yes" in one_line(refused.stderr)
    assert RunStore().run_dir(gone).is_dir()
    removed = cli("runs", "rm", gone, "--yes")
    assert removed.returncode == 0 and removed.stdout == f"removed {gone}\n"
    assert not RunStore().run_dir(gone).exists() and RunStore().run_dir(keep).is_dir()
    assert cli("runs", "rm", "no-such-run", "--yes").returncode == 2


def test_rm_on_a_terminal_asks_first() -> None:
    rid = seed_multi({"call-01": "a"})
    for answer, survives in ((b"n\n", True), (b"y\n", False)):
        main, side = os.openpty()
        os.write(main, answer)
        proc = cli("runs", "rm", rid, stdin=side)
        os.close(side)
        os.close(main)
        assert proc.returncode == 0, proc.stderr
        assert "remove 1 run? [y/N]" in proc.stderr
        assert RunStore().run_dir(rid).is_dir() is survives


def test_prune_keeps_the_newest_or_removes_the_old() -> None:
    old, mid, new = (seed_multi({"call-01": str(i)}) for i in range(3))
    path = RunStore().run_dir(old) / "run.json"
    doc = orjson.loads(path.read_bytes())
    doc["created_at"] = time.time() - 40 * 86400
    path.write_bytes(orjson.dumps(doc))

    assert "add --yes" in cli("runs", "prune", "--older-than", "30d").stderr
    pruned = cli("runs", "prune", "--older-than", "30d", "--yes")
    assert pruned.returncode == 0 and pruned.stdout == f"removed {old}\n"
    kept = cli("runs", "prune", "--keep", "1", "--yes", "--json")
    assert json.loads(kept.stdout) == {"schema": 1, "removed": [mid]}
    assert [i.run_id for i in RunStore().list_runs()] == [new]
    nothing = cli("runs", "prune", "--older-than", "30d", "--yes")
    assert nothing.returncode == 0 and "nothing to prune" in nothing.stderr
    bad = cli("runs", "prune", "--older-than", "soon", "--yes")
    assert bad.returncode == 2 and "30d" in one_line(bad.stderr)


def test_output_folder_is_replaced_as_a_set_with_a_manifest(tmp_path: Path) -> None:
    """Regression: ``multi -n 4`` then ``-n 2`` into one folder left the old files mixed in,
    and a call that failed with no text was reported as "(partial text kept in ...)"."""
    folder = tmp_path / "out"
    first = cli("multi", "-n", "4", "hello", "--output-dir", str(folder), *FAST)
    assert first.returncode == 0, first.stderr
    (folder / "notes.txt").write_text("mine")
    second = cli("multi", "-n", "2", "hi [[sim fault=error after=2 times=1]]", "--output-dir",
                 str(folder), "--demo", "--max-tokens", "6")  # no -q: the note is on stderr
    assert second.returncode == 7, second.stderr
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json", "notes.txt", "output_1.txt", "output_2.txt"]
    removed = f"removed 2 files of an earlier run from {folder}: output_3.txt, output_4.txt"
    assert f"agentdeck: {removed}" in second.stderr and "removed" not in second.stdout
    doc = json.loads((folder / "manifest.json").read_text())
    newest = RunStore().list_runs()[0]
    entry = doc["sets"]["output"]
    assert entry["run_id"] == newest.run_id and entry["status"] == "partial"
    calls = entry["calls"]
    assert {c["file"] for c in calls.values()} == {"output_1.txt", "output_2.txt"}
    (failed,) = [c for c in calls.values() if c["status"] == "failed"]
    kept = len((folder / failed["file"]).read_text())
    assert kept == failed["chars"] > 0
    assert f"({kept} characters of partial text kept in {folder / failed['file']})" in second.stdout

    empty = cli("multi", "-n", "1", "hi [[sim fault=error after=0]]", "--output-dir",
                str(folder), *FAST)
    assert "(no text received)" in empty.stdout and "partial text kept" not in empty.stdout


def test_a_folder_keeps_each_base_names_set_and_leaves_a_foreign_manifest_alone(
        tmp_path: Path) -> None:
    folder = tmp_path / "out"
    for base, n in (("red", "3"), ("blue", "2"), ("red", "1")):
        proc = cli("multi", "-n", n, "colour", "--base-filename", base, "--output-dir",
                   str(folder), *FAST)
        assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == [
        "blue_1.txt", "blue_2.txt", "manifest.json", "red_1.txt"]
    sets = json.loads((folder / "manifest.json").read_text())["sets"]
    assert sorted(sets) == ["blue", "red"] and list(sets["red"]["calls"]) == ["call-01"]

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "manifest.json").write_text('{"name": "my web app"}')
    assert cli("multi", "-n", "1", "x", "--output-dir", str(theirs), *FAST).returncode == 0
    assert (theirs / "manifest.json").read_text() == '{"name": "my web app"}'
    assert (theirs / "output_1.txt").exists()
