"""The headless CLI: output, exit codes and bad-input messages (in-process and as a process)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from systems_support import ThreadedSim

from agentdeck.cli import main
from agentdeck.cli.output import Output
from agentdeck.store.runs import RunStore

FAST = ["--max-tokens", "4"]  # the built-in simulator answers at demo speed: keep answers short


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_ask_streams_the_answer_and_says_it_uses_the_simulator(capsys) -> None:
    assert main(["ask", "Say hello", *FAST]) == 0
    out, err = capsys.readouterr()
    assert out.strip()
    assert "built-in simulator" in err
    assert "\x1b" not in err and "\r" not in err  # stderr is not a terminal: plain lines
    (run,) = RunStore().list_runs()
    assert run.status == "done" and run.read_text("agent").strip() == out.strip()


def test_ask_json_is_one_document_without_the_key(capsys, monkeypatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-distinctive-secret-1234")
    with ThreadedSim(api_key="sk-distinctive-secret-1234") as sim:
        code = main(["ask", "Hi", "--json", "--base-url", sim.base_url, "--api-key-env",
                     "MY_KEY", "--model", "sim-model", *FAST])
    out, err = capsys.readouterr()
    assert code == 0
    doc = json.loads(out)
    assert doc["text"] and doc["workers"]["agent"]["finish_reason"] == "length" and doc["run_id"]
    assert "finish_reason" not in doc and "usage" not in doc  # once, under its worker
    everything = out + err + "".join(p.read_text(errors="replace") for p in
                                     Path(os.environ["AGENTDECK_HOME"]).rglob("*") if p.is_file())
    assert "sk-distinctive-secret-1234" not in everything


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "   "], "bad input: the prompt is empty"),
        (["multi", "-n", "0", "x"], "bad input: -n must be between 1 and 10000, got 0"),
        (["multi", "-n", "100000", "x"], "bad input: -n must be between 1 and 10000"),
        (["ask", "x", "--temperature", "-1"], "bad input: --temperature: must be at least 0"),
        (["ask", "x", "--max-tokens", "0"], "bad input: --max-tokens: must be at least 1"),
        (["debate", "x", "--agents", "1"], "bad input: --agents must be between 2 and 16"),
        (["ask", "x", "--json", "--events"], "bad input: --json and --events cannot be combined"),
        (["ask", "x", "--context", "missing.txt"], "bad input: context file missing.txt does not"),
        (["chain", "--file", ".", "q"], "bad input: long-text file . is a folder"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2_before_any_request(capsys, argv, message) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert one_line(err).startswith(f"agentdeck: {message}")
    if "--json" in argv:  # the output contract: a failure is a document too
        assert json.loads(out)["error"]["exit_code"] == 2
    else:
        assert out == ""
    assert "simulator" not in err
    assert RunStore().list_runs() == []


def test_binary_huge_and_non_utf8_files(tmp_path, capsys) -> None:
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"abc\x00def")
    assert main(["ask", "q", "--context", str(binary)]) == 2
    assert "looks binary" in one_line(capsys.readouterr().err)
    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as f:
        f.truncate(3 * 1024**3)  # sparse: 3 GiB on paper, nothing on disk
    assert main(["chain", "--file", str(huge), "q"]) == 2
    assert "is 3.0 GiB, above the 64.0 MiB limit" in one_line(capsys.readouterr().err)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 menu".encode("latin-1"))
    assert main(["ask", "What is sold?", "--context", str(latin), *FAST]) == 0
    err = capsys.readouterr().err
    assert "is not valid UTF-8: 1 undecodable byte sequence(s) were replaced" in err


def test_unwritable_output_dir_is_refused(tmp_path, capsys) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder")
    assert main(["multi", "-n", "2", "x", "--output-dir", str(blocker)]) == 2
    assert "is not a folder" in one_line(capsys.readouterr().err)


def test_multi_prints_the_seed_result_lines_and_writes_the_files(tmp_path, capsys) -> None:
    code = main(["multi", "-n", "3", "Name a color", "--output-dir", str(tmp_path),
                 "--base-filename", "color", *FAST])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.splitlines() == [f"call-0{i}: {tmp_path / f'color_{i}.txt'}" for i in (1, 2, 3)]
    assert all((tmp_path / f"color_{i}.txt").read_text() for i in (1, 2, 3))


def test_events_are_json_lines_ending_with_the_result(tmp_path, capsys) -> None:
    assert main(["multi", "-n", "2", "x", "--events", "--output-dir", str(tmp_path), *FAST]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "RunStarted" and lines[-1]["event"] == "Result"
    assert {"TextDelta", "WorkerFinished", "RunFinished"} <= {d["event"] for d in lines}
    assert set(lines[-1]["workers"]) == {"call-01", "call-02"}  # the progress lines' ids


def test_exit_codes_per_failure_class(tmp_path, capsys) -> None:
    with ThreadedSim(api_key="k-123456", fault_schedule={2: {"fault": "status", "status": 400}}
                     ) as sim:
        url = sim.base_url
        assert main(["ask", "x", "--base-url", url, "--model", "sim-model", "-q", *FAST]) == 5
        assert "authentication" in one_line(capsys.readouterr().err)
    with ThreadedSim(fault_schedule={2: {"fault": "status", "status": 400}}) as sim:
        url = sim.base_url
        assert main(["ask", "x", "--base-url", url, "--model", "nope", *FAST]) == 6
        assert "model not found" in one_line(capsys.readouterr().err)
        code = main(["multi", "-n", "3", "x", "--concurrency", "1", "--base-url", url,
                     "--model", "sim-model", "--output-dir", str(tmp_path), *FAST])
        out, err = capsys.readouterr()
        assert code == 7
        assert "1 of 3 calls failed" in err and "call-02: ERROR: BadRequestError" in out
    config = Path(os.environ["AGENTDECK_HOME"]) / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(textwrap.dedent("""
        default_profile = "down"
        [profiles.down]
        base_url = "http://127.0.0.1:9/v1"
        model = "m"
        max_retries = 0
    """))
    assert main(["ask", "x"]) == 4
    assert one_line(capsys.readouterr().err).startswith("agentdeck: connection:")


def test_model_text_is_neutralised_on_a_terminal_unless_raw() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    evil = "hi\x1b]52;c;ZXZpbA==\x07\x1b[31mred\x1b[0m"
    tty = Terminal()
    Output(stdout=tty, stderr=io.StringIO()).text(evil)
    assert tty.getvalue() == "hired"
    raw = Terminal()
    Output(stdout=raw, stderr=io.StringIO(), raw=True).text(evil)
    assert raw.getvalue() == evil
    pipe = io.StringIO()
    Output(stdout=pipe, stderr=io.StringIO()).text(evil)
    assert pipe.getvalue() == evil


def test_runs_list_and_show_mark_an_interrupted_run(capsys) -> None:
    code = textwrap.dedent("""
        import os
        from agentdeck.store import RunStore
        from agentdeck.events import RunStarted, TextDelta, WorkerStarted
        from agentdeck.types import now
        rec = RunStore().create_run(system="multi", prompts={"prompt": "long job"})
        rec(RunStarted(rec.run_id, "multi", ("call-01",)))
        rec(WorkerStarted(rec.run_id, "call-01"))
        rec(TextDelta(rec.run_id, "call-01", "half an ans", "", now()))
        rec.flush()
        print(rec.run_id, flush=True)
        os._exit(9)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=os.environ, check=False)
    run_id = proc.stdout.strip()
    assert main(["runs"]) == 0
    assert f"{run_id}  interrupted" in capsys.readouterr().out
    assert main(["runs", "show", run_id[:18]]) == 0
    out = capsys.readouterr().out
    assert "status   INTERRUPTED" in out and "call-01" in out and "INTERRUPTED" in out
    assert main(["runs", "show", "no-such-run"]) == 2


