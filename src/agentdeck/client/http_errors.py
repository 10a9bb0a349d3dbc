"""The one place where HTTP failures become ``agentdeck.errors`` exceptions.

Server error bodies come in several shapes and all are read here: OpenAI's and vLLM's
``{"error": {"message", "type", "param", "code"}}``, vLLM's bare ``{"error": "Unauthorized"}``,
FastAPI's ``{"detail": ...}`` (a string or a list of validation errors), an old flat
``{"object": "error", "message": ...}``, and non-JSON bodies (an HTML page from a proxy, which
usually means the URL does not point at an OpenAI-compatible server). aiohttp exceptions are
translated here too; callers chain them with ``raise ... from exc`` (httpx's own
``map_httpcore_exceptions`` pattern).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
from aiohttp.http_exceptions import ContentLengthError, TransferEncodingError

from ..errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectError,
    ConnectTimeoutError,
    ContextLengthError,
    ModelNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ReadTimeoutError,
    ServerError,
    TransportError,
    redact,
)

TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
"""What the HTTP layer raises for network trouble (everything ``error_from_transport`` reads)."""

__all__ = [
    "KEY_HINT",
    "TRANSPORT_ERRORS",
    "URL_SETTING",
    "cut_reason",
    "error_from_status",
    "error_from_transport",
    "looks_like_unknown_model",
    "model_not_found",
    "parse_error_body",
    "request_id_of",
    "snippet",
    "timeout_setting",
]

KEY_HINT = (
    "set AGENTDECK_API_KEY, --api-key-env VAR, or the profile's api_key / api_key_env in "
    "config.toml (VLLM_API_KEY goes with VLLM_API_URL, OPENAI_API_KEY with OPENAI_BASE_URL)"
)
"""Where a user fixes the API key; named by every 401/403 message. A key follows its endpoint
(``config.precedence``), so the other tools' key variables are named with their URL variable."""

URL_SETTING = "--base-url, VLLM_API_URL or the profile's base_url"
"""Where a user sets the server URL: the flag, the environment variable and the config file's
key (``api_url`` is only the Python parameter's name, no setting)."""


def timeout_setting(name: str) -> str:
    """Where a user sets timeout ``name`` (``connect``, ``first_token``, ``idle``): the flag
    and the config file's key, as ``URL_SETTING`` names the URL's."""
    return f"--{name.replace('_', '-')}-timeout or the profile's timeouts.{name}"


_CONTEXT_RE = re.compile(
    r"maximum context length|context length|cannot be greater than max_model_len"
    r"|max_model_len|too many tokens|prompt is too long",
    re.IGNORECASE,
)
_ERRNO_RE = re.compile(r"\[Errno (\d+)\]")
_MODEL_RE = re.compile(r"model .*(does not exist|not found)|no such model", re.IGNORECASE)
_SNIPPET = 200


def request_id_of(headers: Mapping[str, str] | None) -> str | None:
    """The server's request id header, when it sent one."""
    if headers is None:
        return None
    value = headers.get("x-request-id") or headers.get("request-id")
    return redact(value) if value else None


def parse_error_body(body: bytes) -> tuple[str | None, Any]:
    """``(message, parsed body)`` for any error body; message None when there is none in it."""
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None, body.decode("utf-8", "replace")
    return _message_of(parsed), parsed


def _message_of(parsed: Any) -> str | None:
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            return str(message) if message is not None else _compact(error)
        if isinstance(error, str):
            return error
        if "detail" in parsed:
            detail = parsed["detail"]
            if isinstance(detail, list):  # FastAPI validation errors
                return "; ".join(_validation_item(d) for d in detail)
            return str(detail)
        if parsed.get("object") == "error" and "message" in parsed:
            return str(parsed["message"])
        if isinstance(parsed.get("message"), str):
            return parsed["message"]
    if isinstance(parsed, str):
        return parsed
    return None


