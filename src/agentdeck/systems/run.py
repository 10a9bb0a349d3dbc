"""One run's worker machinery: the semaphore, one task per worker, events, cancellation.

A *worker* is one model request (a chain step, one of N parallel calls, a debate seat in one
round). It streams through ``BaseModel.stream`` and reports everything as run events tagged
with its worker id: ``WorkerQueued`` (at once), ``WorkerStarted`` (when a concurrency slot is
free and the request goes out), ``FirstToken``, ``TextDelta``, ``Retrying``, then
``WorkerFinished`` or ``WorkerFailed`` with the partial text.

Cancellation: ``Run.cancel_worker`` / ``Run.cancel`` cancel worker tasks; cancelling the task
that consumes a stream closes its HTTP response, so the server aborts the request. Worker
tasks are always awaited through ``Run.gather``, so cancelling the task that called ``run()``
still propagates while a cancelled worker only ends itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Any

from ..client.model import BaseModel
from ..errors import (
    AgentDeckError,
    ContextLengthError,
    InputError,
    TruncatedStreamError,
)
from ..events import (
    Delta,
    EventListener,
    FirstToken,
    ParamsFitted,
    Retrying,
    RunEvent,
    RunFinished,
    StreamFinished,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerQueued,
    WorkerStarted,
)
from ..store.summary import RunSummary
from ..types import ChatMessage, now
from .fit import Fitter, fitter_for
from .outcome import Sink, WorkerOutcome, think_text

__all__ = ["Lane", "Run", "Sink", "WorkerOutcome", "think_text", "with_system_prompt"]


@dataclass(frozen=True)
class Lane:
    """Where a worker's requests go: a model, its concurrency cap, its window fitter.

    A run has one; compare gives each of its targets its own, so each target has its own cap
    and window.
    """

    model: BaseModel
    semaphore: asyncio.Semaphore | None
    fitter: Fitter
    name: str = ""
    """Its workers' ``WorkerQueued.group`` (compare's target key); '' for the run's own."""

    @classmethod
    def of(cls, model: BaseModel, concurrency: int | None, name: str = "") -> Lane:
        return cls(model, asyncio.Semaphore(concurrency) if concurrency else None,
                   fitter_for(model), name)


