"""The facts errors carry for the retry logic, and the first-token timeout's place in the tree."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from servers import Conn, Request, ScriptServer
from systems_support import ThreadedSim

from agentdeck.cli import main
from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import (
    AgentDeckError,
    ConnectError,
    ConnectTimeoutError,
    FirstTokenTimeoutError,
    ProtocolError,
    RateLimitError,
    StreamError,
    TransportError,
)
from agentdeck.store.runs import RunStore

MSG = [{"role": "user", "content": "hi"}]


def test_retry_facts_are_declared_fields_with_defaults() -> None:
    """Regression: the facts were private attributes set from outside (``_body_started``...)."""
    error = AgentDeckError("x")
    assert (error.body_started, error.final, error.headers) == (False, False, None)
    error = ProtocolError("cut", body_started=True)
    assert error.body_started and str(error) == "cut"
    assert ConnectError("no such host", final=True).final


async def test_a_429_carries_its_retry_after_header_and_is_retried_as_it_asks() -> None:
    async def busy(request: Request, conn: Conn) -> None:
        await conn.respond(429, b'{"error": {"message": "slow down"}}',
                           headers={"Retry-After": "0.05"})

    async with ScriptServer(busy) as srv:
        async with VLLMModel("m", srv.url, max_attempts=2, backoff_base=30.0) as model:
            events = []
            try:
                async for event in model.stream(MSG):
                    events.append(event)
            except RateLimitError as error:
                caught = error
    assert caught.headers["retry-after"] == "0.05" and not caught.body_started
    assert [e.delay for e in events] == [0.05]  # the server's wait, not the 30 s backoff
    assert len(srv.requests) == 2


async def test_a_200_that_is_not_a_stream_is_marked_started_and_not_retried() -> None:
    async def page(request: Request, conn: Conn) -> None:
        await conn.respond(200, b"<html>login</html>", headers={"Content-Type": "text/html"})

    async with ScriptServer(page) as srv:
        async with VLLMModel("m", srv.url, max_attempts=3, backoff_base=0.001) as model:
            try:
                await model.complete(MSG)
            except ProtocolError as error:
                caught = error
    assert caught.body_started and "not an event stream" in str(caught)
    assert len(srv.requests) == 1


async def test_an_unknown_host_is_final_and_not_retried() -> None:
    events = []
    async with VLLMModel("m", "http://no-such-host.invalid/v1", max_attempts=3) as model:
        try:
            async for event in model.stream(MSG):
                events.append(event)
        except ConnectError as error:
            caught = error
    assert caught.final and "cannot resolve host" in str(caught)
    assert events == []  # no Retrying: a resend cannot fix a host name


def test_first_token_timeout_is_a_timeout_before_any_response() -> None:
    """Regression: it was a StreamError ("after it began") though raised before any text."""
    assert issubclass(FirstTokenTimeoutError, TransportError)
    assert not issubclass(FirstTokenTimeoutError, StreamError)
    assert FirstTokenTimeoutError.__mro__[1] is ConnectTimeoutError.__mro__[1]  # siblings
    assert not hasattr(FirstTokenTimeoutError("x"), "partial")


def test_first_token_timeout_still_fails_the_cli_as_a_request_failure(capsys) -> None:
    """Moving it under TransportError must not turn exit 1 into exit 4 ("connection")."""
    with ThreadedSim(ttft=5.0) as sim:
        config = Path(os.environ["AGENTDECK_HOME"]) / "config" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(textwrap.dedent(f"""
            default_profile = "slow"
            [profiles.slow]
            base_url = "{sim.base_url}"
            model = "sim-model"
            max_retries = 3
            [profiles.slow.timeouts]
            first_token = 0.3
        """))
        code = main(["ask", "x", "--max-tokens", "4"])
        requests = sim.stats.requests
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("agentdeck: ")]
    assert code == 1
    assert lines[-1].startswith("agentdeck: request failed: no token from ")
    assert "within 0.3s" in lines[-1] and "--first-token-timeout" in lines[-1]
    assert requests == 1  # never retried
    (run,) = RunStore().list_runs()
    assert run.status == "failed"
    assert run.workers[0]["error_kind"] == "FirstTokenTimeoutError"
