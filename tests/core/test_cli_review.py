"""The CLI's review findings, run as a script would: notes on stderr, ``--no-record`` in every
output, ``--json`` and ``-q`` everywhere, one JSON shape, one-line usage errors, one wording."""

from __future__ import annotations

import json
import re

import aiohttp
from cli_support import QUICK, agentdeck, only_run
from systems_support import ThreadedSim

from agentdeck.client.http_errors import error_from_transport
from agentdeck.config.settings import load_settings
from agentdeck.store.runs import RunStore

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_the_note_on_replaced_files_goes_to_stderr_and_q_silences_it(tmp_path) -> None:
    """Regression: `multi -n 4` then `-n 2` into one folder printed "removed 2 files of an
    earlier run..." on stdout, mixed with the result lines, and -q did not silence it."""
    assert agentdeck("multi", "-n", "4", "x", "--demo", "--output-dir", str(tmp_path),
                     *QUICK).code == 0
    done = agentdeck("multi", "-n", "2", "x", "--demo", "--output-dir", str(tmp_path), *QUICK)
    assert done.code == 0
    assert done.out.splitlines() == [f"call-0{i}: {tmp_path / f'output_{i}.txt'}" for i in (1, 2)]
    assert any(line.startswith("agentdeck: removed 2 files of an earlier run from ")
               for line in done.err_lines)
    assert agentdeck("multi", "-n", "4", "x", "--demo", "--output-dir", str(tmp_path),
                     *QUICK).code == 0
    quiet = agentdeck("multi", "-n", "2", "x", "--demo", "--output-dir", str(tmp_path), "-q",
                      *QUICK)
    assert quiet.code == 0 and quiet.err == "" and "removed" not in quiet.out


def test_no_record_names_no_run_in_events_or_the_folder_manifest(tmp_path) -> None:
    """Regression: `--no-record --events` lines carried a run_id, and `multi --no-record
    --output-dir` wrote a manifest.json naming that run: no such run exists."""
    events = agentdeck("ask", "hi", "--demo", "--no-record", "--events", *QUICK)
    assert events.code == 0
    assert all("run_id" not in line or line["run_id"] is None for line in events.lines)
    assert events.lines[-1]["event"] == "Result" and events.lines[-1]["run_id"] is None
    done = agentdeck("multi", "-n", "2", "x", "--demo", "--no-record", "--output-dir",
                     str(tmp_path), *QUICK)
    assert done.code == 0 and RunStore().list_runs() == []
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["sets"]["output"]["run_id"] is None
    assert manifest["sets"]["output"]["status"] == "done"


def test_runs_honours_json_and_q_in_every_action() -> None:
    """Regression: `runs prune --dry-run --json` printed plain text; `runs list -q` and
    `systems -q` were usage errors."""
    for _ in range(3):
        assert agentdeck("ask", "hi", "--demo", "-q", *QUICK).code == 0
    runs = [i.run_id for i in RunStore().list_runs()]
    dry = agentdeck("runs", "prune", "--keep", "1", "--dry-run", "--json")
    assert dry.code == 0 and dry.doc == {"schema": 1, "would_remove": runs[1:]}
    none = agentdeck("runs", "prune", "--keep", "5", "--dry-run", "--json")
    assert none.code == 0 and none.doc == {"schema": 1, "would_remove": []}
    assert [i.run_id for i in RunStore().list_runs()] == runs  # nothing removed
    listed = agentdeck("runs", "list", "-q")
    assert listed.code == 0 and listed.err == "" and runs[0] in listed.out
    empty = agentdeck("runs", "list", "--status", "failed", "-q")
    assert empty.code == 0 and empty.err == "" and empty.out == ""  # the note is silenced
    systems = agentdeck("systems", "-q")
    assert systems.code == 0 and systems.out.startswith("KEY")


def test_one_worker_shape_and_one_time_format_in_every_document() -> None:
    """Regression: `runs show --json` listed workers with another shape and a Unix `created`;
    `ask --json` repeated usage/metrics/finish_reason at the top; WorkerQueued carried an
    empty `group`."""
    done = agentdeck("ask", "hi", "--demo", "--json", *QUICK)
    assert done.code == 0
    doc = done.doc
    assert doc["text"] == doc["answer"]
    assert {"usage", "metrics", "finish_reason"}.isdisjoint(doc)  # once, under the worker
    shown = agentdeck("runs", "show", "latest", "--json").doc
    assert shown["schema"] == 1 and ISO.match(shown["created"])
    assert list(shown["workers"]) == list(doc["workers"]) == ["agent"]
    mine, stored = doc["workers"]["agent"], shown["workers"]["agent"]
    assert mine.keys() == stored.keys()
    assert (mine["status"], mine["chars"], mine["file"]) == (
        stored["status"], stored["chars"], str(only_run().dir / "agent.md"))
    listed = agentdeck("runs", "list", "--json").doc
    assert ISO.match(listed["runs"][0]["created"])
    events = agentdeck("ask", "hi", "--demo", "--events", *QUICK).lines
    queued = next(line for line in events if line["event"] == "WorkerQueued")
    assert "group" not in queued and queued["worker_id"] == "agent"


