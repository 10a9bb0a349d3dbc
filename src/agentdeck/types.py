"""Plain data shared by every layer: messages, generation params, usage, metrics, the clock.

The events built from these live in ``agentdeck.events``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .errors import InputError

__all__ = [
    "ChatMessage",
    "ChoiceResult",
    "Completion",
    "GenerationParams",
    "StreamMetrics",
    "Usage",
    "non_finite",
    "now",
]

ChatMessage = dict[str, Any]
"""One OpenAI chat message, e.g. ``{"role": "user", "content": "hi"}``."""

now = time.monotonic
"""The clock every event and metric uses."""


# ---------------------------------------------------------------------------- params


@dataclass(frozen=True)
class GenerationParams:
    """Sampling parameters for one request; ``None`` means "server default, not sent"."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Passed through to the request body as-is (vLLM's top_k, min_p, ignore_eos, ...)."""

    def __post_init__(self) -> None:
        # JSON has no nan or inf: orjson would send null, the server's default, silently.
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            found = non_finite(value, "" if f.name == "extra" else f.name)
            if found is not None:
                raise InputError(f"{found[0]} must be a finite number, got {found[1]!r}")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> GenerationParams:
        """Build params from seed-style keyword arguments; unknown keys go to ``extra``."""
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in kwargs.items() if k in names}
        extra = dict(kwargs.pop("extra", None) or {})
        extra.update({k: v for k, v in kwargs.items() if k not in names})
        return cls(**known, extra=extra)

    def merged(self, **kwargs: Any) -> GenerationParams:
        """Return a copy with ``kwargs`` applied on top (unknown keys go to ``extra``)."""
        if not kwargs:
            return self
        other = GenerationParams.from_kwargs(**kwargs)
        updates = {
            f.name: getattr(other, f.name)
            for f in fields(self)
            if f.name != "extra" and getattr(other, f.name) is not None
        }
        return replace(self, **updates, extra={**self.extra, **other.extra})

    def to_body(self) -> dict[str, Any]:
        """The JSON fields this contributes to a chat-completions request body."""
        body = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "extra" and getattr(self, f.name) is not None
        }
        body.update(self.extra)
        return body


def non_finite(value: Any, key: str = "") -> tuple[str, float] | None:
    """The first nan or infinity in ``value`` (a number, or a tree of dicts and lists) and
    where it is (``key``, then ``.name`` or ``[index]`` below it); None when there is none."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (key, value)
    if isinstance(value, dict):
        items = ((f"{key}.{k}" if key else str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{key}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        found = non_finite(item, where)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Usage:
    """Token counts as the server reported them (``None`` when it did not)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True)
class StreamMetrics:
    """Per-stream latency figures, defined as ``vllm bench serve`` defines them (seconds)."""

    ttft: float | None
    """Time from sending the request to the first content or reasoning token."""
    e2e: float
    """Time from sending the request to the end of the stream."""
    itl_mean: float | None
    """Mean gap between successive chunks after the first token."""
    itl_p99: float | None
    """99th percentile of those gaps."""
    tpot: float | None
    """(e2e - ttft) / (output_tokens - 1): time per output token after the first."""
    output_tokens: int
    """From usage; the number of content/reasoning chunks when the server sent no usage."""
    tokens_per_s: float | None
    """output_tokens / e2e."""
    itl_gaps: int = 0
    """How many gaps ``itl_mean`` averages (a run's mean ITL, rebuilt from its requests,
    weighs each by this)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChoiceResult:
    """The aggregated text of one choice (``n > 1`` gives several)."""

    index: int
    content: str
    reasoning: str
    finish_reason: str | None


@dataclass(frozen=True)
class Completion:
    """Everything one finished chat-completion stream produced."""

    choices: tuple[ChoiceResult, ...]
    usage: Usage | None
    metrics: StreamMetrics
    model: str | None = None
    request_id: str | None = None

    @property
    def text(self) -> str:
        """Content of the first choice."""
        return self.choices[0].content if self.choices else ""

    @property
    def reasoning(self) -> str:
        """Reasoning of the first choice ('' when the server sent none)."""
        return self.choices[0].reasoning if self.choices else ""

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason if self.choices else None
