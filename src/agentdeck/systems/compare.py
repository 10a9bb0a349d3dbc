"""``CompareSystem``: one prompt to 2 to 8 targets, N calls each, side by side and fair.

A target is an endpoint profile, a base URL, a model on the current endpoint, or one of those
with its own params (``config.targets``); ``connect.models_for`` gives each its model, with its
own key. Fair by construction: calls start interleaved (A1, B1, A2, B2, ...), so no target gets
an idle server first; call i carries the same seed on every target (a paired comparison; with
no seed given one is drawn and recorded); each target has its own concurrency cap and window
(a ``Lane``). Worker ids are ``A-01``, ``B-01``...; a target's workers form one group
(``WorkerQueued.group``) whose live figures are ``target_summaries[key]``. Short answers are
tallied per target, and the targets agree when their majority answers are the same.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..client.model import BaseModel
from ..config.targets import Target, public_url
from ..events import (
    EventListener,
    RunEvent,
    RunFinished,
    RunStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
)
from ..store.summary import RunSummary
from ..types import GenerationParams
from .aggregate import Vote, all_short, answer_key, majority_vote
from .base import Orchestrator, Run, WorkerOutcome, json_params
from .declarations import COMPARE_CALLS, MAX_CALLS, TARGETS
from .request import RunRequest, RunResult, WorkerResult
from .run import Lane

if TYPE_CHECKING:
    from ..config.settings import Settings

__all__ = ["KEYS", "CompareSystem", "TargetRun"]

KEYS = "ABCDEFGH"
"""Each target's key, in the order given (at most ``TARGETS.maximum``)."""


@dataclass
class TargetRun:
    """One target of a compare run: what it is, its model, its params and its workers."""

    key: str
    target: Target
    model: BaseModel
    params: dict[str, Any]
    """The body params of its requests (the run's, with the target's over them), seed aside."""
    seed: int
    """Call i (1-based) sends ``seed + i - 1``."""
    workers: tuple[str, ...]
    done: list[WorkerOutcome] = field(default_factory=list)
    """Outcomes of its workers as they end (the live tally reads them)."""

    @property
    def name(self) -> str:
        """``A: a/b:1 temperature=0.2``: a column's name in summaries and tables."""
        return f"{self.key}: {self.target.label}"

    def manifest(self) -> dict[str, Any]:
        """Its entry in run.json's ``targets`` (the endpoint without credentials, no key)."""
        return {"key": self.key, "label": self.target.label, "target": self.target.text(),
                "endpoint": public_url(getattr(self.model, "base_url", "") or "") or None,
                "model": getattr(self.model, "model_name", None), "params": self.params,
                "seed": self.seed, "workers": list(self.workers)}

    def vote(self) -> Vote | None:
        """The tally of its finished answers so far; None when they are not all short."""
        texts = [o.content for o in self.done if o.ok and o.content.strip()]
        return majority_vote(texts) if texts and all_short(texts) else None


class _Groups:
    """Listener handing each target's worker events to that target's summary.

    The run's start goes to every summary; a target's figures end when its last worker does,
    so its throughput is over its own wall time.
    """

    def __init__(self, plans: Iterable[TargetRun], summaries: dict[str, RunSummary]) -> None:
        plans = list(plans)
        self.summaries = summaries
        self.owner = {w: p.key for p in plans for w in p.workers}
        self.by_worker = {w: summaries[key] for w, key in self.owner.items()}
        self.pending = {p.key: set(p.workers) for p in plans}

    def __call__(self, event: RunEvent) -> None:
        kind = event.__class__
        if kind is TextDelta:  # the hot path: one lookup, one call
            summary = self.by_worker.get(event.worker_id)  # type: ignore[union-attr]
            if summary is not None:
                summary(event)
            return
        if kind is RunStarted or kind is RunFinished:
            for key, summary in self.summaries.items():
                if kind is RunStarted or self.pending[key]:
                    summary(event)
            return
        worker_id = getattr(event, "worker_id", "")
        summary = self.by_worker.get(worker_id)
        if summary is None:
            return
        summary(event)
        if kind is WorkerFinished or kind is WorkerFailed:
            pending = self.pending[self.owner[worker_id]]
            if worker_id in pending:
                pending.discard(worker_id)
                if not pending:
                    summary(RunFinished(event.run_id, "done", t=event.t))  # type: ignore[attr-defined]


