"""``CompareSystem``: one prompt to 2 to 8 targets, N calls each, side by side and fair.

A target is an endpoint profile, a base URL, a model on the current endpoint, or one of those
with its own params (``config.targets``); ``target_models.models_for`` gives each its model, with its
own key. Fair by construction: calls start interleaved (A1, B1, A2, B2, ...), so no target gets
an idle server first; call i carries the same seed on every target (a paired comparison; with
no seed given one is drawn and recorded); each target has its own concurrency cap and window
(a ``Lane``). Worker ids are ``A-01``, ``B-01``...; a target's workers form one group
(``WorkerQueued.group``) whose live figures are ``target_summaries[key]`` (the run summary's
group). Short answers are tallied per target, and the targets agree when their answers
(majorities, or single answers) are the same (``aggregate.agreement``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..client.model import BaseModel
from ..config.targets import Target, public_url
from ..events import EventListener
from ..store.summary import RunSummary
from ..types import GenerationParams
from .aggregate import agreement
from .base import (
    Orchestrator,
    Run,
    WorkerOutcome,
    ended_status,
    failed_calls,
    json_params,
)
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


class CompareSystem(Orchestrator):
    """Sends one prompt to each of several targets ``calls`` times, interleaved and paired."""

    system = "compare"

    def __init__(self, model: BaseModel, *, listeners: Iterable[EventListener] = (),
                 store: Any = None, concurrency: int | None = None,
                 settings: Settings | None = None, system_prompt: str | None = None) -> None:
        super().__init__(model, listeners=listeners, store=store, concurrency=concurrency,
                         system_prompt=system_prompt)
        self.settings = settings
        """Where ``profile=`` targets are found (None: ``load_settings()``)."""
        self.targets: tuple[TargetRun, ...] = ()
        """The current (or last) run's targets, set before its ``RunStarted``."""

    @property
    def target_summaries(self) -> dict[str, RunSummary]:
        """Each target's live run summary by key (``snapshot()`` gives its figures)."""
        summary = self.summary
        return dict(summary.groups) if summary is not None else {}

    @classmethod
    def from_request(cls, model: BaseModel, request: RunRequest) -> CompareSystem:
        """The system a registry request describes (the registry's ``make``)."""
        return cls(model, listeners=request.listeners, store=request.store,
                   concurrency=request.concurrency, settings=request.settings,
                   system_prompt=request.system_prompt)

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

    async def run_request(self, request: RunRequest) -> RunResult:
        """The registry's entry point: ``request.calls`` calls to each of its targets.

        Raises:
            InputError: fewer than 2 or more than 8 targets, bad params (before any request).
            AgentDeckError: a target's endpoint is unusable or unreachable, lists no model or
                not the target's (before any request; the message names the target).
        """
        from .target_models import models_for

        targets: list[Target] = TARGETS.check(request.options.get("targets"), "targets")
        calls = COMPARE_CALLS.check(COMPARE_CALLS.or_default(request.calls), "calls")
        params = json_params(request.params.to_body())
        seed = params.pop("seed", None)
        drawn = seed is None
        if drawn:
            seed = secrets.randbelow(2**31 - MAX_CALLS)
        async with contextlib.AsyncExitStack() as stack:
            with self.preparing():
                models = await stack.enter_async_context(
                    models_for(targets, self.model, request.settings or self.settings,
                               check=True))
            plans = _plans(targets, models, params, seed, calls)
            return await self._compare(request, plans, params, seed, drawn, calls)

    async def _compare(self, request: RunRequest, plans: list[TargetRun], params: dict[str, Any],
                       seed: int, drawn: bool, calls: int) -> RunResult:
        self.targets = tuple(plans)
        concurrency = request.concurrency or self.concurrency
        order = tuple(p.workers[i] for i in range(calls) for p in plans)
        run_params = {**params, "seed": seed, "seed_drawn": drawn, "calls_per_target": calls,
                      "concurrency_per_target": concurrency}
        run = self.open_run(request, params=run_params, workers=order,
                            label=request.label or self.system,
                            manifest={"targets": [p.manifest() for p in plans]})
        lanes = {p.key: Lane.of(p.model, concurrency, p.key) for p in plans}
        messages = [{"role": "user", "content": request.prompt}]

        async def body() -> tuple[str, list[WorkerOutcome]]:
            # Every window is known before the first spawn, so no target's requests wait on a
            # /v1/models the other's do not: the spawn order is the order on the wire.
            await asyncio.gather(*(lane.fitter.window() for lane in lanes.values()))
            tasks = [run.spawn(plan.workers[i], messages, {**plan.params, "seed": plan.seed + i},
                               label=f"{plan.target.label} · call {i + 1}", lane=lanes[plan.key])
                     for i in range(calls) for plan in plans]
            outcomes = await run.gather(tasks)
            failed = sum(not o.ok for o in outcomes)
            return ended_status(run, failed, len(outcomes)), outcomes

        outcomes: list[WorkerOutcome] = await self.drive(run, body)
        return self._result(run, plans, outcomes, seed)

    def _result(self, run: Run, plans: list[TargetRun], outcomes: list[WorkerOutcome],
                seed: int) -> RunResult:
        by_id = {o.worker_id: o for o in outcomes}
        files = {w: self.worker_file(w) for w in by_id}
        groups = run.summary.groups
        summaries = {p.name: groups[p.key].snapshot() for p in plans if p.key in groups}
        agreed = agreement({p.key: [by_id[w].content for w in p.workers if by_id[w].ok]
                            for p in plans})
        entries = []
        for plan in plans:
            entry = plan.manifest()
            entry.update(workers={w: files[w] if by_id[w].ok else f"ERROR: {by_id[w].reason}"
                                  for w in plan.workers},
                         failed=[w for w in plan.workers if not by_id[w].ok],
                         summary=summaries.get(plan.name),
                         tally=agreed["tallies"].get(plan.key),  # type: ignore[attr-defined]
                         answer=agreed["answers"].get(plan.key))  # type: ignore[attr-defined]
            entries.append(entry)
        per = {p.key: sum(not by_id[w].ok for w in p.workers) for p in plans}
        return RunResult(
            run.run_id, run.status, "",
            workers={w: WorkerResult(o, files[w]) for w, o in by_id.items()},
            report={"run_id": run.run_id, "status": run.status, "seed": seed,
                    "targets": entries, "failed": [o.worker_id for o in outcomes if not o.ok],
                    "agreement": agreed},
            brief={"targets": {p.name: agreed["answers"].get(p.key)  # type: ignore[attr-defined]
                               for p in plans}, "agree": agreed["agree"]},
            lines=_lines(plans, by_id, files, agreed),
            failure=failed_calls(sum(per.values()), len(by_id),
                                 ", ".join(f"{k}: {n}" for k, n in per.items() if n)),
            summary=self.summary_document(),
            summaries=summaries,
        )


