"""Issue 13's defects, each run as a user hit it: a closed pipe, examples' files, a chain too
long to start unasked, and the test data found beside any clone."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cli_support import QUICK, agentdeck, only_run
from servers import SAMPLES, need_shared, repo_root
from systems_support import ThreadedSim

from agentdeck.store.runs import RunStore

EXAMPLES = ["examples", "-n", "1", "--demo", *QUICK]


def test_a_reader_that_leaves_ends_the_run_cleanly() -> None:
    """Regression: `ask "story" | head -c 30` recorded the run as failed while its only worker
    was cancelled, with no reason."""
    proc = subprocess.Popen([sys.executable, "-m", "agentdeck", "ask", "Tell a story", "--demo",
                             "--max-tokens", "200"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=os.environ)
    assert proc.stdout is not None and proc.stderr is not None
    head = proc.stdout.read(30)  # what `head -c 30` reads before it exits
    proc.stdout.close()
    code = proc.wait(30)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert len(head) == 30 and code == 0, err
    assert "Traceback" not in err and "Broken pipe" not in err
    run = only_run()
    assert run.status == "cancelled"
    assert [w["status"] for w in run.workers] == ["cancelled"]


def test_examples_write_only_into_the_output_folder(tmp_path) -> None:
    """Regression: context.txt and longtext.txt went into the current folder even with
    --output-dir."""
    cwd, out = tmp_path / "cwd", tmp_path / "out"
    cwd.mkdir()
    done = agentdeck(*EXAMPLES, "--output-dir", str(out), cwd=cwd)
    assert done.code == 0, done.err
    assert list(cwd.iterdir()) == []
    assert (out / "context.txt").is_file() and (out / "longtext.txt").is_file()
    assert (out / "ex4_multi_call_outputs" / "website_1.txt").is_file()


def test_examples_in_a_folder_it_cannot_write_is_one_line(tmp_path) -> None:
    """Regression: `agentdeck examples` in a read-only folder ended in a 37-line traceback.
    (/sys refuses even root, who runs the tests here.)"""
    done = agentdeck(*EXAMPLES, cwd="/sys")
    assert done.code == 2 and done.err_lines == [
        "agentdeck: bad input: cannot create output folder run_outputs: Operation not permitted"]
    done = agentdeck(*EXAMPLES, "--output-dir", str(tmp_path), "--context-file", "/sys/c.txt")
    assert done.code == 2 and len(done.err_lines) == 1
    assert done.err_lines[0].startswith("agentdeck: bad input: cannot create /sys/c.txt: ")


def test_examples_json_is_one_document_and_events_are_only_json(tmp_path) -> None:
    """Regression: `examples --json` printed plain text and `--events` mixed "Running
    BasicAgent..." lines into the JSON lines."""
    doc = agentdeck(*EXAMPLES, "--output-dir", str(tmp_path), "--json").doc
    assert doc["schema"] == 1 and doc["status"] == "done"
    assert [e["example"] for e in doc["examples"]] == [
        "BasicAgent", "ContextAgent", "ChainOfAgents", "MultiCallSystem"]
    assert all(e["run_id"] for e in doc["examples"])
    assert doc["examples"][-1]["workers"]["call-01"]["status"] == "done"
    events = agentdeck(*EXAMPLES, "--output-dir", str(tmp_path), "--events")
    assert events.code == 0 and all(line["schema"] == 1 for line in events.lines)
    assert "Running BasicAgent" in events.err


def long_text(path: Path, words: int = 7200) -> Path:
    names = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    path.write_text(". ".join(" ".join(names[(i + j) % 10] for j in range(12))
                              for i in range(words // 12)))
    return path


def on_a_terminal(argv: list[str], answer: bytes | None) -> tuple[int, str]:
    """Run agentdeck with stdin, stdout and stderr on a terminal; answer its question."""
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "agentdeck", *argv], stdin=child,
                            stdout=child, stderr=child, env=os.environ, close_fds=True)
    os.close(child)
    seen = b""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if answer is not None and b"[y/N]" in seen:
            os.write(main, answer)
            answer = None
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                seen += os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
    code = proc.wait(30)
    os.close(main)
    return code, seen.decode(errors="replace")


def test_a_chain_of_more_than_100_steps_asks_first_on_a_terminal(tmp_path) -> None:
    text = long_text(tmp_path / "long.txt")
    argv = ["chain", "--file", str(text), "q?", "--chunk-size", "64"]
    code, seen = on_a_terminal([*argv, "--demo", *QUICK], b"n\n")
    assert code == 130
    assert "chain: 151 steps (150 chunks, then the manager)" in seen
    assert "send 151 requests, one after another? [y/N]" in seen
    assert "not started: 151 steps is over 100 (--yes runs it without asking)" in seen
    assert RunStore().list_runs() == []  # nothing sent, nothing recorded
    with ThreadedSim(fault_schedule={1: {"fault": "status", "status": 400}}) as sim:
        code, seen = on_a_terminal([*argv, "--base-url", sim.base_url, "--model", "sim-model",
                                    "--yes"], None)
    assert "[y/N]" not in seen and "step 1/151" in seen and code == 1  # --yes: no question


def test_a_chain_says_its_steps_and_does_not_ask_off_a_terminal(tmp_path) -> None:
    text = long_text(tmp_path / "long.txt", 7200)
    with ThreadedSim(fault_schedule={1: {"fault": "status", "status": 400}}) as sim:
        done = agentdeck("chain", "--file", str(text), "q?", "--base-url", sim.base_url,
                         "--model", "sim-model", "--chunk-size", "64")
    assert "agentdeck: chain: 151 steps (150 chunks, then the manager)" in done.err_lines
    assert "[y/N]" not in done.err and done.code == 1  # it started: step 1 got the 400


def test_the_shared_samples_are_found_beside_any_clone_and_missing_fails_in_ci(
        tmp_path) -> None:
    """Regression: servers.py hard-coded /work/shared and test_sim_samples counted parent
    folders, so in a clone placed elsewhere 12 tests skipped without a word."""
    real_samples = need_shared(SAMPLES)
    here = Path(__file__).parent
    clone = tmp_path / "elsewhere" / "checkout"
    (clone / "tests" / "core").mkdir(parents=True)
    shutil.copy(repo_root() / "pyproject.toml", clone)  # its pytest settings too
    for name in ("servers.py", "test_sim_samples.py"):
        shutil.copy(here / name, clone / "tests" / "core" / name)
    env = {k: v for k, v in os.environ.items() if k != "CI"}

    def pytest_in_clone(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
             "--rootdir", str(clone), "-rs", "tests/core/test_sim_samples.py"],
            cwd=clone, env={**env, **extra, "PYTHONPATH": str(clone / "tests" / "core")},
            capture_output=True, text=True, timeout=120, check=False)

    skipped = pytest_in_clone()
    assert skipped.returncode in (0, 5) and "1 skipped" in skipped.stdout  # 5: none collected
    assert str(tmp_path / "elsewhere" / "shared") in skipped.stdout  # the reason names it
    loud = pytest_in_clone(CI="true")
    assert loud.returncode != 0 and "is missing" in loud.stdout
    shared = tmp_path / "elsewhere" / "shared" / "peers" / "vllm"
    shared.mkdir(parents=True)
    shutil.copy(real_samples, shared / "samples.md")
    found = pytest_in_clone(CI="true")
    assert found.returncode == 0 and "passed" in found.stdout, found.stdout
