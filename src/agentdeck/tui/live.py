"""Plain per-worker buffers that run events stream into; the TUI's widgets read them per frame.

Public API::

    live = LiveRun()                  # one per run; the screen owns it
    system.add_listener(live)         # a sync EventListener: live(event)
    live.buffers["call-01"]           # -> WorkerBuffer (insertion order = display order)
    live.order                        # worker ids in the order they appeared
    live.take_dirty()                 # ids changed since the last call (the grid consumes it)
    live.tokens_per_s()               # aggregate rate over the last ~2 s
    live.steps                        # {step: StepInfo} for chains and debates

    buf = live.buffers["call-01"]
    buf.state                         # WorkerState: queued, waiting, streaming, retrying, ...
    buf.state_text                    # "retrying 2/5", "streaming", ...
    buf.content.length                # characters so far (also buf.reasoning.length)
    buf.content_since(pos)            # text appended after character ``pos`` (cheap)
    buf.text / buf.reasoning_text     # the whole text (joined once, then kept joined)
    buf.tokens, buf.tokens_per_s, buf.ttft, buf.error, buf.version
    WorkerBuffer.from_text(id, text, reasoning)   # a finished buffer for saved transcripts

A retried worker (``WorkerQueued`` again after it finished) gets a new ``WorkerBuffer`` object,
so readers compare identity to notice the restart.

Why plain buffers: widgets must never render per token. The hot path (``TextDelta``) is a list
append and a few counters; a timer on the screen (~20 Hz) then asks the widgets to flush what
changed. Events arrive on the app's own asyncio loop (systems run in Textual async workers),
so nothing here locks. Nothing here imports textual or rich either, so it is cheap to test.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from agentdeck.events import (
    FirstToken,
    Retrying,
    RunEvent,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerQueued,
    WorkerStarted,
)
from agentdeck.types import now

__all__ = ["LiveRun", "StepInfo", "StreamText", "WorkerBuffer", "WorkerState"]

_COMPACT_EVERY = 32
"""Join pieces once this many accumulate: one str per chunk costs ~50 bytes of overhead."""


class WorkerState(str, enum.Enum):
    """What a worker is doing, as a card shows it."""

    QUEUED = "queued"
    WAITING = "waiting"
    """Request sent, no token yet."""
    STREAMING = "streaming"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (WorkerState.DONE, WorkerState.FAILED, WorkerState.CANCELLED)


class StreamText:
    """Append-only text kept as a list of pieces, compacted now and then, read by offset."""

    __slots__ = ("pieces", "length", "loose")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.length = 0
        self.loose = 0
        """Pieces appended since the last compaction."""

    def append(self, piece: str) -> None:
        self.pieces.append(piece)
        self.length += len(piece)
        self.loose += 1
        if self.loose >= _COMPACT_EVERY:
            self.compact()

    def compact(self) -> None:
        """Join the recent pieces into one, so memory stays near the text's own size."""
        if self.loose > 1:
            pieces = self.pieces
            pieces[-self.loose :] = ["".join(pieces[-self.loose :])]
        self.loose = 0  # the joined chunk is never joined again: no quadratic copying

    def since(self, pos: int) -> str:
        """Text after character ``pos``; walks back only over the pieces it needs."""
        want = self.length - pos
        if want <= 0:
            return ""
        pieces = self.pieces
        got = 0
        i = len(pieces)
        while got < want and i > 0:
            i -= 1
            got += len(pieces[i])
        tail = "".join(pieces[i:])
        return tail[got - want :] if got > want else tail

    def all(self) -> str:
        if len(self.pieces) > 1:
            self.pieces[:] = ["".join(self.pieces)]
            self.loose = 0
        return self.pieces[0] if self.pieces else ""


