"""``ChainOfAgents``: long text read by a chain of workers, answered by a manager.

Chain of Agents (Zhang et al., NeurIPS 2024): the text is cut into chunks that fit the
context window; worker i reads chunk i, the previous worker's *communication unit* and the
question, and writes a new unit; the manager answers from the last unit only. Workers run
strictly in order (each needs the unit before it). With ``query_aware=False`` the workers
write plain running summaries (the paper's variant for summarisation) and the question is
given to the manager only, as its task.

Worker ids: ``chunk-01`` ... and ``manager``; each worker is one step, and every unit is kept
as that step's output (``StepFinished``), so the run folder holds the whole chain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..client.model import BaseModel
from ..errors import ContextLengthError, InputError
from ..events import EventListener, Retrying, StepFinished, StepStarted
from .base import Orchestrator, Run, WorkerOutcome, clip, json_params, split_options
from .chunking import Budget, Chunker, TokenCounter, plan_budget
from .declarations import CHUNK_SIZE, MANAGER, MIN_CHUNK_TOKENS
from .request import RunRequest, RunResult, WorkerResult

__all__ = ["ChainOfAgents", "ChainResult", "manager_prompt", "worker_prompt"]

SHRINK = 0.6
"""After a context-length error the chunk is cut to this share of its size and retried once."""
_NO_UNIT = "(none yet: this is the beginning of the text)"


def worker_prompt(chunk: str, unit: str, question: str, query_aware: bool = True) -> str:
    """A worker's instruction: its chunk first, then the previous unit, then the question."""
    earlier = unit.strip() or _NO_UNIT
    if query_aware:
        return (
            f"{chunk}\n\nSummary of the text before this part:\n{earlier}\n\n"
            f"Question: {question}\n\n"
            "Read this part of the text together with the summary of what came before it and "
            "write one new summary that combines both. The next reader sees only your summary, "
            "not the text, and must answer the question from it: keep every fact, name, number "
            "and piece of evidence that may bear on the question, and drop what cannot.\n\n"
            "New summary:"
        )
    return (
        f"{chunk}\n\nSummary of the text before this part:\n{earlier}\n\n"
        "Read this part of the text together with the summary of what came before it and "
        "write one new summary that combines both. It will be the only source for a summary "
        "of the whole text, so make it fairly detailed and keep the order of events.\n\n"
        "New summary:"
    )


def manager_prompt(unit: str, question: str, query_aware: bool = True) -> str:
    """The manager's instruction: the last unit only, then the question or task."""
    if query_aware:
        return (
            "The source text was too long to read at once, so a chain of readers condensed it "
            "into the summary below. Answer the question using that summary.\n\n"
            f"Summary:\n{unit.strip()}\n\nQuestion: {question}\n\nAnswer:"
        )
    return (
        f"{question}\n\nThe source text was too long to read at once, so a chain of readers "
        "condensed it into the summary below. Work from that summary.\n\n"
        f"Summary:\n{unit.strip()}\n\nAnswer:"
    )


@dataclass
class ChainResult:
    """Everything a chain run produced (``run()`` returns only ``answer``)."""

    answer: str
    units: list[str] = field(default_factory=list)
    """Communication unit written after each chunk, in order."""
    chunks: list[str] = field(default_factory=list)
    budget: Budget | None = None
    outcomes: dict[str, WorkerOutcome] = field(default_factory=dict)
    """Worker id -> how that step ended, with its text."""

    def result_document(self) -> dict[str, Any] | None:
        """For run.json's ``result``: the manager's answer."""
        return {"answer": self.answer} if self.answer else None


