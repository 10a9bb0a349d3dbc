"""``VLLMModel``: the streaming chat-completions client for vLLM and OpenAI-compatible servers.

One ``httpx.AsyncClient`` per model object, HTTP/1.1, no redirects, explicit connection limits.
``stream()`` yields typed events; ``call_stream()``/``complete()`` come from ``BaseModel``. The
parts live beside it: ``sse`` (decoding), ``retry`` (policy), ``httperrors`` (translation),
``metrics`` (timings), ``watchdog`` (first-token and idle deadlines), ``serverinfo`` (models,
health, /metrics, tokenize).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from contextlib import aclosing
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import orjson

from . import __version__
from .errors import (
    AgentDeckError,
    ConfigError,
    FirstTokenTimeoutError,
    InputError,
    MalformedChunkError,
    ProtocolError,
    ServerStreamError,
    StallError,
    StreamDisconnectedError,
    TruncatedStreamError,
    register_secret,
)
from .httperrors import (
    error_from_status,
    error_from_transport,
    looks_like_unknown_model,
    parse_error_body,
    request_id_of,
)
from .metrics import StreamClock
from .model import BaseModel
from .pool import ClientPool
from .retry import RetryPolicy
from .serverinfo import ServerInfoMixin
from .sse import SSEDecoder
from .types import (
    ChatMessage,
    ChoiceFinished,
    ChoiceResult,
    Completion,
    Delta,
    GenerationParams,
    Retrying,
    StreamEvent,
    StreamFinished,
    Usage,
    now,
)
from .watchdog import Watchdog

__all__ = ["VLLMModel", "normalize_api_url"]

_ERROR_BODY_LIMIT = 64 * 1024
_DRAIN_TIMEOUT = 1.0


def normalize_api_url(api_url: str) -> tuple[str, str]:
    """``(server root, /v1 base)`` from a URL given with or without ``/v1`` or a slash.

    ``http://h:8000``, ``http://h:8000/``, ``http://h:8000/v1/`` and even
    ``http://h:8000/v1/chat/completions`` all give ``("http://h:8000", "http://h:8000/v1")``.
    """
    url = (api_url or "").strip()
    if "://" not in url:
        raise ConfigError(
            f"api_url {api_url!r} needs a scheme, e.g. http://{url or 'localhost:8000'}/v1",
            key="api_url",
        )
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ConfigError(f"api_url {api_url!r} must start with http:// or https://", key="api_url")
    url = url.rstrip("/")
    for suffix in ("/chat/completions", "/v1"):
        if url.endswith(suffix):
            url = url[: -len(suffix)].rstrip("/")
    return url, url + "/v1"


def _ssl_context(verify: bool | str | Path | ssl.SSLContext) -> bool | ssl.SSLContext:
    if verify is False or isinstance(verify, ssl.SSLContext):
        return verify
    return _cached_ssl_context(None if verify is True else str(verify))


@functools.lru_cache(maxsize=8)
def _cached_ssl_context(cafile: str | None) -> ssl.SSLContext:
    """One context per CA bundle per process: loading certificates costs ~0.2 s each time."""
    if cafile is None:
        return httpx.create_ssl_context()
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load CA bundle {cafile}: {exc}", key="ca_bundle") from exc


class VLLMModel(ServerInfoMixin, BaseModel):
    """Streams chat completions from vLLM or any OpenAI-compatible ``/v1`` endpoint.

    Args:
        model_name: the served model name (``GET /v1/models`` lists them).
        api_url: server URL, with or without ``/v1`` and trailing slash.
        api_key: sent as ``Authorization: Bearer``; never appears in any message.
        connect_timeout: seconds to establish a connection.
        first_token_timeout: seconds from sending the request to the first content or
            reasoning token (a busy server queues requests: keep this generous).
        idle_timeout: longest silence between two chunks once text flows.
        max_attempts, backoff_base, backoff_max, retry_after_max: see ``RetryPolicy``.
        max_connections: connection pool size; more concurrent streams wait, never time out.
        verify: TLS verification: True, False, a CA bundle path or an ``ssl.SSLContext``.
        default_params: generation params applied under every call's params.
        http_client: bring your own client (then ``close_client`` leaves it open).
    """

    def __init__(
        self,
        model_name: str,
        api_url: str,
        api_key: str | None = None,
        *,
        connect_timeout: float = 10.0,
        first_token_timeout: float = 600.0,
        idle_timeout: float = 300.0,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        retry_after_max: float = 60.0,
        max_connections: int = 1024,
        verify: bool | str | Path | ssl.SSLContext = True,
        default_params: GenerationParams | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if not model_name:
            raise ConfigError("model name is empty: pass the served model name", key="model")
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("first_token_timeout", first_token_timeout),
            ("idle_timeout", idle_timeout),
        ):
            if not value > 0:
                raise ConfigError(f"{name} must be a positive number of seconds, got {value}")
        self.model_name = model_name
        self.root_url, self.base_url = normalize_api_url(api_url)
        self.api_key = api_key or None
        register_secret(self.api_key)
        self.connect_timeout = float(connect_timeout)
        self.first_token_timeout = float(first_token_timeout)
        self.idle_timeout = float(idle_timeout)
        self.retry = RetryPolicy(max_attempts, backoff_base, backoff_max, retry_after_max)
        self.default_params = default_params
        self._chat_url = self.base_url + "/chat/completions"
        self._headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            self._headers["Authorization"] = f"Bearer {self.api_key}"
        ssl_context = _ssl_context(verify)

        def new_client(limit: int) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                timeout=httpx.Timeout(connect_timeout, read=None, write=None, pool=None),
                limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
                verify=ssl_context,
                follow_redirects=False,
                # identity: a compressing proxy would hold SSE chunks back until a block fills.
                headers={"User-Agent": f"agentdeck/{__version__}", "Accept-Encoding": "identity"},
            )

        self._pool = ClientPool(
            None if http_client else new_client, max_connections, client=http_client
        )

    @property
    def _client(self) -> httpx.AsyncClient:
        """The client for one-off requests (the server helpers)."""
        return self._pool.first

    def __repr__(self) -> str:
        return f"VLLMModel({self.model_name!r}, {self.base_url!r})"

    async def close_client(self) -> None:
        """Close the connection pool (only when this object created it). Safe to call twice."""
        await self._pool.aclose()

    # ------------------------------------------------------------------ streaming

    def _params(self, params: GenerationParams | None, kwargs: dict[str, Any]) -> GenerationParams:
        merged = self.default_params or GenerationParams()
        if params is not None:
            merged = merged.merged(**params.to_body()) if self.default_params else params
        return merged.merged(**kwargs) if kwargs else merged

    def _payload(self, messages: list[ChatMessage], params: GenerationParams) -> bytes:
        if not isinstance(messages, list) or not messages:
            raise InputError("messages must be a non-empty list of {'role', 'content'} dicts")
        body: dict[str, Any] = {"model": self.model_name, "messages": messages}
        body.update(params.to_body())
        options = body.get("stream_options")
        body["stream"] = True
        body["stream_options"] = {**(options if isinstance(options, dict) else {})}
        body["stream_options"]["include_usage"] = True
        try:
            return orjson.dumps(body)
        except TypeError as exc:
            raise InputError(f"request cannot be sent as JSON: {exc}") from exc

    async def stream(
        self,
        messages: list[ChatMessage],
        params: GenerationParams | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]:
        """Yield ``Delta``/``ChoiceFinished``/``Retrying`` events, then ``StreamFinished``.

        Raises:
            TransportError, APIStatusError: before any text (after the retries ran out).
            StreamError: after text began; ``partial``/``partial_reasoning`` hold choice 0's.
        """
        p = self._params(params, kwargs)
        payload = self._payload(messages, p)
        n = p.n or 1
        policy = self.retry
        watchdog = Watchdog(self.idle_timeout)
        attempt = 0
        try:
            while True:
                attempt += 1
                clock = StreamClock()
                shard = self._pool.acquire()
                result: list[Completion] = []
                try:
                    client = self._pool.client(shard)
                    response = await self._open(client, payload, watchdog)
                    reader = self._read(response, n, watchdog, clock, result)
                    async with aclosing(reader) as events:
                        async for event in events:
                            yield event
                except AgentDeckError as error:
                    if (
                        attempt >= policy.max_attempts
                        or getattr(error, "_body_started", False)
                        or not policy.retryable(error)
                    ):
                        raise
                    retry_error = error
                else:
                    retry_error = None
                finally:
                    self._pool.release(shard)
                if retry_error is None:
                    break
                delay = policy.delay(attempt, getattr(retry_error, "_headers", None))
                yield Retrying(attempt, policy.max_attempts, delay, str(retry_error))
                await asyncio.sleep(delay)
        finally:
            watchdog.close()
        # Everything is released before the last event: a caller that stops iterating at
        # StreamFinished (as complete() does) leaves nothing open behind it.
        yield StreamFinished(result[0])

    async def _open(
        self, client: httpx.AsyncClient, payload: bytes, watchdog: Watchdog
    ) -> httpx.Response:
        """Send the request; return a 2xx streaming response or raise a translated error."""
        request = client.build_request(
            "POST", self._chat_url, content=payload, headers=self._headers
        )
        watchdog.arm(watchdog.time() + self.first_token_timeout, "first token")
        try:
            response = await client.send(request, stream=True)
        except asyncio.CancelledError:
            if watchdog.absorb():
                raise self._first_token_error("", "") from None
            raise
        except httpx.HTTPError as exc:
            raise error_from_transport(exc, self._chat_url) from exc
        finally:
            watchdog.expiry = None
        if response.status_code < 300:
            return response
        try:
            body = await _read_limited(response, _ERROR_BODY_LIMIT)
        except httpx.HTTPError:
            body = b""
        finally:
            await response.aclose()
        raise await self._status_error(response, body)

    async def _status_error(self, response: httpx.Response, body: bytes) -> AgentDeckError:
        message, parsed = parse_error_body(body)
        available = None
        if looks_like_unknown_model(response.status_code, parsed, message):
            try:
                available = [m.get("id", "?") for m in await self.list_models()]
            except AgentDeckError:
                available = None
        error = error_from_status(
            response, body, key_sent=bool(self.api_key), model=self.model_name, available=available
        )
        error._headers = response.headers  # type: ignore[attr-defined]  # for Retry-After
        return error

    def _first_token_error(self, partial: str, reasoning: str) -> FirstTokenTimeoutError:
        return FirstTokenTimeoutError(
            f"no token from {self.base_url} within first_token_timeout={self.first_token_timeout:g}s"
            " (server overloaded or stuck? raise the timeout for long queues)",
            partial=partial,
            partial_reasoning=reasoning,
        )

    async def _read(
        self,
        response: httpx.Response,
        n: int,
        watchdog: Watchdog,
        clock: StreamClock,
        result: list[Completion],
    ) -> AsyncIterator[StreamEvent]:
        """Decode a 2xx stream into events; append the ``Completion`` to ``result`` at the end.

        The hot path of the whole program.
        """
        contents: list[list[str]] = [[] for _ in range(n)]
        reasonings: list[list[str]] = [[] for _ in range(n)]
        finish: list[str | None] = [None] * n
        unfinished = n
        usage: dict[str, Any] | None = None
        model: str | None = None
        request_id = request_id_of(response.headers)
        feed = SSEDecoder().feed
        loads = orjson.loads
        loop_time = watchdog.time
        idle = self.idle_timeout
        first_deadline = loop_time() + self.first_token_timeout - (now() - clock.sent)
        started = False  # a body byte arrived: no retry from here on
        token = clock.token
        chunks = _iter_body(response)
        done = False
        try:
            watchdog.arm(first_deadline, "first token")
            while True:
                watchdog.expiry = first_deadline if clock.first is None else loop_time() + idle
                try:
                    raw = await chunks.__anext__()
                except StopAsyncIteration:
                    break
                watchdog.expiry = None
                t = now()
                started = True
                for data in feed(raw):
                    if data == b"[DONE]":
                        done = True
                        break
                    try:
                        obj = loads(data)
                        choices = obj.get("choices")
                    except (orjson.JSONDecodeError, AttributeError):
                        raise MalformedChunkError(
                            f"malformed chunk from {self.base_url}: {_snippet(data)}",
                            partial="".join(contents[0]),
                            partial_reasoning="".join(reasonings[0]),
                            request_id=request_id,
                        ) from None
                    if model is None:
                        model = obj.get("model")
                        request_id = request_id or obj.get("id")
                    if choices:
                        for choice in choices:
                            delta = choice.get("delta")
                            index = choice.get("index") or 0
                            if index >= len(finish):
                                _grow(index, contents, reasonings, finish)
                                unfinished += index + 1 - n
                                n = index + 1
                            if delta:
                                content = delta.get("content")
                                reasoning = delta.get("reasoning")
                                if reasoning is None:
                                    reasoning = delta.get("reasoning_content")
                                if content or reasoning:
                                    if clock.first is None:
                                        # idle deadlines from now on may be sooner
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
                                    yield Delta(content, reasoning, index)
                            reason = choice.get("finish_reason")
                            if reason is not None and finish[index] is None:
                                finish[index] = reason
                                unfinished -= 1
                                yield ChoiceFinished(index, reason, choice.get("stop_reason"))
                    elif obj.get("error") is not None or obj.get("object") == "error":
                        message, _ = parse_error_body(data)
                        raise ServerStreamError(
                            f"server error inside the stream: {message}",
                            partial="".join(contents[0]),
                            partial_reasoning="".join(reasonings[0]),
                            request_id=request_id,
                            body=obj,
                        )
                    u = obj.get("usage")
                    if u:
                        usage = u
                if done:
                    await _drain(chunks, watchdog)
                    break
        except asyncio.CancelledError:
            if watchdog.absorb():
                partial, reasoning = "".join(contents[0]), "".join(reasonings[0])
                if clock.first is None:
                    raise self._first_token_error(partial, reasoning) from None
                raise StallError(
                    f"stream from {self.base_url} stalled: no chunk for "
                    f"idle_timeout={idle:g}s",
                    partial=partial,
                    partial_reasoning=reasoning,
                    request_id=request_id,
                ) from None
            raise
        except httpx.HTTPError as exc:
            if not started:
                error = ProtocolError(
                    f"{self.base_url} closed the stream before sending anything: {exc}"
                )
                raise error from exc
            raise StreamDisconnectedError(
                f"connection to {self.base_url} lost mid-stream: {exc or type(exc).__name__}",
                partial="".join(contents[0]),
                partial_reasoning="".join(reasonings[0]),
                request_id=request_id,
            ) from exc
        except AgentDeckError as error:
            error._body_started = True  # type: ignore[attr-defined]
            raise
        finally:
            watchdog.expiry = None
            await response.aclose()
        if unfinished:
            missing = [str(i) for i, r in enumerate(finish) if r is None]
            error = TruncatedStreamError(
                f"stream from {self.base_url} ended before a finish reason for choice "
                f"{', '.join(missing)} (connection cut by a proxy or a server crash?)",
                partial="".join(contents[0]),
                partial_reasoning="".join(reasonings[0]),
                request_id=request_id,
            )
            error._body_started = started  # type: ignore[attr-defined]
            raise error
        end = now()
        parsed_usage = _usage(usage)
        results = tuple(
            ChoiceResult(i, "".join(contents[i]), "".join(reasonings[i]), finish[i])
            for i in range(n)
        )
        completion = Completion(
            choices=results,
            usage=parsed_usage,
            metrics=clock.result(parsed_usage.completion_tokens if parsed_usage else None, end),
            model=model,
            request_id=request_id,
        )
        result.append(completion)


async def _drain(chunks: AsyncIterator[bytes], watchdog: Watchdog) -> None:
    """Read the body's end after ``[DONE]`` so the connection can be reused.

    Bounded by a short deadline: a server that keeps the connection open after ``[DONE]``
    costs us that connection, never the answer we already have.
    """
    watchdog.arm(watchdog.time() + _DRAIN_TIMEOUT, "drain")
    try:
        async for _ in chunks:
            pass
    except asyncio.CancelledError:
        if watchdog.fired != "drain" or not watchdog.absorb():
            raise
    except httpx.HTTPError:
        pass  # the answer is complete; a bad ending only costs the connection
    finally:
        watchdog.expiry = None


def _iter_body(response: httpx.Response) -> AsyncIterator[bytes]:
    encoding = response.headers.get("content-encoding", "identity").lower()
    iterator = response.aiter_raw() if encoding == "identity" else response.aiter_bytes()
    return iterator.__aiter__()


def _grow(index: int, *lists: list[Any]) -> None:
    contents, reasonings, finish = lists
    while len(finish) <= index:
        contents.append([])
        reasonings.append([])
        finish.append(None)


def _usage(raw: dict[str, Any] | None) -> Usage | None:
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


def _snippet(data: bytes, limit: int = 120) -> str:
    text = data.decode("utf-8", "replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    """Up to ``limit`` bytes of an error body (a proxy's error page can be huge)."""
    parts: list[bytes] = []
    size = 0
    async for part in response.aiter_bytes():
        parts.append(part)
        size += len(part)
        if size >= limit:
            break
    return b"".join(parts)[:limit]