@dataclass(eq=False, slots=True)
class WorkerBuffer:
    """Everything the UI shows about one worker: its text so far and its live figures."""

    worker_id: str
    label: str = ""
    step: int | None = None
    state: WorkerState = WorkerState.QUEUED
    tokens: int = 0
    """Deltas counted while streaming; replaced by the server's usage when it arrives."""
    ttft: float | None = None
    started_t: float | None = None
    first_t: float | None = None
    last_t: float | None = None
    finished_t: float | None = None
    final_tokens_per_s: float | None = None
    retry_attempt: int = 0
    retry_max: int = 0
    retry_reason: str = ""
    finish_reason: str | None = None
    error: str = ""
    """One line on failed (or "cancelled") workers."""
    version: int = 0
    """Bumped on every change; readers compare it to skip unchanged buffers."""
    content: StreamText = field(default_factory=StreamText, repr=False)
    reasoning: StreamText = field(default_factory=StreamText, repr=False)

    @classmethod
    def from_text(
        cls, worker_id: str, content: str, reasoning: str = "", *, label: str = "",
        state: WorkerState = WorkerState.DONE,
    ) -> WorkerBuffer:
        """A finished buffer from saved text (history, tests)."""
        buf = cls(worker_id, label=label or worker_id, state=state)
        if reasoning:
            buf.reasoning.append(reasoning)
        if content:
            buf.content.append(content)
        return buf

    @property
    def title(self) -> str:
        return self.label or self.worker_id

    @property
    def text(self) -> str:
        return self.content.all()

    @property
    def reasoning_text(self) -> str:
        return self.reasoning.all()

    def content_since(self, pos: int) -> str:
        return self.content.since(pos)

    def reasoning_since(self, pos: int) -> str:
        return self.reasoning.since(pos)

    @property
    def tokens_per_s(self) -> float | None:
        """Live rate since the first token; the server's figure once finished."""
        if self.final_tokens_per_s is not None:
            return self.final_tokens_per_s
        if self.first_t is None or self.last_t is None or self.tokens < 2:
            return None
        span = self.last_t - self.first_t
        return (self.tokens - 1) / span if span > 0 else None

    @property
    def state_text(self) -> str:
        """The state as a card title shows it: "retrying 2/5", "streaming"."""
        if self.state is WorkerState.RETRYING:
            return f"retrying {self.retry_attempt}/{self.retry_max}"
        return self.state.value


@dataclass(eq=False)
class StepInfo:
    """One step of a chain or debate and the unit of communication it handed on."""

    step: int
    total: int | None
    label: str
    worker_id: str = ""
    output: str | None = None
    """``None`` while the step runs."""


