"""Bad input through the ``agentdeck`` command: one clear line, the right exit code, nothing lost.

Cases the CLI and settings tests already cover (empty prompt, -n 0 and huge -n, negative
temperature, missing/binary/huge/non-UTF-8 context files, a file as output folder, auth, model
not found, refused connection) are not repeated here.
"""

from __future__ import annotations

import os
import socket
import textwrap
from pathlib import Path

import pytest
from aiohttp import web
from reliability_support import ThreadedApp, one_line
from systems_support import ThreadedSim

from agentdeck.cli import main
from agentdeck.config.settings import Profile, set_profile
from agentdeck.errors import ConfigError
from agentdeck.store.runs import RunStore

FAST = ["--max-tokens", "4"]


def config_path() -> Path:
    path = Path(os.environ["AGENTDECK_HOME"]) / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('default_profile = "x"\n[profiles.x]\nbase_url = http://gpu:8000/v1\n', ":3:12:",
         'invalid TOML: Invalid value (text values need quotes: key = "value")'),
        ("concurrency = 8\n[params\ntemperature = 1\n", ":2:8:", "invalid TOML"),
        ('concurrency = "many"\n', ":1:1:",
         "[concurrency] expected a whole number, found 'many' (a string)"),
        ('[profiles.gpu]\nbase_url = "http://gpu:8000/v1"\nverify_tls = "no"\n', ":3:1:",
         "[profiles.gpu.verify_tls] expected true or false"),
        ("[params]\ntemperature = -0.5\n", ":2:1:", "[params.temperature] must be at least 0"),
    ],
)
def test_a_broken_config_file_is_named_with_line_and_column_and_left_alone(
    capsys, text: str, where: str, message: str
) -> None:
    path = config_path()
    path.write_text(text)
    code, out, err = run_cli(capsys, ["ask", "hello", *FAST])
    assert code == 3 and out == ""
    line = one_line(err)
    assert line.startswith(f"agentdeck: configuration: {path}{where} ") and message in line
    assert path.read_text() == text  # never rewritten
    assert RunStore().list_runs() == []  # nothing was sent, nothing recorded


def test_history_stays_readable_with_a_broken_config(capsys) -> None:
    config_path().write_text("concurrency = \n")
    assert main(["runs"]) == 0
    assert "no runs yet" in capsys.readouterr().err


def test_an_unknown_profile_is_a_configuration_error(capsys) -> None:
    code, out, err = run_cli(capsys, ["ask", "hello", "--profile", "nope", *FAST])
    assert code == 3 and out == ""
    assert one_line(err) == ("agentdeck: configuration: [--profile] no profile named 'nope'; "
                             "defined profiles: 'demo'")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--base-url", "localhost:8000/v1"],
         "has no http:// or https:// scheme; did you mean http://localhost:8000/v1?"),
        (["--base-url", "http://127.0.0.1:80OO/v1"],
         "invalid port '80OO': it must be a number from 1 to 65535; did you mean "
         "http://127.0.0.1:8000/v1?"),
        (["--base-url", "http://127.0.0.1:99999/v1"], "invalid port '99999'"),
        (["--base-url", "http:///v1"], "has no host name"),
    ],
)
def test_a_bad_base_url_flag_is_bad_input(capsys, flags, message) -> None:
    """A flag's bad value is bad input (exit 2), as a target's bad url= is; it was exit 3,
    labelled "configuration: [--base-url]"."""
    code, out, err = run_cli(capsys, ["ask", "hello", *flags, *FAST])
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith("agentdeck: bad input: --base-url: base URL ") and message in line


def test_unknown_profile_in_the_environment_names_the_variable(capsys, monkeypatch) -> None:
    config_path().write_text('[profiles.gpu]\nbase_url = "http://127.0.0.1:1/v1"\n')
    monkeypatch.setenv("AGENTDECK_PROFILE", "gpu2")
    code, _, err = run_cli(capsys, ["ask", "hello"])
    assert code == 3
    assert "[AGENTDECK_PROFILE] no profile named 'gpu2'; defined profiles: 'demo', 'gpu'" in err


def html_page(status: int):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text="<html><body><h1>It works!</h1></body></html>",
                            content_type="text/html")
    return handler


def test_html_404_at_the_chat_route_says_not_openai_compatible(capsys) -> None:
    with ThreadedApp({"POST /v1/chat/completions": html_page(404)}) as app:
        code, out, err = run_cli(capsys, ["ask", "hi", "--base-url", app.url + "/v1",
                                          "--model", "m", "-q"])  # -q: the error line only
    assert code == 1 and out == ""
    line = one_line(err)
    assert "answered 404 Not Found with a non-JSON body" in line
    assert "server? check --base-url, VLLM_API_URL or the profile's base_url)" in line
    assert "It works!" in line


