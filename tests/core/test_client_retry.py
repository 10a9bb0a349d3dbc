"""Retries: only before the body, on the right failures, with Retry-After honoured and capped."""

from __future__ import annotations

import random

import pytest
from servers import Conn, Request, ScriptServer, chunk_obj, simple_handler

from agentdeck.client.retry import RetryPolicy, parse_retry_after
from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    ServerError,
    StreamDisconnectedError,
)
from agentdeck.events import Retrying, StreamFinished

MSG = [{"role": "user", "content": "hi"}]


def failing_then_ok(failures: list):
    """Answer the i-th chat request with failures[i] (status, headers) or 'cut'; then stream."""
    ok = simple_handler(["fine"])
    attempts = 0

    async def handler(request: Request, conn: Conn) -> None:
        nonlocal attempts
        attempts += 1
        attempt = attempts
        if attempt <= len(failures):
            failure = failures[attempt - 1]
            if failure == "cut":
                conn.cut()
            elif failure == "headers-then-cut":
                await conn.start_stream()
                conn.cut()
            else:
                status, headers = failure
                await conn.respond(status, {"error": {"message": f"nope {status}"}}, headers)
        else:
            await ok(request, conn)

    return handler


async def run(failures: list, **kw):
    async with ScriptServer(failing_then_ok(failures)) as srv:
        kw.setdefault("backoff_base", 0.001)
        async with VLLMModel("m", srv.url, **kw) as model:
            events, error = [], None
            try:
                async for event in model.stream(MSG):
                    events.append(event)
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                error = exc
    return events, error, srv


async def test_retries_5xx_429_and_cut_then_succeeds() -> None:
    events, error, srv = await run([(503, {}), (429, {}), "cut"], max_attempts=4)
    assert error is None
    retries = [e for e in events if isinstance(e, Retrying)]
    assert [(r.attempt, r.max_attempts) for r in retries] == [(1, 4), (2, 4), (3, 4)]
    assert "503" in retries[0].reason and "429" in retries[1].reason
    assert "closed" in retries[2].reason
    assert isinstance(events[-1], StreamFinished) and events[-1].completion.text == "fine"
    assert len(srv.requests) == 4


async def test_retry_after_ms_and_retry_after_seconds_are_honoured() -> None:
    failures = [(429, {"retry-after-ms": "7"}), (503, {"retry-after": "0.02"})]
    events, error, _ = await run(failures)
    delays = [e.delay for e in events if isinstance(e, Retrying)]
    assert error is None and delays == [0.007, 0.02]


async def test_retry_after_is_capped() -> None:
    events, error, _ = await run([(429, {"retry-after": "3600"})], retry_after_max=0.01)
    assert error is None
    assert [e.delay for e in events if isinstance(e, Retrying)] == [0.01]


async def test_gives_up_after_max_attempts_with_last_error() -> None:
    events, error, srv = await run([(500, {})] * 5, max_attempts=3)
    assert isinstance(error, ServerError) and "nope 500" in str(error)
    assert len([e for e in events if isinstance(e, Retrying)]) == 2
    assert len(srv.requests) == 3


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequestError), (401, AuthenticationError), (404, NotFoundError),
     (422, BadRequestError)],
)
async def test_never_retries_client_errors(status: int, cls: type) -> None:
    events, error, srv = await run([(status, {"retry-after": "0"})] * 3)
    assert isinstance(error, cls) and events == []
    assert len([r for r in srv.requests if r.path.endswith("completions")]) == 1


async def test_headers_then_cut_before_any_body_byte_is_retried() -> None:
    events, error, srv = await run(["headers-then-cut"])
    assert error is None and isinstance(events[0], Retrying)
    assert events[-1].completion.text == "fine"


async def test_no_retry_after_text_was_delivered() -> None:
    async def handler(request: Request, conn: Conn) -> None:
        await conn.start_stream()
        await conn.event(chunk_obj("partial "))
        await conn.event(chunk_obj("text"))
        conn.cut()

    async with ScriptServer(handler) as srv:
        async with VLLMModel("m", srv.url, max_attempts=5, backoff_base=0.001) as model:
            with pytest.raises(StreamDisconnectedError) as info:
                await model.complete(MSG)
    assert info.value.partial == "partial text"
    assert len(srv.requests) == 1


def test_backoff_is_exponential_full_jitter_and_capped() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_base=1.0, backoff_max=5.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        samples = [policy.delay(attempt, {}, rng) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # spread over the whole range: full jitter


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "12"}) == 12.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after-ms": "x", "retry-after": "2"}) == 2.0
    assert parse_retry_after({}) is None


def test_retry_after_http_date_in_future() -> None:
    import email.utils
    import time

    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= parse_retry_after({"retry-after": when}) <= 31