class CompareSystem(Orchestrator):
    """Sends one prompt to each of several targets ``calls`` times, interleaved and paired."""

    system = "compare"

    def __init__(self, model: BaseModel, *, listeners: Iterable[EventListener] = (),
                 store: Any = None, concurrency: int | None = None,
                 settings: Settings | None = None) -> None:
        super().__init__(model, listeners=listeners, store=store, concurrency=concurrency)
        self.settings = settings
        """Where ``profile=`` targets are found (None: ``load_settings()``)."""
        self.targets: tuple[TargetRun, ...] = ()
        """The current (or last) run's targets, set before its ``RunStarted``."""
        self.target_summaries: dict[str, RunSummary] = {}
        """Each target's live run summary by key (``snapshot()`` gives its figures)."""

    @classmethod
    def from_request(cls, model: BaseModel, request: RunRequest) -> CompareSystem:
        """The system a registry request describes (the registry's ``make``)."""
        return cls(model, listeners=request.listeners, store=request.store,
                   concurrency=request.concurrency, settings=request.settings)

    async def run(self, prompt: str, targets: Iterable[Any], calls: int = 4,
                  **params: Any) -> RunResult:
        """Compare ``targets`` (``Target``, ``"model=x,temperature=0.2"``...) on ``prompt``.

        ``params`` go with every request (a ``seed`` is the first call's on every target).
        """
        from .registry import get

        request = get(self.system).prepare(RunRequest(
            prompt, calls=calls, options={"targets": list(targets)},
            params=GenerationParams.from_kwargs(**params), concurrency=self.concurrency))
        return await self.run_request(request)

    def target_of(self, worker_id: str) -> TargetRun | None:
        """The target a worker of the current (or last) run belongs to."""
        return next((p for p in self.targets if worker_id in p.workers), None)

    async def run_request(self, request: RunRequest) -> RunResult:
        """The registry's entry point: ``request.calls`` calls to each of its targets.

        Raises:
            InputError: fewer than 2 or more than 8 targets, bad params (before any request).
            AgentDeckError: a target's endpoint is unusable, unreachable or lists no model.
        """
        from ..connect import models_for

        targets: list[Target] = TARGETS.check(request.options.get("targets"), "targets")
        calls = COMPARE_CALLS.check(COMPARE_CALLS.or_default(request.calls), "calls")
        concurrency = request.concurrency or self.concurrency
        params = json_params(request.params.to_body())
        seed = params.pop("seed", None)
        drawn = seed is None
        if drawn:
            seed = secrets.randbelow(2**31 - MAX_CALLS)
        self._preparing, self._cancel_pending = True, False
        try:
            async with models_for(targets, self.model, request.settings or self.settings) \
                    as models:
                self._preparing = False
                if self._cancel_pending:
                    raise asyncio.CancelledError("compare was cancelled")
                plans = _plans(targets, models, params, seed, calls)
                return await self._compare(request, plans, params, seed, drawn, calls,
                                           concurrency)
        finally:
            self._preparing = False

    async def _compare(self, request: RunRequest, plans: list[TargetRun], params: dict[str, Any],
                       seed: int, drawn: bool, calls: int, concurrency: int | None) -> RunResult:
        self.targets = tuple(plans)
        self.target_summaries = {p.key: RunSummary() for p in plans}
        groups = _Groups(plans, self.target_summaries)
        order = tuple(p.workers[i] for i in range(calls) for p in plans)
        run_params = {**params, "seed": seed, "seed_drawn": drawn, "calls_per_target": calls,
                      "concurrency_per_target": concurrency}
        self._listeners.insert(0, groups)  # the run copies the list: its summaries come first
        try:
            run = self._open_run(params=run_params, prompts={"prompt": request.prompt},
                                 workers=order, concurrency=concurrency,
                                 label=request.label or self.system,
                                 manifest={"targets": [p.manifest() for p in plans]})
        finally:
            self._listeners.remove(groups)
        lanes = {p.key: Lane.of(p.model, concurrency, p.key) for p in plans}
        messages = [{"role": "user", "content": request.prompt}]

        async def body() -> tuple[str, list[WorkerOutcome]]:
            # Every window is known before the first spawn, so no target's requests wait on a
            # /v1/models the other's do not: the spawn order is the order on the wire.
            await asyncio.gather(*(lane.fitter.window() for lane in lanes.values()))
            tasks = []
            for i in range(calls):
                for plan in plans:
                    task = run.spawn(plan.workers[i], messages,
                                     {**plan.params, "seed": plan.seed + i},
                                     label=f"{plan.target.label} · call {i + 1}",
                                     lane=lanes[plan.key])
                    task.add_done_callback(plan_keeper(plan))
                    tasks.append(task)
            outcomes = await run.gather(tasks)
            return _status(outcomes, run), outcomes

        outcomes: list[WorkerOutcome] = await self._drive(run, body)
        return self._result(run, plans, outcomes, seed)

    def _result(self, run: Run, plans: list[TargetRun], outcomes: list[WorkerOutcome],
                seed: int) -> RunResult:
        by_id = {o.worker_id: o for o in outcomes}
        files = {w: self.worker_file(w) for w in by_id}
        summaries = {p.name: self.target_summaries[p.key].snapshot() for p in plans}
        agreement = _agreement(plans)
        entries = []
        for plan in plans:
            entry = plan.manifest()
            failed = [w for w in plan.workers if not by_id[w].ok]
            entry.update(workers={w: files[w] if by_id[w].ok else f"ERROR: {by_id[w].reason}"
                                  for w in plan.workers},
                         failed=failed, summary=summaries[plan.name],
                         tally=agreement["tallies"].get(plan.key),
                         answer=agreement["answers"].get(plan.key))
            entries.append(entry)
        failed = [o.worker_id for o in outcomes if not o.ok]
        return RunResult(
            run.run_id, run.status, "",
            workers={w: WorkerResult(o, files[w]) for w, o in by_id.items()},
            report={"run_id": run.run_id, "status": run.status, "seed": seed,
                    "targets": entries, "failed": failed, "agreement": agreement},
            brief={"targets": {p.name: agreement["answers"].get(p.key) for p in plans},
                   "agree": agreement["agree"]},
            lines=_lines(plans, by_id, files, agreement),
            failure=_failure(plans, by_id),
            summary=self.summary_document(),
            summaries=summaries,
        )