def test_html_models_listing_says_not_openai_compatible(capsys) -> None:
    """Without --model the CLI asks /v1/models first; an HTML answer there is explained."""
    with ThreadedApp({"GET /v1/models": html_page(200)}) as app:
        code, out, err = run_cli(capsys, ["ask", "hi", "--base-url", app.url])
    assert code != 0 and out == ""
    assert "non-JSON body (not an OpenAI-compatible server?)" in one_line(err)


def test_a_stream_of_non_json_chunks_is_reported_as_malformed(capsys) -> None:
    async def chat(request: web.Request) -> web.Response:
        return web.Response(text="data: <b>hello</b>\n\n", content_type="text/event-stream")

    with ThreadedApp({"POST /v1/chat/completions": chat}) as app:
        code, out, err = run_cli(capsys, ["ask", "hi", "--base-url", app.url, "--model", "m",
                                          "-q"])  # -q: no notes, the error line only
    assert code == 1 and out == ""
    assert "malformed chunk from " in one_line(err) and "<b>hello</b>" in err


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/html", "<html><body>Welcome to nginx!</body></html>"),
     ("text/plain", "hello, I am not an API"),
     ("application/json", '{"status": "ok"}')],
)
def test_a_200_answer_that_is_not_an_event_stream_is_explained(capsys, content_type,
                                                                body) -> None:
    async def chat(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type=content_type)

    with ThreadedApp({"POST /v1/chat/completions": chat}) as app:
        code, out, err = run_cli(capsys, ["ask", "hi", "--base-url", app.url, "--model", "m",
                                          "-q"])  # -q: no notes, the error line only
    line = one_line(err)
    assert code != 0 and out == ""
    assert "not an OpenAI-compatible server?" in line and body in line


def test_max_tokens_is_a_cap_and_a_prompt_beyond_the_window_fails_before_sending(capsys) -> None:
    """Issue 11: a max_tokens beyond the window is lowered (said once); a prompt that leaves
    no room for an answer fails before any request, saying by how much."""
    with ThreadedSim(max_model_len=512) as sim:
        url = sim.base_url
        code, out, err = run_cli(capsys, ["ask", "hi", "--base-url", url, "--model", "sim-model",
                                          "--max-tokens", "100000"])
        assert code == 0 and out.strip()
        assert "max_tokens 100000 lowered to" in err and "512-token window" in err
        code, _, err = run_cli(capsys, ["ask", "word " * 800, "--base-url", url,
                                        "--model", "sim-model", *FAST])
        assert code == 1
        line = one_line(err)
        assert "of the model's 512-token window" in line and "shorten the prompt by" in line
        assert sim.stats.requests == 1  # the long prompt was never sent


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["chain", "--file", "{empty}", "what happened?"], "long-text file {empty} is empty"),
        (["chain", "--file", "{text}", "  "], "the question is empty"),
        (["ask", "q", "--context", "{empty}"], "context file {empty} is empty"),
        (["ask", "q", "--top-p", "0"], "--top-p: must be greater than 0, found 0.0"),
        (["multi", "-n", "3", "x", "--temperatures", "0.5,-1"],
         "--temperatures must be numbers >= 0"),
        (["multi", "-n", "3", "x", "--concurrency", "0"], "--concurrency must be at least 1"),
    ],
)
def test_more_bad_input_is_refused_before_any_request(tmp_path, capsys, argv, message) -> None:
    (tmp_path / "empty.txt").write_text(" \n\n")
    (tmp_path / "text.txt").write_text("Some long text.")
    names = {"empty": str(tmp_path / "empty.txt"), "text": str(tmp_path / "text.txt")}
    argv = [a.format(**names) for a in argv]
    code, out, err = run_cli(capsys, argv)
    assert code == 2 and out == ""
    assert one_line(err).startswith(f"agentdeck: bad input: {message.format(**names)}")
    assert RunStore().list_runs() == []


def test_an_output_folder_that_cannot_be_created_is_refused(tmp_path, capsys) -> None:
    code, _, err = run_cli(capsys, ["multi", "-n", "2", "x", "--output-dir",
                                    "/sys/agentdeck-answers"])
    assert code == 2
    assert one_line(err) == ("agentdeck: bad input: cannot create output folder "
                             "/sys/agentdeck-answers: Operation not permitted")
    assert RunStore().list_runs() == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to any folder")
