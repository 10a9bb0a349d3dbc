"""When to send a request again, and how long to wait first.

Only failures before the first byte of the response body are retried: after that, text may
have reached the user and a second answer would not continue the first one. Retried: a refused
connection, a connect timeout, a connection closed before the response, and statuses 408, 409,
429 and 5xx. Never retried: 400/401/403/404/422, an untrusted TLS certificate, a host name that
does not resolve, a first-token timeout (a ``TransportError`` too, but the deadline is how long
the user agreed to wait: a resend would start that wait over), and anything else a resend
cannot fix.

The wait is exponential backoff with full jitter (AWS architecture blog), unless the server
says how long: ``retry-after-ms`` (OpenAI's header) or ``Retry-After`` in seconds or as an HTTP
date. Every wait is capped so a confused server cannot park a worker for an hour.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import (
    AgentDeckError,
    ConflictError,
    ConnectError,
    ConnectTimeoutError,
    ProtocolError,
    RateLimitError,
    ServerError,
)

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""Plus every status >= 500."""

_RETRYABLE_ERRORS = (ConnectError, ConnectTimeoutError, ProtocolError)


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and the backoff between them (seconds)."""

    max_attempts: int = 4
    """Total attempts including the first; 1 disables retries."""
    backoff_base: float = 0.5
    """The first retry waits up to this long; each further one up to twice the previous."""
    backoff_max: float = 20.0
    """Cap of the computed (jittered) backoff."""
    retry_after_max: float = 60.0
    """Cap of a server-requested wait (``Retry-After`` / ``retry-after-ms``)."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.backoff_base, self.backoff_max, self.retry_after_max) < 0:
            raise ValueError("backoff times must not be negative")

    def retryable(self, error: AgentDeckError) -> bool:
        """True for an error that a resend may fix (the caller checks ``body_started``)."""
        if error.final:  # an untrusted certificate, an unknown host
            return False
        if isinstance(error, _RETRYABLE_ERRORS):
            return True
        if isinstance(error, (RateLimitError, ConflictError, ServerError)):
            return True
        return error.status is not None and (
            error.status in RETRYABLE_STATUSES or error.status >= 500
        )

    def delay(
        self,
        attempt: int,
        headers: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        asked = parse_retry_after(headers) if headers is not None else None
        if asked is not None:
            return min(asked, self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return (rng or random).uniform(0.0, ceiling)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait the server asked for, in seconds, or None when it did not (or said nonsense)."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            ms = float(value)
        except ValueError:
            ms = -1.0  # unreadable: fall back to Retry-After
        if ms >= 0 and ms != float("inf"):  # NaN compares False
            return ms / 1000.0
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
        return max(seconds, 0.0)
    return seconds if 0 <= seconds != float("inf") else None