def _validation_item(item: Any) -> str:
    if isinstance(item, dict):
        loc = ".".join(str(p) for p in item.get("loc", ()))
        return f"{loc}: {item.get('msg', item)}" if loc else str(item.get("msg", item))
    return str(item)


def _compact(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def snippet(text: str, limit: int = _SNIPPET) -> str:
    """The start of ``text`` on one line (whitespace runs become one space), for a message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


def looks_like_unknown_model(status: int, parsed: Any, message: str | None) -> bool:
    """True for a 404 (or 400) that says the model does not exist, not that the route does."""
    if status not in (400, 404) or not message:
        return False
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and error.get("param") == "model":
        return True
    return bool(_MODEL_RE.search(message))


def error_from_status(
    status: int,
    reason: str | None,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    key_sent: bool,
    model: str | None = None,
    available: list[str] | None = None,
) -> APIStatusError:
    """Translate an error response (status >= 300, body already read) into a typed error.

    Args:
        key_sent: whether an Authorization header went out (changes the 401 advice).
        model: the requested model, named in an unknown-model message.
        available: models the server serves, when the caller looked them up (404 model).
    """
    where = f"{method} {url}"
    host = url.split("://", 1)[-1].split("/", 1)[0]
    message, parsed = parse_error_body(body)
    kw: dict[str, Any] = {"status": status, "request_id": request_id_of(headers)}
    kw["body"] = parsed
    kw["headers"] = headers  # Retry-After, read by RetryPolicy
    said = f": {message}" if message else ""
    reason = f"{status} {reason or ''}".rstrip()

    if 300 <= status < 400:
        location = headers.get("location", "?")
        return APIStatusError(
            f"{where} answered {reason} redirecting to {location}; redirects are not followed "
            f"(the API key must not go to another address): set {URL_SETTING} to the final URL",
            **kw,
        )
    not_json = message is None and isinstance(parsed, str) and parsed.strip() != ""
    if not_json:
        said = f": {snippet(parsed)}"
    if status in (401, 403):
        cls = AuthenticationError if status == 401 else PermissionDeniedError
        sent = "the API key was rejected" if key_sent else "no API key was sent"
        return cls(f"{reason} from {host}{said} ({sent}): {KEY_HINT}", **kw)
    if not_json:
        return _status_class(status)(
            f"{where} answered {reason} with a non-JSON body (not an OpenAI-compatible "
            f"server? check {URL_SETTING}){said}",
            **kw,
        )
    if looks_like_unknown_model(status, parsed, message):
        return ModelNotFoundError(
            model_not_found(model, _base_of(url), available, message), available=available, **kw
        )
    if status == 404:
        return NotFoundError(
            f"{where} answered {reason}{said} (is {URL_SETTING} the server's /v1 URL?)", **kw
        )
    if status in (400, 413, 422) and message and _CONTEXT_RE.search(message):
        return ContextLengthError(
            f"the request does not fit the model's context window{said}", **kw
        )
    return _status_class(status)(f"{where} answered {reason}{said}", **kw)


def model_not_found(model: str | None, base_url: str, served: list[str] | None,
                    said: str | None = None, hint: str = "--model picks one") -> str:
    """The one message for a model the server does not serve: the served names, and how to
    pick one. What the server said is added only when it tells more than the list: no list,
    or a list that names the model anyway (a vLLM that says "Valid aliases: ..." repeats it)."""
    names = ", ".join(served) if served else "unknown (GET /v1/models failed)"
    tells_more = said and (not served or model in served)
    why = f" (the server said: {said.rstrip('.')})" if tells_more else ""
    return f"model {model!r} is not served at {base_url}{why}. Served models: {names} ({hint})"


def _base_of(url: str) -> str:
    return url.rsplit("/chat/completions", 1)[0]


def _status_class(status: int) -> type[APIStatusError]:
    if status in (400, 422):
        return BadRequestError
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status in (408, 409):
        return ConflictError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return APIStatusError


def error_from_transport(exc: BaseException, url: str) -> TransportError:
    """Translate an aiohttp/OS exception raised before any response (the caller chains it).

    An untrusted certificate or an unknown host name is ``final``: resending cannot fix
    either, so ``RetryPolicy`` does not retry it. aiohttp's own texts are not shown where they
    mislead: "ssl:default" for a plain http:// URL, a "400" for a reply that is not HTTP.
    """
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ConnectError(
            f"TLS certificate of {url} not trusted: {detail} (set the profile's ca_bundle, "
            "or verify_tls = false if you really must)",
            final=True,
        )
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return ConnectError(
            f"cannot resolve host {exc.host or url} for {url}: {_os_reason(exc.os_error)} "
            f"(check the host name in {URL_SETTING})",
            final=True,
        )
    if isinstance(exc, (aiohttp.ClientSSLError, aiohttp.ClientConnectorSSLError)):
        return ConnectError(f"TLS handshake with {url} failed: {detail}")
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return ConnectError(f"proxy failed for {url}: {_refused(exc, url)}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(
            f"cannot connect to {url}: {_refused(exc, url)} (is the server running?)"
        )
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeoutError(f"connecting to {url} timed out "
                                   f"({timeout_setting('connect')})")
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        # A read or total deadline: the connection was made, the answer did not come.
        return ReadTimeoutError(f"{url} accepted the connection but did not answer in time "
                                "(server overloaded or stuck?)")
    if isinstance(exc, aiohttp.InvalidURL):
        return ConnectError(f"invalid URL {url}: {detail} (use http:// or https://)")
    if isinstance(exc, aiohttp.ClientResponseError):
        said = snippet(exc.message) if exc.message else detail  # its "400" is aiohttp's own
        return ProtocolError(
            f"{url} did not answer with valid HTTP ({said}): not an OpenAI-compatible server?"
        )
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientConnectionError,
                        aiohttp.ClientPayloadError, ConnectionError)):
        return ProtocolError(f"{url} closed the connection before answering: {cut_reason(exc)}")
    return ProtocolError(f"{url}: {type(exc).__name__}: {detail}")


def cut_reason(exc: BaseException) -> str:
    """Why a response ended early, in words: aiohttp's text for a cut chunked body reads
    ``<TransferEncodingError: 400, ...>``, and that 400 is no HTTP status."""
    if isinstance(exc, aiohttp.ClientPayloadError):
        if isinstance(exc.__cause__, TransferEncodingError):
            return "chunked body incomplete"
        if isinstance(exc.__cause__, ContentLengthError):
            return "body shorter than its Content-Length"
    if isinstance(exc, OSError) and exc.errno:
        return _os_reason(exc)
    return str(exc) or type(exc).__name__


def _refused(exc: aiohttp.ClientConnectorError, url: str) -> str:
    """``REASON at HOST:PORT``. Not aiohttp's ``ssl:default``: it is printed for http:// too,
    and even with verify_tls = false (this client sets TLS on the connector, not the request)."""
    host = f"[{exc.host}]" if ":" in exc.host else exc.host
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return f"{_os_reason(exc.os_error)} at the proxy {host}:{exc.port}"
    tls = " over TLS" if url.startswith("https://") else ""
    return f"{_os_reason(exc.os_error)} at {host}:{exc.port}{tls}"


def _os_reason(err: OSError) -> str:
    """The OS's words ("Connection refused"), not asyncio's "Connect call failed (addr)"."""
    if err.errno is not None and err.errno < 0:  # getaddrinfo's codes, not errno's
        return err.strerror or str(err)
    codes = [err.errno] if err.errno else [int(c) for c in _ERRNO_RE.findall(str(err))]
    if codes:  # several addresses tried (IPv6 and IPv4): each distinct reason once
        return "; ".join(dict.fromkeys(os.strerror(c) for c in codes))
    return str(err) or type(err).__name__