def test_a_read_only_output_folder_is_refused(tmp_path, capsys) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code, _, err = run_cli(capsys, ["multi", "-n", "2", "x", "--output-dir", str(folder)])
    finally:
        folder.chmod(0o700)
    assert code == 2
    assert one_line(err) == f"agentdeck: bad input: output folder {folder} is not writable"


def test_refused_input_never_touches_earlier_answers(tmp_path, capsys) -> None:
    out = tmp_path / "answers"
    assert main(["multi", "-n", "2", "Name a colour", "--output-dir", str(out), *FAST]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    runs = [r.run_id for r in RunStore().list_runs()]
    capsys.readouterr()
    for argv in (["multi", "-n", "0", "x"], ["multi", "-n", "2", " "],
                 ["multi", "-n", "2", "x", "--temperature", "-2"]):
        assert main([*argv, "--output-dir", str(out)]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [r.run_id for r in RunStore().list_runs()] == runs


def test_non_utf8_long_text_is_decoded_with_replacement_and_said_so(tmp_path, capsys) -> None:
    doc = tmp_path / "notes.txt"
    doc.write_bytes(textwrap.dedent("""\
        The caf\xe9 opened in 1999. It sold bread.
        The owner was called Ren\xe9e.
    """).encode("latin-1"))
    with ThreadedSim() as sim:
        code, out, err = run_cli(capsys, ["chain", "--file", str(doc), "Who owned it?",
                                          "--base-url", sim.base_url, "--model", "sim-model",
                                          *FAST])
        sent = sim.stats.requests
    assert code == 0 and out.strip() and sent >= 2  # a worker per chunk, then the manager
    assert (f"agentdeck: {doc} is not valid UTF-8: 2 undecodable byte sequence(s) were "
            "replaced with U+FFFD") in err.splitlines()
    (run,) = RunStore().list_runs()
    kept = run.prompts["long_text"]
    assert kept.count("\ufffd") == 2 and "Ren\ufffde" in kept


def test_a_data_folder_that_cannot_be_created_is_one_line_not_a_traceback(capsys,
                                                                          monkeypatch) -> None:
    """Regression: an unwritable data folder crashed every run with a PermissionError."""
    monkeypatch.setenv("AGENTDECK_HOME", "/sys/agentdeck-home")
    code, _, err = run_cli(capsys, ["ask", "hello", "--demo", *FAST])
    assert code == 3
    line = [x for x in err.splitlines() if "simulator" not in x]
    assert len(line) == 1 and line[0].startswith(
        "agentdeck: configuration: cannot create a run folder in /sys/agentdeck-home/data/runs: "
        "Operation not permitted; make it writable")
    assert run_cli(capsys, ["ask", "hello", "--demo", "--no-record", *FAST])[0] == 0


def test_settings_that_cannot_be_saved_are_a_config_error(monkeypatch) -> None:
    """Regression: saving into a read-only folder raised a bare PermissionError (the app's
    settings screen catches only AgentDeckError, so it crashed)."""
    monkeypatch.setenv("AGENTDECK_HOME", "/sys/agentdeck-home")
    with pytest.raises(ConfigError) as info:
        set_profile(Profile(name="gpu", base_url="http://127.0.0.1:8000/v1"))
    assert str(info.value) == ("/sys/agentdeck-home/config/config.toml: cannot save the "
                               "settings: Operation not permitted")


def test_an_unreachable_server_is_one_line_and_the_run_says_why(capsys) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/v1"
    set_profile(Profile(name="down", base_url=url, model="m", max_retries=0), make_default=True)
    code, out, err = run_cli(capsys, ["ask", "hello"])
    assert code == 4 and out == ""
    line = one_line(err)
    assert line.startswith(f"agentdeck: connection: cannot connect to {url}/chat/completions: ")
    assert line.endswith("(is the server running?)")
    (run,) = RunStore().list_runs()
    assert run.status == "failed" and run.workers[0]["error_kind"] == "ConnectError"


def test_a_base_url_with_credentials_and_an_api_key_is_not_a_traceback(capsys,
                                                                        monkeypatch) -> None:
    monkeypatch.setenv("AGENTDECK_API_KEY", "k-123456")
    with ThreadedSim(api_key="k-123456") as sim:
        url = sim.base_url.replace("http://", "http://user:pass-1234@")
        code, _, err = run_cli(capsys, ["ask", "hi", "--base-url", url, "--model", "sim-model",
                                        *FAST])
    assert code == 0 or one_line(err).startswith("agentdeck: configuration: ")