class Run:
    """State of one run: id, semaphore, recorder, listeners and worker tasks."""

    def __init__(
        self,
        model: BaseModel,
        run_id: str,
        listeners: list[EventListener],
        concurrency: int | None,
        recorder: Any = None,
        system_prompt: str | None = None,
        summary: RunSummary | None = None,
    ) -> None:
        self.model = model
        self.system_prompt = system_prompt
        """Put first in every worker's messages (``--system``); see ``spawn``."""
        self.run_id = run_id
        self.summary = summary if summary is not None else RunSummary()
        """The run's figures, folded from its events before anyone else sees them (the
        recorder was given the same one, to write into run.json)."""
        self.listeners = listeners
        self.recorder = recorder
        self.lane = Lane.of(model, concurrency)
        """Where workers' requests go unless ``spawn`` names another lane (compare's targets)."""
        self.tasks: dict[str, asyncio.Task[WorkerOutcome]] = {}
        self.ended: set[str] = set()
        self.cancel_requested = False
        self.finished = False
        self.status = "running"
        self.fitted = False
        """True once a lowered max_tokens was reported (once per run)."""

    # ------------------------------------------------------------------ events

    def emit(self, event: RunEvent) -> None:
        """Hand ``event`` to the summary, the recorder (disk is the truth), then the listeners."""
        self.summary(event)
        if self.recorder is not None:
            self.recorder(event)
        for listener in self.listeners:
            listener(event)

    def finish(self, status: str, result: Any = None) -> None:
        """Emit ``RunFinished`` once and close the recorder."""
        if self.finished:
            return
        self.finished = True
        self.status = status
        self.emit(RunFinished(self.run_id, status, result))
        if self.recorder is not None:
            self.recorder.close()

    # ------------------------------------------------------------------ workers

    def spawn(
        self,
        worker_id: str,
        messages: list[ChatMessage],
        kwargs: dict[str, Any],
        *,
        label: str = "",
        step: int | None = None,
        sink: Sink | None = None,
        quiet: tuple[type[Exception], ...] = (),
        lane: Lane | None = None,
    ) -> asyncio.Task[WorkerOutcome]:
        """Queue one worker as its own task (``WorkerQueued`` is emitted right away).

        An error of a ``quiet`` type is returned without ``WorkerFailed`` so the caller can
        retry the same worker (the chain's context-length shrink). ``lane`` sends its requests
        to another model under that lane's own cap (default: the run's).
        """
        self.ended.discard(worker_id)
        if self.system_prompt:
            messages = with_system_prompt(messages, self.system_prompt)
        lane = lane or self.lane
        self.emit(WorkerQueued(self.run_id, worker_id, label, step, group=lane.name))
        task = asyncio.ensure_future(
            self._work(worker_id, messages, dict(kwargs), sink, quiet, lane))
        self.tasks[worker_id] = task
        return task

    async def gather(self, tasks: list[asyncio.Task[WorkerOutcome]]) -> list[WorkerOutcome]:
        """Wait for worker tasks; a worker cancelled before it began still gets an outcome."""
        results = await asyncio.gather(*tasks, return_exceptions=True)
        ids = {task: wid for wid, task in self.tasks.items()}
        outcomes: list[WorkerOutcome] = []
        for task, result in zip(tasks, results):
            if isinstance(result, WorkerOutcome):
                outcomes.append(result)
                continue
            worker_id = ids.get(task, "")
            if isinstance(result, asyncio.CancelledError):
                outcome = WorkerOutcome(worker_id, cancelled=True)
                if worker_id not in self.ended:
                    self.ended.add(worker_id)
                    self.emit(WorkerFailed(self.run_id, worker_id, None, "", cancelled=True))
                outcomes.append(outcome)
            else:
                raise result  # a real bug inside a worker: crash loudly
        return outcomes

    async def run_one(self, worker_id: str, messages: list[ChatMessage], kwargs: dict[str, Any],
                      **options: Any) -> WorkerOutcome:
        """Spawn one worker and wait for it."""
        return (await self.gather([self.spawn(worker_id, messages, kwargs, **options)]))[0]

    def cancel(self) -> None:
        """Cancel every worker of this run, queued or streaming."""
        self.cancel_requested = True
        for task in list(self.tasks.values()):
            task.cancel()

    def cancel_worker(self, worker_id: str) -> bool:
        """Cancel one worker; False when it is not running."""
        task = self.tasks.get(worker_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    async def _work(
        self,
        worker_id: str,
        messages: list[ChatMessage],
        kwargs: dict[str, Any],
        sink: Sink | None,
        quiet: tuple[type[Exception], ...],
        lane: Lane,
    ) -> WorkerOutcome:
        run_id, emit = self.run_id, self.emit
        semaphore = lane.semaphore
        content: list[str] = []
        reasoning: list[str] = []
        outcome = WorkerOutcome(worker_id)
        finished = False
        # Per-token path: everything it needs bound to locals once, the fan-out of emit()
        # inlined (same order: the summary, the recorder, then the listeners, in the run's list).
        summary, recorder, listeners, clock = self.summary, self.recorder, self.listeners, now
        add_content, add_reasoning = content.append, reasoning.append
        sink_write = sink.write if sink is not None else None
        try:
            kwargs = await self._fit(lane, worker_id, messages, kwargs)
            if semaphore is not None:
                await semaphore.acquire()
            try:
                t0 = clock()
                emit(WorkerStarted(run_id, worker_id, t0))
                first = True
                retry = True  # a context-length 400 before any text is fitted once more
                while True:
                    try:
                        async for event in lane.model.stream(messages, **kwargs):
                            if type(event) is Delta:
                                text, thought = event.content, event.reasoning
                                if event.index or not (text or thought):
                                    continue
                                t = clock()
                                if first:
                                    first = False
                                    emit(FirstToken(run_id, worker_id, t - t0, t))
                                if text:
                                    add_content(text)
                                if thought:
                                    add_reasoning(thought)
                                if sink_write is not None:
                                    try:
                                        sink_write(text, thought)
                                    except OSError as exc:
                                        raise _write_error(sink, exc) from exc
                                delta = TextDelta(run_id, worker_id, text, thought, t, event.tokens)
                                summary(delta)
                                if recorder is not None:
                                    recorder(delta)
                                for listener in listeners:
                                    listener(delta)
                                continue
                            kind = type(event)
                            if kind is Retrying:
                                emit(dataclasses.replace(event, run_id=run_id, worker_id=worker_id))
                            elif kind is StreamFinished:
                                finished = True
                                completion = event.completion
                                outcome.finish_reason = completion.finish_reason
                                outcome.usage = completion.usage
                                outcome.metrics = completion.metrics
                    except ContextLengthError as error:
                        if not (retry and first):
                            raise
                        retry = False
                        kwargs = await self._refit(lane, worker_id, messages, kwargs, error)
                        continue
                    break
            finally:
                if semaphore is not None:
                    semaphore.release()
            if not finished:
                raise TruncatedStreamError("the stream ended without a finish event")
            if sink is not None:
                _close(sink)  # its last text is written here: a disk error fails the worker
        except asyncio.CancelledError:
            # Swallowed on purpose: Run.gather re-raises when the run itself was cancelled.
            outcome.cancelled = True
            self._end(outcome, content, reasoning, sink)
            self.ended.add(worker_id)
            emit(WorkerFailed(run_id, worker_id, None, outcome.content, cancelled=True))
            return outcome
        except AgentDeckError as error:
            outcome.error = error
            self._end(outcome, content, reasoning, sink)
            if not isinstance(error, quiet):
                self.ended.add(worker_id)
                emit(WorkerFailed(run_id, worker_id, error, outcome.content))
            return outcome
        self._end(outcome, content, reasoning, sink)
        self.ended.add(worker_id)
        emit(WorkerFinished(run_id, worker_id, outcome.finish_reason, outcome.usage,
                            outcome.metrics))
        return outcome

    async def _fit(self, lane: Lane, worker_id: str, messages: list[ChatMessage],
                   kwargs: dict[str, Any]) -> dict[str, Any]:
        """Lower ``max_tokens`` to what the window leaves, before the request goes out."""
        asked = _max_tokens(kwargs)
        sent = await lane.fitter.fit(messages, asked)
        if sent != asked and sent is not None:
            # A new dict: a system may hand the same kwargs to every worker (debate's seats),
            # and one long prompt's lowering must not cap the others.
            kwargs = {**kwargs, "max_tokens": sent}
            await self._report(lane, worker_id, asked, sent)
        return kwargs

    async def _refit(self, lane: Lane, worker_id: str, messages: list[ChatMessage],
                     kwargs: dict[str, Any], error: ContextLengthError) -> dict[str, Any]:
        """After a context-length 400: fit with the server's numbers, or raise ``error``."""
        asked = _max_tokens(kwargs)
        sent = await lane.fitter.refit(error, messages, asked)
        if sent is None:
            raise error
        self.emit(Retrying(1, 2, 0.0, f"context length exceeded: max_tokens lowered to {sent} "
                           f"({error})", run_id=self.run_id, worker_id=worker_id))
        if asked is not None:
            await self._report(lane, worker_id, asked, sent)
        return {**kwargs, "max_tokens": sent}

    async def _report(self, lane: Lane, worker_id: str, asked: int | None, sent: int) -> None:
        """``ParamsFitted`` for the run's first lowered request only."""
        if not self.fitted and asked is not None:
            self.fitted = True
            window = await lane.fitter.window() or 0
            self.emit(ParamsFitted(self.run_id, worker_id, "max_tokens", asked, sent, window))

    @staticmethod
    def _end(outcome: WorkerOutcome, content: list[str], reasoning: list[str],
             sink: Sink | None) -> None:
        outcome.content = "".join(content)
        outcome.reasoning = "".join(reasoning)
        if sink is not None:
            try:
                sink.close()
            except OSError:
                pass  # the write error, if any, was already reported


def with_system_prompt(messages: list[ChatMessage], prompt: str) -> list[ChatMessage]:
    """``messages`` with ``prompt`` first: a system message of its own, or put before the
    text of the system message they start with (MoA's later layers, an agent's own); left as
    they are when that message starts with it already."""
    if messages and messages[0].get("role") == "system":
        head = messages[0]
        content = head.get("content")
        if isinstance(content, str):
            if content.startswith(prompt):
                return messages
            return [{**head, "content": f"{prompt}\n\n{content}"}, *messages[1:]]
    return [{"role": "system", "content": prompt}, *messages]


def _max_tokens(kwargs: dict[str, Any]) -> int | None:
    """The request's ``max_tokens``: its own, else its ``params``' (kwargs win over params)."""
    value = kwargs.get("max_tokens")
    if value is None:
        value = getattr(kwargs.get("params"), "max_tokens", None)
    return value if isinstance(value, int) else None


def _close(sink: Sink) -> None:
    """Close a sink that buffers (its final write happens here), reporting disk errors."""
    try:
        sink.close()
    except OSError as exc:
        raise _write_error(sink, exc) from exc


def _write_error(sink: Sink, exc: OSError) -> InputError:
    """A sink's disk error fails this worker only (listeners' errors stay loud)."""
    where = getattr(sink, "path", "the output file")
    return InputError(f"cannot write {where}: {exc.strerror or exc}")
