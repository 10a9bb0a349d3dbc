"""Plain data shared by every layer: messages, generation params, usage, metrics and events.

Two families of events:

* stream events come out of ``BaseModel.stream()`` for one HTTP request (no run or worker
  ids: the client does not know who is asking);
* run events come out of agents and systems, each tagged with ``run_id`` and ``worker_id`` and a
  monotonic timestamp ``t``; every consumer (run store, metrics, TUI, CLI) reads these.

Events are small frozen slotted dataclasses. ``Delta`` and ``TextDelta`` are the hot ones: they
are created once per chunk, so they hold only strings and ints.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Union

__all__ = [
    "ChatMessage",
    "ChoiceFinished",
    "ChoiceResult",
    "Completion",
    "Delta",
    "Event",
    "EventListener",
    "FirstToken",
    "GenerationParams",
    "Retrying",
    "RunEvent",
    "RunFinished",
    "RunStarted",
    "StepFinished",
    "StepStarted",
    "StreamEvent",
    "StreamFinished",
    "StreamMetrics",
    "TextDelta",
    "Usage",
    "WorkerFailed",
    "WorkerFinished",
    "WorkerQueued",
    "WorkerStarted",
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


# ---------------------------------------------------------------------------- stream events


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of text for one choice. Hot path: created once per socket read and choice."""

    content: str
    reasoning: str
    index: int = 0
    tokens: int = 1
    """How many stream chunks this text came in: the chunks of one socket read are merged."""


def _slot_setters(cls: type, *names: str) -> tuple[Any, ...]:
    """The slot descriptors' ``__set__`` of ``cls``: they bypass the frozen ``__setattr__``."""
    return tuple(cls.__dict__[name].__set__ for name in names)


_DELTA_SET = _slot_setters(Delta, "content", "reasoning", "index", "tokens")


def _delta_init(self: Delta, content: str, reasoning: str, index: int = 0, tokens: int = 1,
                _set: tuple[Any, ...] = _DELTA_SET) -> None:
    # Same fields, order and defaults as the generated __init__, a third cheaper: a frozen
    # dataclass sets each field through object.__setattr__ looked up anew (one per chunk).
    _set[0](self, content)
    _set[1](self, reasoning)
    _set[2](self, index)
    _set[3](self, tokens)


_delta_init.__name__, _delta_init.__qualname__ = "__init__", "Delta.__init__"
Delta.__init__ = _delta_init  # type: ignore[method-assign]


@dataclass(frozen=True, slots=True)
class ChoiceFinished:
    """A choice got its finish reason (``stop``, ``length``, ...)."""

    index: int
    finish_reason: str
    stop_reason: Any = None


@dataclass(frozen=True, slots=True)
class Retrying:
    """A request failed before any byte of its body and will be sent again."""

    attempt: int
    """The attempt that just failed (1-based)."""
    max_attempts: int
    delay: float
    """Seconds before the next attempt."""
    reason: str
    """One line: the error that caused the retry."""
    t: float = field(default_factory=now)
    run_id: str = ""
    worker_id: str = ""


@dataclass(frozen=True, slots=True)
class StreamFinished:
    """The stream ended well: every choice has a finish reason."""

    completion: Completion


StreamEvent = Union[Delta, ChoiceFinished, Retrying, StreamFinished]


# ---------------------------------------------------------------------------- run events


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A system or agent started a run."""

    run_id: str
    system: str
    workers: tuple[str, ...] = ()
    """Worker ids known up front (a chain adds its manager later)."""
    worker_id: str = ""
    t: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class WorkerQueued:
    """A worker exists and waits for a concurrency slot."""

    run_id: str
    worker_id: str
    label: str = ""
    """Human name: "call 3", "chunk 2/7", "manager", "seat 1 round 2"."""
    step: int | None = None
    t: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class WorkerStarted:
    """The worker's request was sent."""

    run_id: str
    worker_id: str
    t: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class FirstToken:
    """The first content or reasoning token arrived."""

    run_id: str
    worker_id: str
    ttft: float
    t: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Streamed text for one worker; content and reasoning kept apart. Hot path."""

    run_id: str
    worker_id: str
    content: str
    reasoning: str
    t: float
    tokens: int = 1
    """How many stream chunks this text came in (see ``Delta.tokens``)."""


_TEXT_DELTA_SET = _slot_setters(
    TextDelta, "run_id", "worker_id", "content", "reasoning", "t", "tokens"
)


def _text_delta_init(self: TextDelta, run_id: str, worker_id: str, content: str,
                     reasoning: str, t: float, tokens: int = 1,
                     _set: tuple[Any, ...] = _TEXT_DELTA_SET) -> None:
    # See _delta_init: the generated frozen __init__ costs a third more, once per token.
    _set[0](self, run_id)
    _set[1](self, worker_id)
    _set[2](self, content)
    _set[3](self, reasoning)
    _set[4](self, t)
    _set[5](self, tokens)


_text_delta_init.__name__, _text_delta_init.__qualname__ = "__init__", "TextDelta.__init__"
TextDelta.__init__ = _text_delta_init  # type: ignore[method-assign]


@dataclass(frozen=True, slots=True)
class StepStarted:
    """A multi-step system (chain, debate) began a step."""

    run_id: str
    step: int
    total: int | None
    label: str
    worker_id: str = ""
    t: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class StepFinished:
    """A step finished; ``output`` is what it hands on (a chain's communication unit)."""

    run_id: str
    step: int
    output: str
    worker_id: str = ""
    t: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class WorkerFinished:
    """The worker's stream ended well."""

    run_id: str
    worker_id: str
    finish_reason: str | None
    usage: Usage | None
    metrics: StreamMetrics | None
    t: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class WorkerFailed:
    """The worker ended without a complete answer; its partial text is kept.

    ``cancelled`` is true when the user or the run cancelled it (``error`` is then None).
    """

    run_id: str
    worker_id: str
    error: Exception | None
    partial: str = ""
    cancelled: bool = False
    t: float = field(default_factory=now)

    @property
    def reason(self) -> str:
        """One line for cards, manifests and the CLI."""
        if self.cancelled:
            return "cancelled"
        return f"{type(self.error).__name__}: {self.error}" if self.error else "failed"


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run is over. ``status`` is ``done``, ``failed``, ``partial`` or ``cancelled``."""

    run_id: str
    status: str
    result: Any = None
    worker_id: str = ""
    t: float = field(default_factory=now)


RunEvent = Union[
    RunStarted,
    WorkerQueued,
    WorkerStarted,
    FirstToken,
    TextDelta,
    Retrying,
    StepStarted,
    StepFinished,
    WorkerFinished,
    WorkerFailed,
    RunFinished,
]
Event = Union[RunEvent, StreamEvent]
EventListener = Callable[[RunEvent], None]
"""A synchronous callback; it must be quick (append to a buffer, write to a file)."""
