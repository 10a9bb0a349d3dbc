"""The CLI's input, as a shell uses it: stdin, ``-o KEY=VALUE``, ``--system``, timeouts."""

from __future__ import annotations

import socket
import time

import pytest
from cli_support import QUICK, agentdeck, only_run
from systems_support import ThreadedSim

from agentdeck.store.runs import RunStore


def test_the_prompt_comes_from_stdin_when_missing_or_dash() -> None:
    piped = agentdeck("ask", "--demo", *QUICK, stdin="What is a cache?\n")
    assert piped.code == 0 and piped.out.strip()
    assert only_run().manifest["prompts"]["prompt"] == "What is a cache?\n"
    dash = agentdeck("ask", "-", "--demo", "--no-record", *QUICK, stdin="Say hi")
    assert dash.code == 0 and dash.out.strip()


def test_a_long_text_can_come_from_stdin_but_not_with_the_prompt(tmp_path) -> None:
    text = "Ada wrote the first program. " * 20
    done = agentdeck("chain", "Who wrote it?", "--file", "-", "--demo", *QUICK, stdin=text)
    assert done.code == 0, done.err
    assert only_run().manifest["params"]["long_text_chars"] == len(text)
    both = agentdeck("chain", "--file", "-", "--demo", stdin=text)
    assert both.code == 2
    assert both.err_lines == ["agentdeck: bad input: stdin can give the question or the file, "
                              "not both"]


@pytest.mark.parametrize(("stdin", "message"), [
    ("", "the prompt is empty (stdin gave no text)"),
    ("  \n", "the prompt is empty (stdin gave no text)"),
    ("a\x00b", "the prompt on stdin looks binary (it contains NUL bytes)"),
])
def test_an_empty_or_binary_stdin_is_one_line_and_exit_2(stdin, message) -> None:
    done = agentdeck("ask", "--demo", stdin=stdin)
    assert (done.code, done.out) == (2, "")
    assert done.err_lines == [f"agentdeck: bad input: {message}"]


def test_dash_o_sets_any_param_as_json_or_text_and_reaches_the_server() -> None:
    with ThreadedSim() as sim:
        done = agentdeck("ask", "Tell me about caches", "--base-url", sim.base_url,
                         "--model", "sim-model", "-o", "top_k=20", "-o", "ignore_eos=true",
                         "-o", 'stop=["e"]', "-o", "note=plain text", "-o", "max_tokens=8")
        (record,) = sim.stats.records
    assert done.code == 0, done.err
    params = only_run().manifest["params"]
    assert params["top_k"] == 20 and params["ignore_eos"] is True  # JSON when it parses
    assert params["stop"] == ["e"] and params["note"] == "plain text"  # text otherwise
    assert params["max_tokens"] == 8
    assert record.finish_reasons == ["stop"] and "e" not in done.out  # the server stopped at "e"


def test_dash_o_reaches_the_server_as_a_json_object() -> None:
    """The simulator takes a fault as a ``sim`` object in the body: -o carries it there."""
    done = agentdeck("ask", "hi", "--demo", "-q", *QUICK,
                     "-o", 'sim={"fault": "status", "status": 429, "retry_after": 0}',
                     "-o", "max_tokens=4")
    assert done.code == 1 and "429" in done.err


@pytest.mark.parametrize(("argv", "message"), [
    (["-o", "temperature=-1"], "bad input: -o temperature: must be at least 0"),
    (["-o", "max_tokens=0"], "bad input: -o max_tokens: must be at least 1"),
    (["-o", "top_k=NaN"], "bad input: -o values must be finite"),
    (["-o", "penalty=[1, Infinity]"], "bad input: -o values must be finite"),
    (["-o", "top_k"], "bad input: -o takes KEY=VALUE (e.g. -o top_k=20); got 'top_k'"),
    (["-o", "=3"], "bad input: -o takes KEY=VALUE"),
    (["-o", "model=x"], "bad input: -o model cannot be set, the client sends it itself: use "
                        "--model"),
    (["-o", "stream=false"], "bad input: -o stream cannot be set"),
    (["--timeout", "0"], "bad input: --timeout must be a number of seconds above 0, got 0"),
    (["--idle-timeout", "-1"], "bad input: --idle-timeout must be a number of seconds above 0"),
    (["--first-token-timeout", "nan"], "bad input: --first-token-timeout must be a number"),
    (["--connect-timeout", "inf"], "bad input: --connect-timeout must be a number"),
])
def test_bad_values_are_one_line_and_exit_2_before_anything_is_sent(argv, message) -> None:
    done = agentdeck("ask", "hi", "--demo", *argv)
    assert (done.code, done.out) == (2, "")
    (line,) = done.err_lines
    assert line.startswith(f"agentdeck: {message}")


def test_system_is_on_every_run_command_and_reaches_every_request(tmp_path) -> None:
    long_system = "You are a terse assistant who answers in one word. " * 10
    with ThreadedSim() as sim:
        for extra in ([], ["--system", long_system]):
            done = agentdeck("multi", "-n", "2", "Name a color", "--base-url", sim.base_url,
                             "--model", "sim-model", "--output-dir", str(tmp_path), *extra)
            assert done.code == 0, done.err
        records = list(sim.stats.records)
    plain, prompted = records[:2], records[2:]
    grew = [b.prompt_tokens - a.prompt_tokens for a, b in zip(plain, prompted)]
    assert all(n > 50 for n in grew), grew  # both calls carried the system prompt
    assert RunStore().list_runs()[0].manifest["prompts"]["system"] == long_system  # newest
    for command in ("ask", "chain", "multi", "debate"):
        assert "--system TEXT" in agentdeck(command, "--help").out


def test_first_token_timeout_says_no_token_came_not_connecting() -> None:
    """Regression: a server that accepted the request and sent nothing held `ask` for 600 s,
    and its message said "connecting ... timed out"."""
    stall = 'sim={"fault": "stall", "after": 0, "seconds": 20}'
    for flag in ("--timeout", "--first-token-timeout"):
        started = time.monotonic()
        done = agentdeck("ask", "hi", "--demo", "-o", stall, flag, "0.5", *QUICK)
        assert time.monotonic() - started < 10
        assert done.code == 1
        assert "no token from" in done.err and "within 0.5s" in done.err
        assert "--first-token-timeout or the profile's timeouts.first_token" in done.err
        assert "connecting" not in done.err


def test_idle_timeout_alone_reaches_the_stream_and_one_given_alone_wins() -> None:
    stall = 'sim={"fault": "stall", "after": 2, "seconds": 20}'
    done = agentdeck("ask", "hi", "--demo", "-o", stall, "--timeout", "30", "--idle-timeout",
                     "0.5", "--max-tokens", "8")
    assert done.code == 1
    assert ("stalled: no chunk for 0.5s (--idle-timeout or the profile's timeouts.idle)"
            in done.err)


def test_a_server_that_accepts_and_never_answers_is_not_a_connect_timeout() -> None:
    """Regression: a listing that got no answer said "connecting to ... timed out" though the
    connection was made, then exited 4 labelled "connection:". The kernel accepts for a
    listening socket nobody serves: a request that failed (exit 1), not a connection."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        started = time.monotonic()
        done = agentdeck("ask", "hi", "--base-url", url, "--timeout", "0.5")
    assert time.monotonic() - started < 10
    assert done.code == 1 and done.err_lines == [
        f"agentdeck: request failed: {url}/models accepted the connection but did not answer in "
        "time (server overloaded or stuck?)"]