def test_examples_reproduce_the_seed_layout(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["examples", "-n", "3", *FAST]) == 0
    out = tmp_path / "run_outputs"
    for name in ("ex1_basic_agent_output.txt", "ex2_context_agent_output.txt",
                 "ex3_chain_system_output.txt"):
        assert (out / name).read_text().strip()
    assert (out / "ex1_basic_agent_output.txt").read_text().startswith("Prompt:\nExplain")
    assert (out / "ex3_chain_system_output.txt").read_text().startswith("Initial Prompt:\n")
    assert sorted(p.name for p in (out / "ex4_multi_call_outputs").iterdir()) == [
        "manifest.json", "website_1.txt", "website_2.txt", "website_3.txt"]
    assert (tmp_path / "context.txt").exists() and (tmp_path / "longtext.txt").exists()
    assert "call_3: " in capsys.readouterr().out


def test_as_a_process_piped_output_is_raw_and_errors_are_one_line() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    ok = subprocess.run([sys.executable, "-m", "agentdeck", "ask", "hello", *FAST],
                        capture_output=True, text=True, env=env, timeout=60, check=False)
    assert ok.returncode == 0 and ok.stdout.strip()
    bad = subprocess.run([sys.executable, "-m", "agentdeck", "multi", "-n", "0", "x"],
                         capture_output=True, text=True, env=env, timeout=60, check=False)
    assert bad.returncode == 2
    assert one_line(bad.stderr) == "agentdeck: bad input: -n must be between 1 and 10000, got 0"


def test_help_reads_the_declarations_and_loads_no_system() -> None:
    """Regression: ``agentdeck --help`` imported every system and, through them, the client,
    the run store and the settings (45 agentdeck modules instead of 21; ~0.17 s, not 0.12)."""
    code = textwrap.dedent("""
        import contextlib, io, sys
        from agentdeck.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            main(["--help"])
        assert "run one prompt N times in parallel" in out.getvalue()
        print(" ".join(sorted(m for m in sys.modules if m.startswith("agentdeck"))))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=os.environ, timeout=60, check=True)
    loaded = set(proc.stdout.split())
    assert "agentdeck.systems.declarations" in loaded
    heavy = {f"agentdeck.systems.{name}" for name in ("base", "agents", "chain", "multi",
                                                      "debate", "run")}
    heavy |= {"agentdeck.client.model", "agentdeck.store.runs", "agentdeck.config.settings"}
    assert loaded & heavy == set()
