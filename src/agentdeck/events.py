"""The events: what one request streams, and what agents and systems report about a run.

Two families:

* stream events come out of ``BaseModel.stream()`` for one HTTP request (no run or worker
  ids: the client does not know who is asking);
* run events come out of agents and systems, each tagged with ``run_id``, a monotonic timestamp
  ``t`` and, for the events of one worker, its ``worker_id`` (``RunStarted`` and
  ``RunFinished`` are the run's own and name none); every consumer (run store, live view, CLI,
  run state) reads these.

As JSON (the CLI's ``--events``) each event also carries ``"schema": SCHEMA`` and its wall-clock
``time`` (``iso_time``).

Events are small frozen slotted dataclasses. ``Delta`` and ``TextDelta`` are the hot ones: they
are created once per chunk, so they hold only strings and ints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Union

from .types import Completion, StreamMetrics, Usage, now

__all__ = [
    "ChoiceFinished",
    "Delta",
    "Event",
    "EventListener",
    "FirstToken",
    "ParamsFitted",
    "Retrying",
    "RunEvent",
    "RunFinished",
    "RunStarted",
    "SCHEMA",
    "StepFinished",
    "StepStarted",
    "StreamEvent",
    "StreamFinished",
    "TextDelta",
    "WorkerFailed",
    "WorkerFinished",
    "WorkerQueued",
    "WorkerStarted",
    "iso_time",
    "iso_wall",
]

SCHEMA = 1
"""Version of the JSON the CLI prints (``--json`` documents and ``--events`` lines); it changes
only when a field changes meaning or goes away."""

_WALL_OFFSET = time.time() - now()
"""Wall-clock seconds minus the monotonic clock, taken once: ``t + _WALL_OFFSET`` is when."""


def iso_time(t: float) -> str:
    """The wall-clock time of monotonic ``t`` as ISO 8601 UTC: ``2026-05-01T12:00:00.123Z``."""
    return iso_wall(t + _WALL_OFFSET)


def iso_wall(seconds: float) -> str:
    """Unix time ``seconds`` as ISO 8601 UTC, the one time format of every JSON output."""
    stamp = datetime.fromtimestamp(seconds, timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    group: str = ""
    """The group the worker belongs to (compare's target key, ``A``); '' for none."""


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
class ParamsFitted:
    """A request's ``field`` (``max_tokens``) was lowered from ``asked`` to ``sent`` to fit the
    model's ``window`` of tokens; reported once per run, at the first request it happened to."""

    run_id: str
    worker_id: str
    field: str
    asked: int
    sent: int
    window: int
    t: float = field(default_factory=now)

    @property
    def note(self) -> str:
        """One line for the CLI and the app."""
        return (f"{self.field} {self.asked} lowered to {self.sent} to fit the "
                f"{self.window}-token window")


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run is over. ``status`` is ``done``, ``failed``, ``partial`` or ``cancelled``."""

    run_id: str
    status: str
    result: Any = None
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
    ParamsFitted,
    RunFinished,
]
Event = Union[RunEvent, StreamEvent]
EventListener = Callable[[RunEvent], None]
"""A synchronous callback; it must be quick (append to a buffer, write to a file)."""