class ChainOfAgents(Orchestrator):
    """Answers a question over a text too long for the model's context window.

    Args:
        system_id: A name for the run manifest.
        model: The model every worker and the manager use.
        chunk_size: Upper bound on a chunk's tokens (the seed counted characters); None
            lets the context budget decide.
        chunk_overlap: Tokens of whole sentences repeated at the start of the next chunk.
            The paper uses none: context travels in the communication unit.
        query_aware: False for plain summarisation (workers do not see the question).
        unit_tokens: ``max_tokens`` of each worker (the unit's size); default from the
            caller's ``max_tokens`` or the window.
    """

    system = "chain"

    def __init__(
        self,
        system_id: str,
        model: BaseModel,
        chunk_size: int | None = None,
        chunk_overlap: int = 0,
        *,
        query_aware: bool = True,
        unit_tokens: int | None = None,
        listeners: Iterable[EventListener] = (),
        store: Any = None,
        concurrency: int | None = None,
        system_prompt: str | None = None,
        confirm: Callable[[int], Awaitable[bool]] | None = None,
    ) -> None:
        super().__init__(model, listeners=listeners, store=store, concurrency=concurrency,
                         system_prompt=system_prompt)
        self.confirm = confirm
        """Asked with the number of steps once the text is cut, before any step is sent;
        False ends ``run`` with ``CancelledError`` and nothing recorded."""
        if chunk_size is not None and not CHUNK_SIZE.fits(chunk_size):
            raise InputError(f"chunk_size must be at least {CHUNK_SIZE.minimum} tokens")
        if chunk_size is not None and not 0 <= chunk_overlap < chunk_size // 2:
            raise InputError("chunk_overlap must be below half of chunk_size")
        self.system_id = system_id
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.query_aware = query_aware
        self.unit_tokens = unit_tokens
        self.last_result: ChainResult | None = None

    @classmethod
    def from_request(cls, model: BaseModel, request: RunRequest) -> ChainOfAgents:
        """The chain a registry request describes (the registry's ``make``)."""
        options = request.options
        return cls(
            request.label or cls.system, model, chunk_size=options.get("chunk_size"),
            query_aware=not options.get("summarize"), unit_tokens=options.get("unit_tokens"),
            listeners=request.listeners, store=request.store, concurrency=request.concurrency,
            system_prompt=request.system_prompt, confirm=request.confirm,
        )

    async def run(self, initial_prompt: str, long_text: str, **kwargs: Any) -> str:
        """Return the manager's answer to ``initial_prompt`` over ``long_text``.

        ``kwargs`` are generation params; ``max_tokens`` caps the manager's answer and,
        unless ``unit_tokens`` was given, each unit.

        Raises:
            InputError: empty question or text, or no room for text (before any request).
            AgentDeckError: a step failed; the units so far stay in the run folder.
            asyncio.CancelledError: ``cancel()`` stopped the chain.
        """
        split_options(kwargs, ("concurrency",))
        if not initial_prompt or not initial_prompt.strip():
            raise InputError("the question is empty")
        if not long_text or not long_text.strip():
            raise InputError("the long text is empty")
        counter = TokenCounter(self.model)
        question = initial_prompt if self.query_aware else ""
        template = worker_prompt("", "", question, self.query_aware)
        with self.preparing():  # measuring a long text takes requests too: cancel() stops it
            budget = await plan_budget(self.model, counter, template, question,
                                       self.unit_tokens, self.chunk_size, kwargs.get("max_tokens"))
            chunker = Chunker(long_text, counter, self.chunk_overlap)
            spans = await chunker.split(budget.chunk)
        if self.confirm is not None and not await self.confirm(len(spans) + 1):
            raise asyncio.CancelledError(f"chain {self.system_id} was not confirmed")
        params = json_params(kwargs)
        params.update(long_text_chars=len(long_text), chunks=len(spans), budget=budget.describe(),
                      query_aware=self.query_aware, unit_tokens=budget.unit)
        width = max(2, len(str(len(spans))))
        run = self.open_run(
            params=params, prompts={"prompt": initial_prompt, "long_text": clip(long_text, 4096)},
            workers=tuple(_chunk_id(i, width) for i in range(1, len(spans) + 1)) + (MANAGER,),
            concurrency=self.concurrency, label=self.system_id,
        )
        state = _ChainState(run, chunker, spans, budget, width, initial_prompt, kwargs)
        result: ChainResult = await self.drive(run, lambda: self._chain(state))
        if run.status == "cancelled":  # cancel(), or cancel_worker() on the step running
            raise asyncio.CancelledError(f"chain {self.system_id} was cancelled")
        return result.answer

    async def run_request(self, request: RunRequest) -> RunResult:
        """The registry's entry point: ``run(prompt, attachment)`` with the request's params.

        Raises:
            AgentDeckError: a step failed; the units so far stay in the run folder.
            asyncio.CancelledError: ``cancel()`` stopped the chain.
        """
        answer = await self.run(request.prompt, request.attachment or "",
                                **request.params.to_body())
        result, run_id = self.last_result, self.last_run_id
        assert result is not None  # run() set it or raised
        return RunResult(
            run_id, "done", answer,
            workers={w: WorkerResult(o, self.worker_file(w)) for w, o in result.outcomes.items()},
            report={"run_id": run_id, "answer": answer, "units": result.units,
                    "chunks": len(result.chunks),
                    "budget": result.budget.describe() if result.budget else None},
            brief={"answer": answer},
            summary=self.summary_document(),
        )

    async def _chain(self, s: _ChainState) -> tuple[str, ChainResult]:
        result = ChainResult("", budget=s.budget)
        self.last_result = result
        unit = ""
        worker_kwargs = {**s.kwargs, "max_tokens": s.budget.unit}
        i = 0
        while i < len(s.spans):
            if s.run.cancel_requested:
                return "cancelled", result
            step = i + 1
            wid = _chunk_id(step, s.width)
            outcome = result.outcomes[wid] = await self._step(s, i, unit, worker_kwargs, wid)
            if outcome.cancelled:
                return "cancelled", result
            if outcome.error is not None:
                raise outcome.error
            unit = outcome.content.strip()
            start, end = s.spans[i]
            result.chunks.append(s.chunker.text[start:end])
            result.units.append(unit)
            s.run.emit(StepFinished(s.run.run_id, step, unit, wid))
            i += 1
        step = len(s.spans) + 1
        s.run.emit(StepStarted(s.run.run_id, step, step, "manager", MANAGER))
        messages = [{"role": "user", "content": manager_prompt(unit, s.question,
                                                                self.query_aware)}]
        outcome = await s.run.run_one(MANAGER, messages, s.kwargs, label="manager", step=step)
        result.outcomes[MANAGER] = outcome
        if outcome.cancelled:
            return "cancelled", result
        if outcome.error is not None:
            raise outcome.error
        result.answer = outcome.text
        s.run.emit(StepFinished(s.run.run_id, step, outcome.content, MANAGER))
        return "done", result

    async def _step(self, s: _ChainState, i: int, unit: str, kwargs: dict[str, Any],
                    wid: str) -> WorkerOutcome:
        """One worker; a context-length error shrinks its chunk and retries once."""
        outcome = await self._attempt(s, i, unit, kwargs, wid, (ContextLengthError,))
        if not isinstance(outcome.error, ContextLengthError):
            return outcome
        start, end = s.spans[i]
        size = await s.chunker.counter.count(s.chunker.text[start:end])
        limit = max(MIN_CHUNK_TOKENS // 2, int(min(size, s.limit) * SHRINK))
        s.limit = limit
        s.spans[i:] = await s.chunker.split(limit, start)
        s.run.emit(Retrying(1, 2, 0.0, f"context length exceeded: chunk cut from {size} to at "
                            f"most {limit} tokens ({outcome.error})",
                            run_id=s.run.run_id, worker_id=wid))
        return await self._attempt(s, i, unit, kwargs, wid, ())

    async def _attempt(self, s: _ChainState, i: int, unit: str, kwargs: dict[str, Any],
                       wid: str, quiet: tuple[type[Exception], ...]) -> WorkerOutcome:
        start, end = s.spans[i]
        label = f"chunk {i + 1}/{len(s.spans)}"
        s.run.emit(StepStarted(s.run.run_id, i + 1, len(s.spans) + 1, label, wid))
        prompt = worker_prompt(s.chunker.text[start:end], unit, s.question, self.query_aware)
        return await s.run.run_one(wid, [{"role": "user", "content": prompt}], kwargs,
                                   label=label, step=i + 1, quiet=quiet)


class _ChainState:
    """Mutable state of one chain run (spans change when a chunk is shrunk)."""

    def __init__(self, run: Run, chunker: Chunker, spans: list[tuple[int, int]],
                 budget: Budget, width: int, question: str, kwargs: dict[str, Any]) -> None:
        self.run, self.chunker, self.spans, self.budget = run, chunker, spans, budget
        self.width, self.question, self.kwargs = width, question, kwargs
        self.limit = budget.chunk


def _chunk_id(step: int, width: int) -> str:
    return f"chunk-{step:0{width}d}"