def _plans(targets: list[Target], models: list[BaseModel], params: dict[str, Any], seed: int,
           calls: int) -> list[TargetRun]:
    """Each target's plan: its params over the run's (a ``seed`` of its own is its base)."""
    width = max(2, len(str(calls)))
    plans = []
    for key, target, model in zip(KEYS[:len(targets)], targets, models, strict=True):
        own = json_params({**params, **target.params})  # refuses n > 1 here too
        base = own.pop("seed", seed)
        plans.append(TargetRun(key, target, model, own, base,
                               tuple(f"{key}-{i:0{width}d}" for i in range(1, calls + 1))))
    return plans


def _lines(plans: list[TargetRun], by_id: dict[str, WorkerOutcome],
           files: dict[str, str | None], agreed: dict[str, Any]) -> tuple[str, ...]:
    """Each target, its workers' files (or errors), its tally; then whether they agree."""
    from .aggregate import Vote

    lines = []
    for plan in plans:
        lines.append(plan.name)
        for w in plan.workers:
            outcome = by_id[w]
            where = files[w] or "(not recorded)"
            lines.append(f"  {w}: {where if outcome.ok else f'ERROR: {outcome.reason}'}")
        counts = agreed["tallies"].get(plan.key)
        if counts:
            winner = next(iter(counts))
            lines.append(f"  answer: {Vote(winner, counts, sum(counts.values())).summary}")
    if agreed["agree"]:
        lines.append(f"targets agree: {next(iter(agreed['answers'].values()))}")
    elif agreed["agree"] is not None:
        lines.append("targets do not agree: " + ", ".join(
            f"{k} {a if a is not None else '(no majority)'}"
            for k, a in agreed["answers"].items()))
    return tuple(lines)
