"""``VLLMModel``: the streaming chat-completions client for vLLM and OpenAI-compatible servers.

Transport: one ``aiohttp.ClientSession`` per model object (created on first use, inside the
running loop), HTTP/1.1, no redirects, a connection limit and no pool timeout. aiohttp rather
than httpx because its C HTTP parser costs a few microseconds per streamed chunk where
httpx+h11 cost ~25 us: measured on vLLM-framed streams (one HTTP chunk per event), httpx could
not get 10x below the openai SDK nor carry 50k tokens/s on a fraction of a core.

The parts live beside it: ``endpoint`` (URL, credentials, proxies, TLS), ``sse`` (decoding),
``stream`` (the hot loop), ``retry`` (policy), ``http_errors`` (translation), ``gate`` (spreads
opens over loop turns), ``metrics`` (timings), ``watchdog`` (first-token and idle deadlines),
``routes`` (models, health, /metrics, tokenize).
"""

from __future__ import annotations

import asyncio
import copy
import ssl
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from .. import __version__
from ..errors import AgentDeckError, ConfigError, InputError, register_secret
from ..events import Retrying, StreamEvent, StreamFinished
from ..types import ChatMessage, Completion, GenerationParams
from .endpoint import env_proxy, normalize_api_url, split_userinfo, ssl_setting
from .gate import OpenGate
from .http_errors import (
    TRANSPORT_ERRORS,
    error_from_status,
    error_from_transport,
    looks_like_unknown_model,
    parse_error_body,
)
from .metrics import StreamClock
from .model import BaseModel
from .retry import RetryPolicy
from .routes import ServerInfoMixin
from .stream import (
    first_token_error,
    read_events,
    read_not_a_stream,
    read_whole_reply,
)
from .watchdog import Watchdog

__all__ = ["VLLMModel"]

_ERROR_BODY_LIMIT = 64 * 1024


