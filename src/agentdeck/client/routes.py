"""Server helpers for ``VLLMModel``: models, health, vLLM's /metrics gauges, tokenize.

vLLM serves ``/v1/models`` (with ``max_model_len``), and at the server root (not under
``/v1``) ``/health``, ``/metrics`` (Prometheus text), ``/tokenize`` and ``/detokenize``.
Those extras are optional: other servers lack them, and a proxy's catch-all route may answer
them with a 404, an HTML page or a stream. Any such answer, a wrong JSON shape or a timeout makes
the helper return None (callers fall back: character estimate, no gauges, no window), logged
once per model and route. Only an unreachable server or an unknown model still raises.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import aiohttp
import orjson

from ..errors import (
    AgentDeckError,
    APIStatusError,
    ConnectError,
    ConnectTimeoutError,
    ModelNotFoundError,
    ProtocolError,
    redact,
)
from ..textsafe import neutralize
from .http_errors import (
    TRANSPORT_ERRORS,
    error_from_status,
    error_from_transport,
    snippet,
)

__all__ = ["GAUGES", "ServerInfoMixin", "parse_prometheus_gauges"]

log = logging.getLogger("agentdeck.client")

T = TypeVar("T")

_NOT_JSON = ("text/html", "text/event-stream")
"""Content types a proxy's catch-all answers with: the body is not read at all (a stream
would never end)."""

FALLBACKS = {
    "/tokenize": "token counts are estimated from characters",
    "/detokenize": "texts are cut by a character estimate",
    "/metrics": "no load gauges",
    "/health": "health is timed on /v1/models",
    "max_model_len": "the context window is unknown",
}
"""What a run does without each optional extra, for the one warning."""


_UNREACHABLE = (ConnectError, ConnectTimeoutError, ModelNotFoundError)
"""Failures an optional route does not hide: the run cannot work either."""


class OddAnswer(Exception):
    """An optional route answered with something other than vLLM's (never leaves this module)."""

GAUGES = {
    "vllm:num_requests_running": "running",
    "vllm:num_requests_waiting": "waiting",
    "vllm:kv_cache_usage_perc": "kv_cache_usage",
    "vllm:gpu_cache_usage_perc": "kv_cache_usage",  # name before vLLM 0.10
}
"""vLLM gauge name -> key in ``server_metrics()``'s result."""


def parse_prometheus_gauges(text: str, wanted: dict[str, str] = GAUGES) -> dict[str, float]:
    """Sum the samples of the wanted gauges over their label sets (one per engine/model).

    Only the three plain gauges are read, so a line parser is enough: ``name{labels} value``.
    """
    found: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("vllm:"):
            continue
        brace = line.find("{")
        name = line[:brace] if brace >= 0 else line.split(" ", 1)[0]
        key = wanted.get(name)
        if key is None:
            continue
        value_part = line[line.rfind("}") + 1 :] if brace >= 0 else line[len(name) :]
        fields = value_part.split()
        if not fields:
            continue
        try:
            value = float(fields[0])
        except ValueError:
            continue
        if math.isfinite(value):
            found[key] = found.get(key, 0.0) + value
    return found