def plan_keeper(plan: TargetRun) -> Any:
    """A task callback keeping a worker's outcome with its target (for the live tally)."""

    def keep(task: asyncio.Task[WorkerOutcome]) -> None:
        if not task.cancelled() and task.exception() is None:
            plan.done.append(task.result())

    return keep


def _plans(targets: list[Target], models: list[BaseModel], params: dict[str, Any], seed: int,
           calls: int) -> list[TargetRun]:
    """Each target's plan: its params over the run's (a ``seed`` of its own is its base)."""
    width = max(2, len(str(calls)))
    plans = []
    for key, target, model in zip(KEYS, targets, models):
        own = json_params({**params, **target.params})  # refuses n > 1 here too
        base = own.pop("seed", seed)
        plans.append(TargetRun(key, target, model, own, base,
                               tuple(f"{key}-{i:0{width}d}" for i in range(1, calls + 1))))
    return plans


def _agreement(plans: list[TargetRun]) -> dict[str, Any]:
    """Per-target tallies of short answers, each target's majority answer, and whether the
    targets agree (None when the answers are not all short: nothing to compare)."""
    votes = {p.key: p.vote() for p in plans}
    if any(v is None for v in votes.values()):
        return {"short": False, "tallies": {}, "answers": {}, "agree": None}
    answers = {k: (v.winner if v.majority else None) for k, v in votes.items() if v}
    winners = {answer_key(a) for a in answers.values() if a is not None}
    agree = None not in answers.values() and len(winners) == 1
    return {"short": True, "tallies": {k: v.counts for k, v in votes.items() if v},
            "answers": answers, "agree": agree}


def _lines(plans: list[TargetRun], by_id: dict[str, WorkerOutcome],
           files: dict[str, str | None], agreement: dict[str, Any]) -> tuple[str, ...]:
    """Each target, its workers' files (or errors), its tally; then whether they agree."""
    lines = []
    for plan in plans:
        lines.append(plan.name)
        for w in plan.workers:
            outcome = by_id[w]
            where = files[w] or "(not recorded)"
            lines.append(f"  {w}: {where if outcome.ok else f'ERROR: {outcome.reason}'}")
        vote = plan.vote() if agreement["short"] else None
        if vote is not None:
            lines.append(f"  answer: {vote.summary}")
    if agreement["agree"]:
        lines.append(f"targets agree: {next(iter(agreement['answers'].values()))}")
    elif agreement["agree"] is not None:
        lines.append("targets do not agree: " + ", ".join(
            f"{k} {a if a is not None else '(no majority)'}"
            for k, a in agreement["answers"].items()))
    return tuple(lines)


def _status(outcomes: list[WorkerOutcome], run: Run) -> str:
    if run.cancel_requested:
        return "cancelled"
    failed = sum(not o.ok for o in outcomes)
    return "failed" if failed == len(outcomes) else "partial" if failed else "done"


def _failure(plans: list[TargetRun], by_id: dict[str, WorkerOutcome]) -> str:
    """``3 of 8 calls failed (A: 1, B: 2)`` ('' when none did)."""
    per = {p.key: sum(not by_id[w].ok for w in p.workers) for p in plans}
    failed = sum(per.values())
    if not failed:
        return ""
    where = ", ".join(f"{k}: {n}" for k, n in per.items() if n)
    return f"{failed} of {len(by_id)} calls failed ({where})"
