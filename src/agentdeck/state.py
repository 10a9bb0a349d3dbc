"""Run state: the one vocabulary of worker and run states, folded once from run events.

Every reader of a run folds its events with ``RunFold``: the recorder (``store/recorder.py``),
the live view (``tui/live.py``), the CLI's progress line (``cli/output.py``); a run read back
(``store/run_info.py``) speaks the same words, so the app, the CLI and the history agree.

A reader subclasses ``RunFold``: it extends the per-worker record (``record``), the handlers
(``_on_*``; worker and step handlers return what they changed) and the hooks (``_add``,
``_ended``, ``_restarted``, ``_reopen``). It may replace the ``TextDelta`` path (once per socket
read and worker) with its own, keeping the one branch the state needs: ``if w.state is not
WorkerState.STREAMING: self._streaming(w, event.t)``. No front end, textual or rich here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from .events import (
    FirstToken,
    ParamsFitted,
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
from .types import StreamMetrics, Usage, now

__all__ = ["ENDED_BADLY", "FINISHED", "INTERRUPTED_REASON", "IN_FLIGHT", "SAYS_WHY", "UNFINISHED",
           "RunFold", "RunStatus", "StepInfo", "WorkerRecord", "WorkerState", "read_state"]


class _Word(str, enum.Enum):
    """A str enum that prints as its word, in f-strings too (3.10 has no StrEnum)."""

    __str__ = str.__str__
    __format__ = str.__format__


class WorkerState(_Word):
    """What a worker is doing: the words cards, manifests, ``agentdeck runs`` and the CLI use."""

    QUEUED = "queued"
    WAITING = "waiting"
    """Request sent, no token yet."""
    STREAMING = "streaming"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    """The process ended before the worker did (its recorder closed without ``RunFinished``)."""

    @property
    def finished(self) -> bool:
        return self in FINISHED


class RunStatus(_Word):
    """A run's status; ``RunFinished.status`` is one of the final ones."""

    RUNNING = "running"
    DONE = "done"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


ENDED_BADLY = frozenset({WorkerState.FAILED, WorkerState.CANCELLED, WorkerState.INTERRUPTED})
FINISHED = ENDED_BADLY | {WorkerState.DONE}
UNFINISHED = frozenset(set(WorkerState) - FINISHED)
SAYS_WHY = ENDED_BADLY - {WorkerState.CANCELLED}  # a reason to show (a cancel's is "cancelled")
IN_FLIGHT = frozenset({WorkerState.WAITING, WorkerState.STREAMING})  # a request is out
INTERRUPTED_REASON = "the process ended before this worker finished"


def read_state(word: object, streamed: bool = False) -> WorkerState | None:
    """A worker status as any manifest format wrote it; None for a word outside the vocabulary.

    Format 1 wrote ``running`` for a sent request: ``streaming`` once text came, else ``waiting``.
    """
    if word == "running":
        return WorkerState.STREAMING if streamed else WorkerState.WAITING
    try:
        return WorkerState(word)
    except ValueError:
        return None


@dataclass(eq=False, slots=True)
class WorkerRecord:
    """One worker (its current attempt) as the fold knows it. Times are ``types.now()`` s."""

    worker_id: str
    label: str = ""
    step: int | None = None
    state: WorkerState = WorkerState.QUEUED
    tokens: int = 0
    """Chunks counted while streaming (by readers that show them); the server's completion
    tokens once it finished with usage."""
    ttft: float | None = None
    started_t: float | None = None
    first_t: float | None = None
    last_t: float | None = None
    finished_t: float | None = None
    retries: int = 0
    """Retries of this attempt so far."""
    retry_attempt: int = 0
    retry_max: int = 0
    retry_reason: str = ""
    finish_reason: str | None = None
    error: str = ""
    """One line on failed, cancelled and interrupted workers."""
    error_kind: str | None = None
    usage: Usage | None = None
    metrics: StreamMetrics | None = None

    @property
    def title(self) -> str:
        return self.label or self.worker_id

    @property
    def state_text(self) -> str:
        """The state as a card title shows it: "retrying 2/5", "streaming"."""
        if self.state is WorkerState.RETRYING:
            return f"retrying {self.retry_attempt}/{self.retry_max}"
        return self.state.value


@dataclass(eq=False, slots=True)
class StepInfo:
    """One step of a chain or debate and the unit of communication it handed on."""

    step: int
    total: int | None
    label: str
    worker_id: str = ""
    output: str | None = None
    """``None`` while the step runs."""
    status: RunStatus = RunStatus.RUNNING
    """running, done, or cancelled / interrupted when the run ended first."""