class ServerInfoMixin:
    """Helpers that ask the server about itself; mixed into ``VLLMModel``."""

    _headers: dict[str, str]
    root_url: str
    base_url: str
    model_name: str
    api_key: str | None
    connect_timeout: float
    _session: Callable[[], aiohttp.ClientSession]
    """Provided by ``VLLMModel``: its session, created on first use."""
    _proxy_for: Callable[[str], dict[str, Any]]
    """Provided by ``VLLMModel``: ``proxy=`` options for a URL (HTTP(S)_PROXY / NO_PROXY)."""
    helper_timeout: float = 30.0
    """Seconds one helper request may take, answer included."""
    _warned_routes: frozenset[str] = frozenset()
    """The optional routes already reported as absent or odd (one warning each)."""

    async def _call(self, method: str, url: str, body: dict[str, Any] | None = None, *,
                    optional: bool = False) -> bytes:
        """The body of a successful response.

        Raises:
            OddAnswer: a 2xx that is a page or a stream (body left unread); for an
                ``optional`` route also no answer in time once connected.
            AgentDeckError: the typed error of a failed request or status.
        """
        headers = {k: v for k, v in self._headers.items() if k != "Accept"}
        timeout = aiohttp.ClientTimeout(total=self.helper_timeout,
                                        sock_connect=self.connect_timeout)
        try:
            async with self._session().request(
                method,
                url,
                data=orjson.dumps(body) if body is not None else None,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                **self._proxy_for(url),
            ) as response:
                status, reason, resp_headers = response.status, response.reason, response.headers
                if status < 300 and response.content_type in _NOT_JSON:
                    raise OddAnswer(f"answered {status} with {response.content_type}")
                content = await response.read()
        except TRANSPORT_ERRORS as exc:
            if optional and isinstance(exc, TimeoutError) and not isinstance(
                exc, aiohttp.ConnectionTimeoutError
            ):
                raise OddAnswer(f"gave no answer within {self.helper_timeout:g} s") from exc
            raise error_from_transport(exc, url) from exc
        if status >= 300:
            raise error_from_status(
                status, reason, method, url, resp_headers, content,
                key_sent=bool(self.api_key), model=self.model_name,
            )  # fmt: skip
        return content

    async def _json(self, method: str, url: str, *, optional: bool = False) -> Any:
        try:
            return orjson.loads(await self._call(method, url, optional=optional))
        except (OddAnswer, orjson.JSONDecodeError) as exc:
            if optional and isinstance(exc, OddAnswer):
                raise
            raise ProtocolError(
                f"{url} answered 200 with a non-JSON body (not an OpenAI-compatible server?)"
            ) from exc

    async def _optional(self, route: str, method: str, url: str, body: dict[str, Any] | None,
                        read: Callable[[bytes], T | None]) -> T | None:
        """``read(answer)`` of an optional route; None when the answer is absent or odd.

        Raises:
            ConnectError: the server cannot be reached at all.
            ModelNotFoundError: the server does not serve this model.
        """
        try:
            content = await self._call(method, url, body, optional=True)
            found = read(content)
            if found is None:
                raise OddAnswer(f"answered {_snippet(content)}")
            return found
        except _UNREACHABLE:
            raise
        except (AgentDeckError, OddAnswer) as exc:
            self._degrade(route, exc)
            return None

    def _degrade(self, route: str, exc: BaseException) -> None:
        """Log once per model and route that the run goes on without ``route``."""
        if route in self._warned_routes:
            return
        self._warned_routes = self._warned_routes | {route}
        if isinstance(exc, APIStatusError) and exc.status in (401, 403):
            return  # the request itself fails with the key's own message: one line, not two
        if isinstance(exc, APIStatusError) and exc.status:
            why = f"answered HTTP {exc.status}"
        elif isinstance(exc, AgentDeckError):
            why = f"failed ({type(exc).__name__})"
        else:
            why = str(exc)
        log.warning("%s at %s: %s %s; going on without it: %s", self.model_name,
                    self.root_url, route, why, FALLBACKS[route])

    async def list_models(self) -> list[dict[str, Any]]:
        """``GET /v1/models`` entries: each has ``id``; vLLM adds ``max_model_len``."""
        return await self._models()

    async def _models(self, *, optional: bool = False) -> list[dict[str, Any]]:
        url = self.base_url + "/models"
        parsed = await self._json("GET", url, optional=optional)
        data = parsed.get("data") if isinstance(parsed, dict) else None
        if not isinstance(data, list):
            raise ProtocolError(f"{url} did not return a model list: {str(parsed)[:120]}")
        return [m for m in data if isinstance(m, dict)]

    async def max_model_len(self) -> int | None:
        """This model's context window from ``/v1/models``, None when the server does not say."""
        try:
            listing = await self._models(optional=True)
        except _UNREACHABLE:
            raise
        except (AgentDeckError, OddAnswer) as exc:
            self._degrade("max_model_len", exc)
            return None
        for entry in listing:
            if entry.get("id") == self.model_name and "max_model_len" in entry:
                value = entry["max_model_len"]
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    return value
                self._degrade("max_model_len", OddAnswer(f"is {str(value)[:40]!r}"))
        return None

    async def health(self) -> float | None:
        """Seconds ``GET /health`` took; None when the server has no health route of its own
        (404, a catch-all page or stream, no answer in time).

        Raises:
            AgentDeckError: the server is unreachable or says it is unhealthy.
        """
        url = self.root_url + "/health"
        start = time.perf_counter()
        try:
            await self._call("GET", url, optional=True)
        except OddAnswer as exc:
            self._degrade("/health", exc)
            return None
        except AgentDeckError as exc:
            if exc.status != 404 or isinstance(exc, ModelNotFoundError):
                raise
            self._degrade("/health", exc)
            return None
        return time.perf_counter() - start

    async def server_metrics(self) -> dict[str, float] | None:
        """vLLM's load gauges: ``running``, ``waiting`` (requests), ``kv_cache_usage`` (0..1).

        None on servers without a Prometheus ``/metrics`` carrying them.
        """
        return await self._optional(
            "/metrics", "GET", self.root_url + "/metrics", None,
            lambda content: parse_prometheus_gauges(content.decode("utf-8", "replace")) or None,
        )  # fmt: skip

    async def tokenize(self, text: str) -> list[int] | None:
        """Token ids of ``text`` (vLLM's ``POST /tokenize``); None on servers without it."""
        return await self._optional(
            "/tokenize", "POST", self.root_url + "/tokenize",
            {"model": self.model_name, "prompt": text},
            # No tokens for some text is an odd answer (llama.cpp's /tokenize wants "content"
            # and answers an empty list), never an exact count of 0.
            lambda content: _token_list(content) or (None if text else []),
        )  # fmt: skip

    async def detokenize(self, tokens: list[int]) -> str | None:
        """Text of ``tokens`` (vLLM's ``POST /detokenize``); None on servers without it."""
        return await self._optional(
            "/detokenize", "POST", self.root_url + "/detokenize",
            {"model": self.model_name, "tokens": list(tokens)}, _prompt,
        )  # fmt: skip


def _loads(content: bytes) -> Any:
    """Parsed JSON, or None when ``content`` is not JSON."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _token_list(content: bytes) -> list[int] | None:
    """The ``tokens`` of a /tokenize answer; None when it has none."""
    parsed = _loads(content)
    tokens = parsed.get("tokens") if isinstance(parsed, dict) else None
    if isinstance(tokens, list) and all(type(t) is int for t in tokens):
        return tokens
    return None


def _prompt(content: bytes) -> str | None:
    """The ``prompt`` of a /detokenize answer; None when it has none."""
    parsed = _loads(content)
    prompt = parsed.get("prompt") if isinstance(parsed, dict) else None
    return prompt if isinstance(prompt, str) else None


def _snippet(content: bytes) -> str:
    """A short, inert quote of an answer for the log (never a body dump)."""
    text = snippet(neutralize(redact(content[:80].decode("utf-8", "replace"))), 60)
    return repr(text) if text else "an empty body"
