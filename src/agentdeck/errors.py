"""The exception tree: every failure agentdeck reports is one of these.

    AgentDeckError
    ├── ConfigError                 settings file or value is wrong (path, line, key)
    │   └── ProfileNotFoundError
    ├── InputError                  bad user input: empty prompt, unreadable file, -n 0 ...
    ├── PluginError                 a plugin system failed to load, or raised while it ran
    ├── TransportError              no usable HTTP response (nothing came, or nothing in time)
    │   ├── ConnectError            host unreachable, refused, DNS, TLS
    │   ├── ConnectTimeoutError     no connection within the connect timeout
    │   ├── FirstTokenTimeoutError  no token before the first-token deadline
    │   ├── ReadTimeoutError        connected, but no answer in time (a helper request)
    │   └── ProtocolError           connection closed before the response, not HTTP
    ├── APIStatusError              the server answered with an error status
    │   ├── BadRequestError         400 / 422
    │   │   └── ContextLengthError  prompt (+ max_tokens) exceeds the model's context
    │   ├── AuthenticationError     401
    │   ├── PermissionDeniedError   403
    │   ├── NotFoundError           404 (route)
    │   │   └── ModelNotFoundError  404 for an unknown model; lists the served models
    │   ├── ConflictError           409 / 408
    │   ├── RateLimitError          429
    │   └── ServerError             5xx
    └── StreamError                 the stream broke after it began; partial text attached
        ├── StallError              no chunk within the idle timeout
        ├── StreamDisconnectedError connection lost mid-stream
        ├── TruncatedStreamError    stream ended without a finish reason for every choice
        ├── MalformedChunkError     a chunk that is not valid JSON / not a completion chunk
        └── ServerStreamError       an ``error`` object inside a 200 stream

Messages never contain the API key: ``redact`` is applied to every message built from
server or transport text. The facts the retry logic needs travel as declared fields of the
base class (``body_started``, ``final``, ``headers``), set by the client where it learns them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIStatusError",
    "AgentDeckError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "ConnectError",
    "ConnectTimeoutError",
    "ContextLengthError",
    "FirstTokenTimeoutError",
    "InputError",
    "MalformedChunkError",
    "ModelNotFoundError",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginError",
    "ProfileNotFoundError",
    "ProtocolError",
    "ReadTimeoutError",
    "RateLimitError",
    "ServerError",
    "ServerStreamError",
    "StallError",
    "StreamDisconnectedError",
    "StreamError",
    "TransportError",
    "TruncatedStreamError",
    "redact",
]

_SECRETS: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a secret (an API key) so every error message masks it.

    Process-wide on purpose: a key must never escape through any message, whichever
    client, profile or thread produced it.
    """
    if secret and len(secret) >= 4:
        _SECRETS.add(secret)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class AgentDeckError(Exception):
    """Base of every error agentdeck raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        body_started: bool = False,
        final: bool = False,
    ) -> None:
        self.message = redact(message)
        self.status = status
        """The HTTP status of an error response; None when there was none."""
        self.request_id = request_id
        self.body = body
        """The server's error body (parsed JSON when it was JSON)."""
        self.headers = headers
        """The error response's headers: ``RetryPolicy`` reads Retry-After from them."""
        self.body_started = body_started
        """A byte of the response body had arrived: a resend would not continue the text
        already delivered, so the request is not sent again."""
        self.final = final
        """A resend cannot fix this (an untrusted certificate, an unknown host): no retry."""
        super().__init__(self.message)

    def __str__(self) -> str:
        extra = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.message}{extra}"

    @property
    def kind(self) -> str:
        """Short class name for UIs and manifests, e.g. ``RateLimitError``."""
        return type(self).__name__


class ConfigError(AgentDeckError):
    """The settings file or a setting is wrong."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        self.path, self.line, self.column, self.key = path, line, column, key
        where = path or ""
        if path and line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        prefix = f"{where}: " if where else ""
        keypart = f"[{key}] " if key else ""
        super().__init__(f"{prefix}{keypart}{message}")


class ProfileNotFoundError(ConfigError):
    """A profile name that the config file does not define."""


class InputError(AgentDeckError):
    """User input that cannot be used: empty prompt, missing or binary file, bad count."""


class PluginError(AgentDeckError):
    """A plugin system failed to load, or raised an exception of its own while it ran."""

    def __init__(self, message: str, *, where: str = "", details: str = "") -> None:
        super().__init__(message)
        self.where = where
        """The plugin's file and line that raised (``.../systems/refine.py:12``), or ''."""
        self.details = redact(details)
        """The traceback, for a log or a run manifest ('' when there is none)."""


class TransportError(AgentDeckError):
    """No usable HTTP response came back."""


class ConnectError(TransportError):
    """The server could not be reached (refused, DNS, unreachable, TLS)."""


class ConnectTimeoutError(TransportError):
    """Connecting took longer than the connect timeout."""


class FirstTokenTimeoutError(TransportError):
    """No token arrived before the first-token deadline (so there is no partial text).

    A timeout before any answer, like ``ConnectTimeoutError``: the server may have sent
    headers or empty chunks, but nothing the user could read. Not retried: the deadline is
    how long the user agreed to wait, and a resend would start that wait over.
    """


class ReadTimeoutError(TransportError):
    """The server accepted the connection but sent no answer in time: not a connection
    failure (the CLI exits 1, as for any failed request, not 4)."""


class ProtocolError(TransportError):
    """The connection closed before a response, or the peer does not speak HTTP."""


class APIStatusError(AgentDeckError):
    """The server answered with an HTTP error status."""


class BadRequestError(APIStatusError):
    """400/422: the server rejected the request."""


class ContextLengthError(BadRequestError):
    """The prompt (plus max_tokens) does not fit the model's context window."""


class AuthenticationError(APIStatusError):
    """401: missing or wrong API key."""


class PermissionDeniedError(APIStatusError):
    """403: the key is not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: the route does not exist (is this an OpenAI-compatible server?)."""


class ModelNotFoundError(NotFoundError):
    """404 for a model the server does not serve."""

    def __init__(self, message: str, *, available: list[str] | None = None, **kw: Any) -> None:
        self.available = list(available or [])
        super().__init__(message, **kw)


class ConflictError(APIStatusError):
    """408/409: transient conflict or request timeout at the server."""


class RateLimitError(APIStatusError):
    """429: too many requests."""


class ServerError(APIStatusError):
    """5xx: the server failed."""


class StreamError(AgentDeckError):
    """The stream broke after it began; ``partial`` holds what had arrived."""

    def __init__(
        self,
        message: str,
        *,
        partial: str = "",
        partial_reasoning: str = "",
        **kw: Any,
    ) -> None:
        self.partial = partial
        self.partial_reasoning = partial_reasoning
        super().__init__(message, **kw)


class StallError(StreamError):
    """No chunk arrived within the idle timeout."""


class StreamDisconnectedError(StreamError):
    """The connection was lost in the middle of the stream."""


class TruncatedStreamError(StreamError):
    """The stream ended before every choice had a finish reason."""


class MalformedChunkError(StreamError):
    """A chunk was not valid JSON or not a chat-completion chunk."""


class ServerStreamError(StreamError):
    """The server sent an ``error`` object inside a 200 stream."""