class VLLMModel(ServerInfoMixin, BaseModel):
    """Streams chat completions from vLLM or any OpenAI-compatible ``/v1`` endpoint.

    Args:
        model_name: the served model name (``GET /v1/models`` lists them).
        api_url: server URL, with or without ``/v1`` and trailing slash. A ``user:pass@`` in
            it is taken out of the URL and sent as HTTP Basic auth when there is no
            ``api_key``; with an ``api_key`` the Bearer key wins and the userinfo is dropped
            (one request cannot carry both). The password never appears in any message.
        api_key: sent as ``Authorization: Bearer``; never appears in any message.
        connect_timeout: seconds to establish a connection.
        first_token_timeout: seconds from sending the request to the first content or
            reasoning token (a busy server queues requests: keep this generous).
        idle_timeout: longest silence between two chunks once text flows.
        max_attempts, backoff_base, backoff_max, retry_after_max: see ``RetryPolicy``.
        max_connections: connection limit; more concurrent streams wait, never time out.
        verify: TLS verification: True, False, a CA bundle path or an ``ssl.SSLContext``.
        default_params: generation params applied under every call's params.
        http_client: bring your own ``aiohttp.ClientSession`` (``close_client`` leaves it open).
    """

    strict_stream = True  # a server's stream without a finish reason is a TruncatedStreamError

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
        http_client: aiohttp.ClientSession | None = None,
    ) -> None:
        if not model_name:
            raise ConfigError("model name is empty: pass the served model name", key="model")
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("first_token_timeout", first_token_timeout),
            ("idle_timeout", idle_timeout),
            ("max_connections", max_connections),
        ):
            if not value > 0:
                raise ConfigError(f"{name} must be a positive number, got {value}", key=name)
        if http_client is not None and not isinstance(http_client, aiohttp.ClientSession):
            raise ConfigError("http_client must be an aiohttp.ClientSession", key="http_client")
        self.model_name = model_name
        url, user, password = split_userinfo((api_url or "").strip())
        register_secret(password)  # before anything can quote it
        self.root_url, self.base_url = normalize_api_url(url)
        self.api_key = api_key or None
        register_secret(self.api_key)
        self.connect_timeout = float(connect_timeout)
        self.first_token_timeout = float(first_token_timeout)
        self.idle_timeout = float(idle_timeout)
        self.max_connections = int(max_connections)
        self.retry = RetryPolicy(max_attempts, backoff_base, backoff_max, retry_after_max)
        self.default_params = default_params
        self._ssl = ssl_setting(verify)
        self._chat_url = self.base_url + "/chat/completions"
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            # identity: a compressing proxy would hold SSE chunks back until a block fills.
            "Accept-Encoding": "identity",
            "User-Agent": f"agentdeck/{__version__}",
        }
        if self.api_key:
            self._headers["Authorization"] = f"Bearer {self.api_key}"
        elif user is not None or password is not None:
            basic = aiohttp.encode_basic_auth(user or "", password or "")
            register_secret(basic.split(" ", 1)[1])
            self._headers["Authorization"] = basic
        self._own_session = http_client is None
        self._session_obj: aiohttp.ClientSession | None = http_client
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._proxies: dict[str, dict[str, Any]] = {}
        self._gate = OpenGate()

    def __repr__(self) -> str:
        return f"VLLMModel({self.model_name!r}, {self.base_url!r})"

    def _session(self) -> aiohttp.ClientSession:
        """The session, created on first use inside the running loop (aiohttp requires it)."""
        session = self._session_obj
        loop = asyncio.get_running_loop()
        if session is not None and self._own_session and self._session_loop is not loop:
            # Used from a new event loop (a second asyncio.run): the old session's
            # connections died with their loop; let it go without touching that loop.
            session.detach()
            session = None
        if session is None or (self._own_session and session.closed):
            self._session_loop = loop
            connector = aiohttp.TCPConnector(limit=self.max_connections, ssl=self._ssl)
            session = aiohttp.ClientSession(
                connector=connector,
                # No total/read cap and no pool wait cap: long generations and deep queues are
                # fine; the first-token and idle deadlines are ours (watchdog).
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=None, sock_connect=self.connect_timeout, sock_read=None
                ),
                trust_env=False,  # no ~/.netrc; proxies come from _proxy_for (env vars)
            )
            self._session_obj = session
            self._proxies.clear()  # a new session reads the proxy settings afresh
        return session

    def _proxy_for(self, url: str) -> dict[str, Any]:
        """Request options honouring HTTP(S)_PROXY / NO_PROXY; read once per URL per session."""
        options = self._proxies.get(url)
        if options is None:
            options = self._proxies[url] = env_proxy(url)
        return options

    async def close_client(self) -> None:
        """Close the connections (only when this object created them). Safe to call twice."""
        if self._own_session and self._session_obj is not None:
            session, self._session_obj = self._session_obj, None
            await session.close()

    def with_model(self, model_name: str) -> VLLMModel:
        """This endpoint (URL, key, TLS, timeouts, retries) for another model it serves.

        vLLM serves several models and LoRA adapters behind one URL; compare puts them side by
        side. The copy opens its own connections (or shares a session it was given).
        """
        if not model_name:
            raise ConfigError("model name is empty: pass the served model name", key="model")
        clone = copy.copy(self)
        clone.model_name = model_name
        if self._own_session:
            clone._session_obj, clone._session_loop = None, None
        clone._proxies, clone._gate = {}, OpenGate()
        return clone

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
            TransportError, APIStatusError: before any text, once the retries ran out or when a
                resend cannot help; ``FirstTokenTimeoutError`` is never retried.
            StreamError: after text began; ``partial``/``partial_reasoning`` hold choice 0's.
        """
        p = self._params(params, kwargs)
        payload = self._payload(messages, p)
        n = p.n or 1
        policy = self.retry
        watchdog = Watchdog(self.idle_timeout)
        result: list[Completion] = []
        attempt = 0
        try:
            while True:
                attempt += 1
                clock = StreamClock()
                try:
                    response = await self._open(payload, watchdog)
                    # An event stream is decoded as SSE, a JSON reply (a server ignoring
                    # stream=true) is read whole; anything else is not an API answer.
                    ctype = response.content_type
                    if ctype == "text/event-stream":
                        reader = read_events
                    elif ctype == "application/json" or ctype.endswith("+json"):
                        reader = read_whole_reply
                    else:
                        reader = read_not_a_stream
                    events = reader(
                        response, n, watchdog, clock, result,
                        base_url=self.base_url,
                        first_token_timeout=self.first_token_timeout,
                        idle_timeout=self.idle_timeout,
                    )  # fmt: skip
                    async with aclosing(events):
                        async for event in events:
                            yield event
                    break
                except AgentDeckError as error:
                    if (
                        attempt >= policy.max_attempts
                        or error.body_started
                        or not policy.retryable(error)
                    ):
                        raise
                    delay = policy.delay(attempt, error.headers)
                    reason = str(error)
                yield Retrying(attempt, policy.max_attempts, delay, reason)
                await asyncio.sleep(delay)
        finally:
            watchdog.close()
        # Everything is released before the last event: a caller that stops iterating at
        # StreamFinished (as complete() does) leaves nothing open behind it.
        yield StreamFinished(result[0])

    async def _open(self, payload: bytes, watchdog: Watchdog) -> aiohttp.ClientResponse:
        """Send the request; return a 2xx streaming response or raise a translated error."""
        watchdog.arm(watchdog.time() + self.first_token_timeout, "first token")
        try:
            await self._gate.enter()
            session = self._session()
            response = await session.post(
                self._chat_url,
                data=payload,
                headers=self._headers,
                allow_redirects=False,
                **self._proxy_for(self._chat_url),
            )
        except asyncio.CancelledError:
            if watchdog.absorb():
                raise first_token_error(self.base_url, self.first_token_timeout) from None
            raise
        except TRANSPORT_ERRORS as exc:
            raise error_from_transport(exc, self._chat_url) from exc
        finally:
            watchdog.expiry = None
        if response.status < 300:
            return response
        try:
            body = await asyncio.wait_for(_read_limited(response), self.idle_timeout)
        except (*TRANSPORT_ERRORS, asyncio.TimeoutError):
            body = b""  # the status alone still says what went wrong
        finally:
            response.close()
        raise await self._status_error(response, body)

    async def _status_error(self, response: aiohttp.ClientResponse, body: bytes) -> AgentDeckError:
        message, parsed = parse_error_body(body)
        available = None
        if looks_like_unknown_model(response.status, parsed, message):
            try:
                available = [str(m.get("id", "?")) for m in await self.list_models()]
            except AgentDeckError:
                available = None
        return error_from_status(
            response.status,
            response.reason,
            response.method,
            str(response.url),
            response.headers,
            body,
            key_sent="Authorization" in self._headers,
            model=self.model_name,
            available=available,
        )


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    """Up to ``_ERROR_BODY_LIMIT`` bytes of an error body (a proxy's page can be huge)."""
    parts: list[bytes] = []
    size = 0
    while size < _ERROR_BODY_LIMIT:
        part = await response.content.read(_ERROR_BODY_LIMIT - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)