R = TypeVar("R", bound=WorkerRecord)

_STREAMING = WorkerState.STREAMING


class RunFold(Generic[R]):
    """A sync ``EventListener`` folding run events into per-worker records and a run status."""

    record: ClassVar[type[Any]] = WorkerRecord
    """The per-worker record type (a subclass of ``WorkerRecord``)."""

    def __init__(self) -> None:
        self.run_id = ""
        self.system = ""
        self.status: str = RunStatus.RUNNING
        """``running``, then the ``RunFinished`` status (or ``interrupted``)."""
        self.result: Any = None
        self.workers: dict[str, R] = {}
        self.order: list[str] = []
        """Worker ids in the order they appeared (the display order)."""
        self.steps: dict[int, StepInfo] = {}
        self.counts: dict[WorkerState, int] = dict.fromkeys(WorkerState, 0)
        """Workers in each state, kept as states change (progress lines read it)."""
        self.fitted: ParamsFitted | None = None  # max_tokens lowered to fit (once per run)

    @property
    def finished(self) -> bool:
        return self.status != RunStatus.RUNNING

    def __call__(self, event: RunEvent) -> None:
        """Fold one event in. ``TextDelta`` comes first: it is nearly every event."""
        if event.__class__ is TextDelta:
            w = self.workers.get(event.worker_id) or self._add(event.worker_id)
            w.tokens += event.tokens
            w.last_t = event.t
            if w.state is not _STREAMING:
                self._streaming(w, event.t)
            return
        self.fold(event)

    def fold(self, event: RunEvent) -> Any:
        """Fold an event other than ``TextDelta``; returns the record or step it changed."""
        name = _HANDLERS.get(event.__class__)
        return getattr(self, name)(event) if name is not None else None

    def adopt(self, w: R) -> R:
        """Take a record built elsewhere (a run read back from disk) as it is."""
        old = self.workers.get(w.worker_id)
        if old is None:
            self.order.append(w.worker_id)
        else:
            self.counts[old.state] -= 1
        self.workers[w.worker_id] = w
        self.counts[w.state] += 1
        return w

    def interrupt(self) -> None:
        """The run stops without ``RunFinished`` (the process is going down)."""
        self._finish(RunStatus.INTERRUPTED, now())

    # ------------------------------------------------------------------ hooks

    def _add(self, worker_id: str, label: str = "", step: int | None = None) -> R:
        w: R = self.record(worker_id, label or worker_id, step)
        self.workers[worker_id] = w
        self.order.append(worker_id)
        self.counts[WorkerState.QUEUED] += 1
        return w

    def _ended(self, w: R) -> None:
        """``w`` reached a final state."""

    def _restarted(self, old: R, new: R) -> None:
        """A worker that ended starts again in the record ``new`` (``old`` is dropped)."""

    def _reopen(self) -> None:
        """A worker is queued after the run finished (a retry): the run goes on."""
        self.status = RunStatus.RUNNING

    def _streaming(self, w: R, t: float) -> None:
        """The first token or text of an attempt."""
        if w.state.finished:
            return  # a straggler after the end changes nothing
        if w.first_t is None:
            w.first_t = t
        self._move(w, _STREAMING)

    # ------------------------------------------------------------------ helpers

    def _move(self, w: R, state: WorkerState) -> None:
        counts = self.counts
        counts[w.state] -= 1
        counts[state] += 1
        w.state = state

    def _get(self, worker_id: str) -> R:
        return self.workers.get(worker_id) or self._add(worker_id)

    def _attempt(self, worker_id: str, label: str = "", step: int | None = None) -> R:
        """The record a (new) attempt of ``worker_id`` runs in: a fresh one if the last ended."""
        w = self.workers.get(worker_id)
        if w is None:
            return self._add(worker_id, label, step)
        if not w.state.finished:
            return w
        new: R = self.record(worker_id, label or w.label, w.step if step is None else step)
        self.counts[w.state] -= 1
        self.counts[WorkerState.QUEUED] += 1
        self.workers[worker_id] = new
        self._restarted(w, new)
        return new

    def _end(self, w: R, state: WorkerState, t: float) -> None:
        w.finished_t = t
        self._move(w, state)
        self._ended(w)

    def _finish(self, status: str, t: float) -> None:
        """Set the run's final status; workers not finished by now did not finish.

        They are ``interrupted`` only when the run was (closed without ``RunFinished``: the
        process is going down); a run that ended on its own, say a chain stopped by a failed
        step, did not run them: ``cancelled``.
        """
        if status == RunStatus.INTERRUPTED:
            leftover, reason = WorkerState.INTERRUPTED, INTERRUPTED_REASON
        else:
            leftover, reason = WorkerState.CANCELLED, "cancelled"
        for w in self.workers.values():
            if not w.state.finished:
                w.error = reason
                self._end(w, leftover, t)
        for step in self.steps.values():
            if step.status is RunStatus.RUNNING:
                step.status = RunStatus(leftover.value)
        try:
            self.status = RunStatus(status)
        except ValueError:
            self.status = status

    def _step_worker(self, step: int) -> str:
        for worker_id in reversed(self.order):
            if self.workers[worker_id].step == step:
                return worker_id
        return ""

    # ------------------------------------------------------------------ handlers

    def _on_run_started(self, ev: RunStarted) -> None:
        self.run_id = self.run_id or ev.run_id  # a recorder knows its run id from the start
        self.system = ev.system or self.system
        for worker_id in ev.workers:
            if worker_id not in self.workers:
                self._add(worker_id)

    def _on_queued(self, ev: WorkerQueued) -> R:
        if self.finished:  # a worker retried after the run ended: the run goes on
            self._reopen()
        w = self._attempt(ev.worker_id, ev.label, ev.step)
        if ev.label:
            w.label = ev.label
        if ev.step is not None:
            w.step = ev.step
        self._move(w, WorkerState.QUEUED)
        return w

    def _on_started(self, ev: WorkerStarted) -> R:
        w = self._attempt(ev.worker_id)
        w.started_t = ev.t
        self._move(w, WorkerState.WAITING)
        return w

    def _on_first_token(self, ev: FirstToken) -> R:
        w = self._get(ev.worker_id)
        w.ttft = ev.ttft
        self._streaming(w, ev.t)
        return w

    def _on_retrying(self, ev: Retrying) -> R | None:
        if not ev.worker_id:
            return None
        w = self._get(ev.worker_id)
        if w.state.finished:  # a late report from a model: the worker's end stands
            return None
        w.retries += 1
        w.retry_attempt, w.retry_max, w.retry_reason = ev.attempt, ev.max_attempts, ev.reason
        self._move(w, WorkerState.RETRYING)
        return w

    def _on_finished(self, ev: WorkerFinished) -> R:
        w = self._get(ev.worker_id)
        w.finish_reason, w.usage, w.metrics = ev.finish_reason, ev.usage, ev.metrics
        if ev.usage is not None and ev.usage.completion_tokens is not None:
            w.tokens = ev.usage.completion_tokens
        if ev.metrics is not None and ev.metrics.ttft is not None:
            w.ttft = ev.metrics.ttft
        self._end(w, WorkerState.DONE, ev.t)
        return w

    def _on_failed(self, ev: WorkerFailed) -> R:
        w = self._get(ev.worker_id)
        w.error = ev.reason
        w.error_kind = type(ev.error).__name__ if ev.error is not None else None
        self._end(w, WorkerState.CANCELLED if ev.cancelled else WorkerState.FAILED, ev.t)
        return w

    def _on_step_started(self, ev: StepStarted) -> StepInfo:
        info = self.steps.get(ev.step)
        if info is None:
            info = self.steps[ev.step] = StepInfo(ev.step, ev.total, ev.label)
        info.total, info.label = ev.total, ev.label or info.label
        info.worker_id = ev.worker_id or info.worker_id or self._step_worker(ev.step)
        info.output = None
        info.status = RunStatus.RUNNING
        return info

    def _on_step_finished(self, ev: StepFinished) -> StepInfo:
        info = self.steps.get(ev.step)
        if info is None:
            info = self.steps[ev.step] = StepInfo(ev.step, None, f"step {ev.step}")
        info.output = ev.output
        info.worker_id = ev.worker_id or info.worker_id or self._step_worker(ev.step)
        info.status = RunStatus.DONE
        return info

    def _on_fitted(self, ev: ParamsFitted) -> ParamsFitted:
        self.fitted = self.fitted or ev  # reported once per run: the first one stands
        return ev

    def _on_run_finished(self, ev: RunFinished) -> None:
        self.result = ev.result
        self._finish(ev.status, ev.t)


_HANDLERS: dict[type, str] = {
    RunStarted: "_on_run_started",
    WorkerQueued: "_on_queued",
    WorkerStarted: "_on_started",
    FirstToken: "_on_first_token",
    Retrying: "_on_retrying",
    StepStarted: "_on_step_started",
    StepFinished: "_on_step_finished",
    WorkerFinished: "_on_finished",
    WorkerFailed: "_on_failed",
    ParamsFitted: "_on_fitted",
    RunFinished: "_on_run_finished",
}
"""Handlers by name, so a subclass's override is the one called."""
