"""Turn the body of a 2xx chat-completions stream into events: the hot path of agentdeck.

Per socket read: one SSE ``feed``, one clock read, and one ``Delta`` per choice that got text
(the chunks of one read share their arrival time, so they are merged: ``Delta.tokens`` says how
many). Per event: one ``orjson.loads`` from bytes and a few dict lookups. Choices are routed by
``index``; a stream is complete only when every choice has a finish reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from ..errors import (
    AgentDeckError,
    FirstTokenTimeoutError,
    MalformedChunkError,
    ProtocolError,
    ServerStreamError,
    StallError,
    StreamDisconnectedError,
    TruncatedStreamError,
)
from ..events import ChoiceFinished, Delta, StreamEvent
from ..types import ChoiceResult, Completion, Usage, now
from .http_errors import (
    TRANSPORT_ERRORS,
    URL_SETTING,
    cut_reason,
    parse_error_body,
    request_id_of,
    snippet,
    timeout_setting,
)
from .metrics import StreamClock
from .sse import SSEDecoder
from .watchdog import Watchdog

__all__ = ["read_events", "read_not_a_stream", "read_whole_reply"]

_DRAIN_TIMEOUT = 1.0
_SNIPPET_BYTES = 4096
"""How much of a body that is not an API answer is read to quote it."""


def first_token_error(base_url: str, timeout: float, *,
                      body_started: bool = False) -> FirstTokenTimeoutError:
    """No token in time, so no partial text (``body_started``: chunks without text came)."""
    return FirstTokenTimeoutError(
        f"no token from {base_url} within {timeout:g}s (server overloaded or stuck? for long "
        f"queues raise {timeout_setting('first_token')})",
        body_started=body_started,
    )


async def read_events(
    response: aiohttp.ClientResponse,
    n: int,
    watchdog: Watchdog,
    clock: StreamClock,
    result: list[Completion],
    *,
    base_url: str,
    first_token_timeout: float,
    idle_timeout: float,
) -> AsyncIterator[StreamEvent]:
    """Yield ``Delta``/``ChoiceFinished`` events; append the ``Completion`` to ``result``.

    The text chunks of one socket read are merged per choice into one ``Delta`` (``tokens``:
    how many chunks), in order: reasoning arriving after pending content starts a new one, and
    every pending ``Delta`` is yielded before a ``ChoiceFinished``, at the end of the read, and
    before an error raised inside the read. The clock still sees every chunk.

    Raises:
        StreamError subclasses with the partial text; ``ProtocolError`` when the connection
        closed before any body byte (the caller may retry that one).
    """
    contents: list[list[str]] = [[] for _ in range(n)]
    reasonings: list[list[str]] = [[] for _ in range(n)]
    finish: list[str | None] = [None] * n
    unfinished = n
    usage: Any = None
    model: str | None = None
    request_id = request_id_of(response.headers)
    feed = SSEDecoder().feed
    loads = orjson.loads
    readany = response.content.readany
    loop_time = watchdog.time
    idle = idle_timeout
    first_deadline = loop_time() + first_token_timeout - (now() - clock.sent)
    started = False  # a body byte arrived: no retry from here on
    token = clock.token
    done = False
    eof = False
    pending: dict[int, list[Any]] = {}  # index -> [content, reasoning, chunks] of this read

    def partial(cls: type[AgentDeckError], message: str, **kw: Any) -> AgentDeckError:
        return cls(
            message,
            partial="".join(contents[0]),
            partial_reasoning="".join(reasonings[0]),
            request_id=request_id,
            **kw,
        )

    try:
        watchdog.arm(first_deadline, "first token")
        while True:
            watchdog.expiry = first_deadline if clock.first is None else loop_time() + idle
            raw = await readany()
            watchdog.expiry = None
            if not raw:
                eof = True
                break
            t = now()
            started = True
            for data in feed(raw):
                if data == b"[DONE]":
                    done = True
                    break
                try:
                    obj = loads(data)
                    choices = obj.get("choices")
                    if model is None:
                        model = obj.get("model")
                        request_id = request_id or obj.get("id")
                    if choices:
                        for choice in choices:
                            index = choice.get("index") or 0
                            if index >= len(finish):
                                grow = index + 1 - len(finish)
                                contents.extend([] for _ in range(grow))
                                reasonings.extend([] for _ in range(grow))
                                finish.extend([None] * grow)
                                unfinished += grow
                            delta = choice.get("delta")
                            if delta:
                                content = delta.get("content")
                                reasoning = delta.get("reasoning")
                                if reasoning is None:
                                    reasoning = delta.get("reasoning_content")
                                if content or reasoning:
                                    if clock.first is None:
                                        # later idle deadlines may come sooner
                                        watchdog.schedule(loop_time() + idle)
                                    token(t)
                                    if content:
                                        contents[index].append(content)
                                    else:
                                        content = ""
                                    if reasoning:
                                        reasonings[index].append(reasoning)
                                    else:
                                        reasoning = ""
                                    p = pending.get(index)
                                    if p is None:
                                        pending[index] = [content, reasoning, 1]
                                    elif reasoning and p[0]:
                                        # reasoning after content: a new Delta keeps the order
                                        yield Delta(p[0], p[1], index, p[2])
                                        pending[index] = [content, reasoning, 1]
                                    else:
                                        p[0] += content
                                        p[1] += reasoning
                                        p[2] += 1
                            reason = choice.get("finish_reason")
                            if reason is not None and finish[index] is None:
                                finish[index] = reason
                                unfinished -= 1
                                if pending:
                                    for i, p in pending.items():
                                        yield Delta(p[0], p[1], i, p[2])
                                    pending.clear()
                                yield ChoiceFinished(index, reason, choice.get("stop_reason"))
                    elif obj.get("error") is not None or obj.get("object") == "error":
                        message, _ = parse_error_body(data)
                        said = f"server error inside the stream: {message}"
                        raise partial(ServerStreamError, said, body=obj, body_started=True)
                    u = obj.get("usage")
                    if u:
                        usage = u
                except (orjson.JSONDecodeError, AttributeError, TypeError):
                    # not JSON, not an object, or fields of the wrong type
                    text = data.decode("utf-8", "replace")
                    quoted = repr(text if len(text) <= 120 else text[:120] + "...")
                    message = f"malformed chunk from {base_url}: {quoted}"
                    raise partial(MalformedChunkError, message, body_started=True) from None
            if pending:
                for i, p in pending.items():
                    yield Delta(p[0], p[1], i, p[2])
                pending.clear()
            if done:
                eof = await _drain(readany, watchdog)
                break
    except asyncio.CancelledError:
        if watchdog.absorb():
            if clock.first is None:
                raise first_token_error(base_url, first_token_timeout,
                                        body_started=started) from None
            raise partial(
                StallError,
                f"stream from {base_url} stalled: no chunk for {idle:g}s "
                f"({timeout_setting('idle')})",
                body_started=True,
            ) from None
        raise
    except TRANSPORT_ERRORS as exc:
        if not started:
            raise ProtocolError(
                f"{base_url} closed the stream before sending anything: {cut_reason(exc)}"
            ) from exc
        raise partial(
            StreamDisconnectedError,
            f"connection to {base_url} closed mid-response ({cut_reason(exc)}): a proxy or "
            "load balancer cutting long streams, or a server crash?",
            body_started=True,
        ) from exc
    except AgentDeckError:
        # raised inside a read: the text of its good chunks reaches the caller first
        for i, p in pending.items():
            yield Delta(p[0], p[1], i, p[2])
        pending.clear()
        raise
    finally:
        watchdog.expiry = None
        if eof:
            response.release()  # body read to its end: the connection goes back to the pool
        else:
            response.close()  # anything else: drop the connection so the server sees it
    if unfinished:
        missing = ", ".join(str(i) for i, r in enumerate(finish) if r is None)
        raise partial(
            TruncatedStreamError,
            f"stream from {base_url} ended before a finish reason for choice {missing} "
            "(connection cut by a proxy or a server crash?)",
            body_started=started,
        )
    parsed_usage = _usage(usage)
    end = now()
    result.append(
        Completion(
            choices=tuple(
                ChoiceResult(i, "".join(contents[i]), "".join(reasonings[i]), finish[i])
                for i in range(len(finish))
            ),
            usage=parsed_usage,
            metrics=clock.result(parsed_usage.completion_tokens if parsed_usage else None, end),
            model=model,
            request_id=request_id,
        )
    )


async def _drain(readany: Any, watchdog: Watchdog) -> bool:
    """Read the body's end after ``[DONE]`` so the connection can be reused; True at EOF.

    Bounded by a short deadline: a server that keeps the connection open after ``[DONE]``
    costs us that connection, never the answer we already have.
    """
    watchdog.arm(watchdog.time() + _DRAIN_TIMEOUT, "drain")
    try:
        while await readany():
            pass
        return True
    except asyncio.CancelledError:
        if watchdog.fired != "drain" or not watchdog.absorb():
            raise
        return False
    except TRANSPORT_ERRORS:
        return False  # the answer is complete; a bad ending only costs the connection
    finally:
        watchdog.expiry = None


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    details = raw.get("completion_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return Usage(
        prompt_tokens=raw.get("prompt_tokens"),
        completion_tokens=raw.get("completion_tokens"),
        total_tokens=raw.get("total_tokens"),
        reasoning_tokens=reasoning,
    )


async def read_whole_reply(
    response: aiohttp.ClientResponse,
    n: int,
    watchdog: Watchdog,
    clock: StreamClock,
    result: list[Completion],
    *,
    base_url: str,
    first_token_timeout: float,
    idle_timeout: float,
) -> AsyncIterator[StreamEvent]:
    """The same events from a 200 JSON reply (a server ignoring ``stream``).

    A JSON ``chat.completion`` becomes one ``Delta`` and one ``ChoiceFinished`` per choice; an
    error object is a ``ServerStreamError``; any other JSON means the URL is not an
    OpenAI-compatible endpoint. None of these is retried: a resend gets the same answer.
    """
    try:
        body = await asyncio.wait_for(response.read(), first_token_timeout)
    except asyncio.TimeoutError:
        raise first_token_error(base_url, first_token_timeout) from None
    except TRANSPORT_ERRORS as exc:
        raise ProtocolError(
            f"{base_url} closed the connection mid-reply: {cut_reason(exc)}"
        ) from exc
    finally:
        response.close()
    t = now()
    try:
        obj = orjson.loads(body)
        choices = obj.get("choices")
    except (orjson.JSONDecodeError, AttributeError):
        obj = choices = None
    if not isinstance(choices, list) or not choices:
        message, _ = parse_error_body(body)
        if isinstance(obj, dict) and message is not None:
            raise ServerStreamError(f"server error instead of a reply: {message}", body=obj)
        raise ProtocolError(
            f"{base_url} answered 200 with JSON that is not a chat completion (not an "
            f"OpenAI-compatible server? check {URL_SETTING}): {_snippet(body)!r}",
            body_started=True,  # a resend gets the same
        )
    finished: list[ChoiceResult] = []
    for choice in choices:
        message = choice.get("message") or {}
        index = choice.get("index") or 0
        content = message.get("content") or ""
        reasoning = message.get("reasoning") or message.get("reasoning_content") or ""
        if content or reasoning:
            clock.token(t)
            yield Delta(content, reasoning, index)
        reason = choice.get("finish_reason")
        if reason is None:
            raise TruncatedStreamError(
                f"reply from {base_url} has no finish reason for choice {index}",
                partial=content,
                partial_reasoning=reasoning,
            )
        yield ChoiceFinished(index, reason, choice.get("stop_reason"))
        finished.append(ChoiceResult(index, content, reasoning, reason))
    parsed_usage = _usage(obj.get("usage"))
    result.append(
        Completion(
            choices=tuple(sorted(finished, key=lambda c: c.index)),
            usage=parsed_usage,
            metrics=clock.result(parsed_usage.completion_tokens if parsed_usage else None),
            model=obj.get("model"),
            request_id=request_id_of(response.headers) or obj.get("id"),
        )
    )


async def read_not_a_stream(
    response: aiohttp.ClientResponse,
    n: int,
    watchdog: Watchdog,
    clock: StreamClock,
    result: list[Completion],
    *,
    base_url: str,
    first_token_timeout: float,
    idle_timeout: float,
) -> AsyncIterator[StreamEvent]:
    """Raise for a 200 that is neither an event stream nor JSON (a proxy page, plain text).

    Reading such a body as SSE would report a truncated stream; the real news is that the URL
    does not point at an OpenAI-compatible endpoint. Not retried: a resend gets the same page.
    Only the first few KiB are read (the body may be huge or endless).
    """
    try:
        body = await asyncio.wait_for(response.content.read(_SNIPPET_BYTES), idle_timeout)
    except (*TRANSPORT_ERRORS, asyncio.TimeoutError):
        body = b""  # the content type alone says enough
    finally:
        response.close()
    ctype = response.headers.get("Content-Type") or "none"
    raise ProtocolError(
        f"{base_url} answered 200 with content-type {ctype}, not an event stream (not an "
        f"OpenAI-compatible server? check {URL_SETTING}): {_snippet(body)!r}",
        body_started=True,  # a resend gets the same page
    )
    yield  # an async generator like the other readers  # pragma: no cover


def _snippet(body: bytes) -> str:
    """The start of a body on one line, for an error message."""
    return snippet(body.decode("utf-8", "replace"), 160)
