"""Server helpers for ``VLLMModel``: models, health, vLLM's /metrics gauges, tokenize.

vLLM serves ``/v1/models`` (with ``max_model_len``), and at the server root (not under
``/v1``) ``/health``, ``/metrics`` (Prometheus text), ``/tokenize`` and ``/detokenize``.
Other OpenAI-compatible servers may lack the root ones: those helpers then return None.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

from ..errors import AgentDeckError, ProtocolError
from .http_errors import (
    TRANSPORT_ERRORS,
    error_from_status,
    error_from_transport,
    looks_like_unknown_model,
    parse_error_body,
)

__all__ = ["GAUGES", "ServerInfoMixin", "parse_prometheus_gauges"]

_HELPER_TIMEOUT = 30.0

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

    async def _call(
        self, method: str, url: str, body: dict[str, Any] | None = None, *, none_on_404=False
    ) -> bytes | None:
        """The body of a successful response; None for a missing route when asked."""
        headers = {k: v for k, v in self._headers.items() if k != "Accept"}
        timeout = aiohttp.ClientTimeout(total=_HELPER_TIMEOUT, sock_connect=self.connect_timeout)
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
                content = await response.read()
                status, reason, resp_headers = response.status, response.reason, response.headers
        except TRANSPORT_ERRORS as exc:
            raise error_from_transport(exc, url) from exc
        if status == 404 and none_on_404:
            message, parsed = parse_error_body(content)
            if not looks_like_unknown_model(404, parsed, message):
                return None  # the route is missing: not a vLLM server
        if status >= 300:
            raise error_from_status(
                status, reason, method, url, resp_headers, content,
                key_sent=bool(self.api_key), model=self.model_name,
            )  # fmt: skip
        return content

    async def _json(self, method: str, url: str, body: dict[str, Any] | None = None, **kw) -> Any:
        content = await self._call(method, url, body, **kw)
        if content is None:
            return None
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise ProtocolError(
                f"{url} answered 200 with a non-JSON body (not an OpenAI-compatible server?)"
            ) from exc

    async def list_models(self) -> list[dict[str, Any]]:
        """``GET /v1/models`` entries: each has ``id``; vLLM adds ``max_model_len``."""
        url = self.base_url + "/models"
        parsed = await self._json("GET", url)
        data = parsed.get("data") if isinstance(parsed, dict) else None
        if not isinstance(data, list):
            raise ProtocolError(f"{url} did not return a model list: {str(parsed)[:120]}")
        return [m for m in data if isinstance(m, dict)]

    async def max_model_len(self) -> int | None:
        """This model's context window from ``/v1/models``, None when the server does not say."""
        for entry in await self.list_models():
            if entry.get("id") == self.model_name:
                value = entry.get("max_model_len")
                return value if isinstance(value, int) else None
        return None

    async def health(self) -> float:
        """Seconds ``GET /health`` took; raises a typed error when the server is not healthy."""
        start = time.perf_counter()
        await self._call("GET", self.root_url + "/health")
        return time.perf_counter() - start

    async def server_metrics(self) -> dict[str, float] | None:
        """vLLM's load gauges: ``running``, ``waiting`` (requests), ``kv_cache_usage`` (0..1).

        None on servers without a Prometheus ``/metrics`` carrying them.
        """
        try:
            content = await self._call("GET", self.root_url + "/metrics", none_on_404=True)
        except AgentDeckError as error:
            if error.status in (401, 403, 405):
                return None
            raise
        if content is None:
            return None
        found = parse_prometheus_gauges(content.decode("utf-8", "replace"))
        return found or None

    async def tokenize(self, text: str) -> list[int] | None:
        """Token ids of ``text`` (vLLM's ``POST /tokenize``); None on servers without it."""
        parsed = await self._json(
            "POST",
            self.root_url + "/tokenize",
            {"model": self.model_name, "prompt": text},
            none_on_404=True,
        )
        if parsed is None:
            return None
        tokens = parsed.get("tokens") if isinstance(parsed, dict) else None
        if not isinstance(tokens, list):
            raise ProtocolError(f"/tokenize answered without a token list: {str(parsed)[:120]}")
        return tokens

    async def detokenize(self, tokens: list[int]) -> str | None:
        """Text of ``tokens`` (vLLM's ``POST /detokenize``); None on servers without it."""
        parsed = await self._json(
            "POST",
            self.root_url + "/detokenize",
            {"model": self.model_name, "tokens": list(tokens)},
            none_on_404=True,
        )
        if parsed is None:
            return None
        prompt = parsed.get("prompt") if isinstance(parsed, dict) else None
        if not isinstance(prompt, str):
            raise ProtocolError(f"/detokenize answered without a prompt: {str(parsed)[:120]}")
        return prompt