class LiveRun:
    """A sync ``EventListener`` folding run events into per-worker buffers."""

    def __init__(self) -> None:
        self.run_id = ""
        self.system = ""
        self.status = ""
        """Empty while running; the ``RunFinished`` status afterwards."""
        self.result: object = None
        self.buffers: dict[str, WorkerBuffer] = {}
        self.order: list[str] = []
        self.steps: dict[int, StepInfo] = {}
        self.dirty: set[str] = set()
        self.total_tokens = 0
        self.version = 0
        """Bumped when workers or steps appear or the run ends (not per token)."""
        self._rate: deque[tuple[float, int]] = deque()

    # ------------------------------------------------------------------ reading

    def take_dirty(self) -> set[str]:
        """Worker ids changed since the last call, and forget them."""
        dirty, self.dirty = self.dirty, set()
        return dirty

    def tokens_per_s(self, t: float | None = None, window: float = 2.0) -> float:
        """Aggregate tokens/s over the last ``window`` seconds (sampled on each call)."""
        t = now() if t is None else t
        samples = self._rate
        samples.append((t, self.total_tokens))
        while len(samples) > 2 and t - samples[1][0] >= window:
            samples.popleft()
        t0, n0 = samples[0]
        return (self.total_tokens - n0) / (t - t0) if t > t0 else 0.0

    @property
    def finished(self) -> bool:
        return bool(self.status)

    # ------------------------------------------------------------------ events

    def __call__(self, event: RunEvent) -> None:
        """Fold one event in. ``TextDelta`` comes first: it is nearly every event."""
        if type(event) is TextDelta:
            worker_id = event.worker_id
            buf = self.buffers.get(worker_id)
            if buf is None:
                buf = self._worker(worker_id)
            # StreamText.append inlined: this line runs once per token for every worker.
            piece = event.content
            if piece:
                text = buf.content
                text.pieces.append(piece)
                text.length += len(piece)
                text.loose += 1
                if text.loose >= _COMPACT_EVERY:
                    text.compact()
            piece = event.reasoning
            if piece:
                buf.reasoning.append(piece)
            tokens = event.tokens
            buf.tokens += tokens
            buf.last_t = event.t
            buf.version += 1
            if buf.state is not _STREAMING:
                self._first_text(buf, event.t)
            self.total_tokens += tokens
            self.dirty.add(worker_id)
            return
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _first_text(self, buf: WorkerBuffer, t: float) -> None:
        # A server may stream without a FirstToken event reaching us first.
        buf.state = WorkerState.STREAMING
        if buf.first_t is None:
            buf.first_t = t

    def _worker(self, worker_id: str, label: str = "", step: int | None = None) -> WorkerBuffer:
        buf = WorkerBuffer(worker_id, label=label or worker_id, step=step)
        self.buffers[worker_id] = buf
        self.order.append(worker_id)
        self.dirty.add(worker_id)
        self.version += 1
        return buf

    def _touch(self, buf: WorkerBuffer) -> None:
        buf.version += 1
        self.dirty.add(buf.worker_id)

    def _on_run_started(self, event: RunStarted) -> None:
        self.run_id, self.system = event.run_id, event.system
        for worker_id in event.workers:
            if worker_id not in self.buffers:
                self._worker(worker_id)

    def _on_queued(self, event: WorkerQueued) -> None:
        old = self.buffers.get(event.worker_id)
        if old is None:
            self._worker(event.worker_id, event.label, event.step)
            return
        if old.state.finished:
            # A retried worker starts afresh: a new buffer, so readers see a new object.
            fresh = WorkerBuffer(event.worker_id, label=event.label or old.label, step=event.step)
            fresh.version = old.version + 1
            self.buffers[event.worker_id] = fresh
            self.dirty.add(event.worker_id)
            return
        old.label = event.label or old.label
        old.step = event.step if event.step is not None else old.step
        old.state = WorkerState.QUEUED
        self._touch(old)

    def _on_started(self, event: WorkerStarted) -> None:
        buf = self.buffers.get(event.worker_id) or self._worker(event.worker_id)
        buf.state = WorkerState.WAITING
        buf.started_t = event.t
        self._touch(buf)

    def _on_first_token(self, event: FirstToken) -> None:
        buf = self.buffers.get(event.worker_id) or self._worker(event.worker_id)
        buf.ttft = event.ttft
        if buf.first_t is None:
            buf.first_t = event.t
        buf.state = WorkerState.STREAMING
        self._touch(buf)

    def _on_retrying(self, event: Retrying) -> None:
        if not event.worker_id:
            return
        buf = self.buffers.get(event.worker_id) or self._worker(event.worker_id)
        buf.state = WorkerState.RETRYING
        buf.retry_attempt, buf.retry_max = event.attempt, event.max_attempts
        buf.retry_reason = event.reason
        self._touch(buf)

    def _on_finished(self, event: WorkerFinished) -> None:
        buf = self.buffers.get(event.worker_id) or self._worker(event.worker_id)
        buf.state = WorkerState.DONE
        buf.finish_reason = event.finish_reason
        buf.finished_t = event.t
        if event.usage is not None and event.usage.completion_tokens is not None:
            buf.tokens = event.usage.completion_tokens
        if event.metrics is not None:
            if event.metrics.ttft is not None:
                buf.ttft = event.metrics.ttft
            buf.final_tokens_per_s = event.metrics.tokens_per_s
        buf.content.compact()
        buf.reasoning.compact()
        self._touch(buf)

    def _on_failed(self, event: WorkerFailed) -> None:
        buf = self.buffers.get(event.worker_id) or self._worker(event.worker_id)
        buf.state = WorkerState.CANCELLED if event.cancelled else WorkerState.FAILED
        buf.error = event.reason
        buf.finished_t = event.t
        if event.partial and not buf.content.length:
            buf.content.append(event.partial)
        buf.content.compact()
        buf.reasoning.compact()
        self._touch(buf)

    def _on_step_started(self, event: StepStarted) -> None:
        info = self.steps.get(event.step)
        if info is None:
            info = self.steps[event.step] = StepInfo(event.step, event.total, event.label)
        info.total, info.label = event.total, event.label or info.label
        info.worker_id = event.worker_id or info.worker_id or self._step_worker(event.step)
        info.output = None
        self.version += 1

    def _on_step_finished(self, event: StepFinished) -> None:
        info = self.steps.get(event.step)
        if info is None:
            info = self.steps[event.step] = StepInfo(event.step, None, f"step {event.step}")
        info.output = event.output
        info.worker_id = event.worker_id or info.worker_id or self._step_worker(event.step)
        self.version += 1

    def _step_worker(self, step: int) -> str:
        for worker_id in reversed(self.order):
            if self.buffers[worker_id].step == step:
                return worker_id
        return ""

    def _on_run_finished(self, event: RunFinished) -> None:
        self.status = event.status
        self.result = event.result
        self.version += 1


_STREAMING = WorkerState.STREAMING

_HANDLERS = {
    RunStarted: LiveRun._on_run_started,
    WorkerQueued: LiveRun._on_queued,
    WorkerStarted: LiveRun._on_started,
    FirstToken: LiveRun._on_first_token,
    Retrying: LiveRun._on_retrying,
    WorkerFinished: LiveRun._on_finished,
    WorkerFailed: LiveRun._on_failed,
    StepStarted: LiveRun._on_step_started,
    StepFinished: LiveRun._on_step_finished,
    RunFinished: LiveRun._on_run_finished,
}