def test_a_usage_error_is_one_line_and_an_error_document_or_event() -> None:
    """Regression: `models --temperature 1` printed 9 lines of the top-level usage, and a
    usage error with --events printed no Error line."""
    done = agentdeck("models", "--temperature", "1", "--demo")
    assert done.code == 2 and done.out == ""
    assert done.err_lines == ["agentdeck models: error: unrecognized arguments: --temperature 1 "
                              "(`agentdeck models --help` lists the options)"]
    events = agentdeck("ask", "x", "--no-such-flag", "--events")
    assert events.code == 2 and len(events.lines) == 1
    line = events.lines[0]
    assert line["event"] == "Error" and line["error"]["kind"] == "UsageError"
    assert ISO.match(line["time"]) and line["error"]["exit_code"] == 2
    # A prompt that reads "--json" (after --) is no flag: stdout stays empty.
    prompt = agentdeck("ask", "--no-such-flag", "--", "--json")
    assert prompt.code == 2 and prompt.out == ""


def test_a_bad_value_is_one_wording_and_exit_2_from_a_flag_or_a_target() -> None:
    """Regression: `--base-url foo` exited 3 ("configuration: [--base-url] ...") where
    `--target url=foo` exited 2; ranges were checked twice in two wordings."""
    base = agentdeck("ask", "x", "--base-url", "foo")
    target = agentdeck("compare", "x", "--target", "url=foo", "--target", "model=b", "--demo")
    assert base.code == target.code == 2
    assert base.err_lines == ["agentdeck: bad input: --base-url: base URL 'foo' has no http:// "
                              "or https:// scheme; did you mean http://foo?"]
    assert "base URL 'foo' has no http:// or https:// scheme" in target.err
    flag = agentdeck("ask", "x", "--temperature", "-1", "--demo")
    option = agentdeck("ask", "x", "-o", "temperature=-1", "--demo")
    assert flag.code == option.code == 2
    assert flag.err_lines == ["agentdeck: bad input: --temperature: must be at least 0, "
                              "found -1.0"]
    assert option.err_lines == ["agentdeck: bad input: -o temperature: must be at least 0, "
                                "found -1.0"]
    profile = agentdeck("compare", "x", "--target", "profile=nah", "--target", "model=b",
                        "--demo", "-q")
    assert profile.code == 3 and profile.err_lines == [
        "agentdeck: configuration: target 1 (profile=nah): no profile named 'nah'; defined "
        "profiles: 'demo'"]


def test_systems_lists_with_a_broken_config_file() -> None:
    """Regression: `agentdeck systems` failed on a broken config.toml it does not need."""
    from agentdeck import paths

    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text("concurrency = \n")
    done = agentdeck("systems")
    assert done.code == 0 and "multi" in done.out
    assert agentdeck("ask", "x", "--demo").code == 3  # a run command still needs it


def test_runs_export_takes_output_not_the_global_o(tmp_path) -> None:
    """`-o` is KEY=VALUE everywhere else: export writes a file with --output only."""
    assert agentdeck("ask", "hi", "--demo", "-q", *QUICK).code == 0
    target = tmp_path / "run.md"
    refused = agentdeck("runs", "export", "latest", "-o", str(target))
    assert refused.code == 2 and not target.exists()
    written = agentdeck("runs", "export", "latest", "--output", str(target))
    assert written.code == 0 and target.read_text().startswith("# Run ")


def test_model_not_found_has_one_wording_from_the_check_and_from_the_request() -> None:
    """Regression: `ask` (the request's 404) and `multi` (the check before N requests) worded
    an unknown model differently, the first listing the served models twice."""
    with ThreadedSim() as sim:
        one = agentdeck("ask", "x", "--base-url", sim.base_url, "--model", "nope", "-q")
        many = agentdeck("multi", "-n", "2", "x", "--base-url", sim.base_url, "--model", "nope",
                         "-q", "--no-record")
    expected = [f"agentdeck: model not found: model 'nope' is not served at {sim.base_url}. "
                "Served models: sim-model (--model picks one)"]
    assert one.code == many.code == 6
    assert one.err_lines == many.err_lines == expected


def test_a_connect_timeout_names_its_settings() -> None:
    """Regression: the timeout messages named Python parameters (first_token_timeout=1s), not
    the flag and the config key a user sets."""
    error = error_from_transport(aiohttp.ConnectionTimeoutError(), "http://h:1/v1/x")
    assert str(error) == ("connecting to http://h:1/v1/x timed out (--connect-timeout or the "
                          "profile's timeouts.connect)")
    assert load_settings(env={}).profile.timeouts.connect > 0  # the setting named exists
