"""Running the failed or cancelled calls of a recorded multi-call run again, into that run.

The run is rebuilt from its ``run.json`` (prompt, params, calls, aggregation, output folder)
and reopened through its recorder: the calls that finished keep their text and figures, each
retried call keeps its worker id and file (its earlier attempt stays as
``<worker>.attempt-N.md``), an aggregation runs again over the calls that are done, and the
run's summary is rebuilt from every call's figures. ``agentdeck runs retry`` is its front end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..client.model import BaseModel
from ..errors import InputError
from ..events import EventListener
from ..store.runs import RunInfo, RunStore
from ..store.summary import RunSummary
from .multi import AGGREGATE_WORKER, MultiCallSystem, worker_id
from .output_files import OutputSet
from .request import RunResult
from .run import Run, WorkerOutcome

__all__ = ["RETRYABLE", "RetryPlan", "plan_retry", "retry_run"]

RETRYABLE = ("multi",)
"""Systems whose calls are independent, so one can run again alone (a chain's or a debate's
steps read each other's answers)."""
_OPTIONS = ("num_calls", "concurrency", "aggregate", "output_dir", "base_filename", "seeds",
            "temperatures")
_BAD = frozenset({"failed", "cancelled", "interrupted"})


@dataclass(frozen=True)
class RetryPlan:
    """What a retry of a recorded run would do."""

    info: RunInfo
    retry: tuple[str, ...]
    """Worker ids of the calls to run again (failed, cancelled or interrupted)."""
    aggregate_again: bool
    """The run's aggregation runs again (calls are retried, or the aggregation failed)."""
    params: dict[str, Any]

    @property
    def empty(self) -> bool:
        return not self.retry and not self.aggregate_again


def plan_retry(info: RunInfo) -> RetryPlan:
    """The calls of ``info`` to run again (the plan is ``empty`` when every call is done).

    Raises:
        InputError: the run is not of a system whose calls can be retried, is still running,
            or its manifest does not describe its calls.
    """
    if info.problem is not None:
        raise InputError(f"run {info.run_id} cannot be retried: {info.problem}")
    if info.system == "compare":
        raise InputError(f"run {info.run_id} is a compare run; a retry reconnects one endpoint "
                         "and a compare run's calls go to several targets: run the comparison "
                         "again (`agentdeck compare`)")
    if info.system not in RETRYABLE:
        raise InputError(f"run {info.run_id} is a {info.system or 'unknown'} run; only "
                         "multi-call runs can be retried (their calls do not depend on each "
                         "other)")
    if info.status == "running":
        raise InputError(f"run {info.run_id} is still running")
    params = dict(info.manifest.get("params") or {})
    calls = params.get("num_calls")
    prompt = info.prompts.get("prompt")
    if not isinstance(calls, int) or calls < 1 or not isinstance(prompt, str):
        raise InputError(f"run {info.run_id} does not record its prompt and number of calls")
    known = {worker_id(i, calls) for i in range(1, calls + 1)}
    states = {str(e.get("id")): str(e.get("status")) for e in info.workers}
    if not set(states) - {AGGREGATE_WORKER} <= known:
        raise InputError(f"run {info.run_id}'s calls are not named as this version names them")
    retry = tuple(sorted(w for w in known if states.get(w, "interrupted") in _BAD))
    aggregate = bool(params.get("aggregate")) and (
        bool(retry) or states.get(AGGREGATE_WORKER) in _BAD)
    return RetryPlan(info, retry, aggregate, params)


class _Reopened:
    """A run store whose one run is the reopened one (``Orchestrator.open_run`` asks it)."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder

    def create_run(self, **_: Any) -> Any:
        return self.recorder


class _Resumed(MultiCallSystem):
    """A multi-call system whose run is a recorded one: the calls that finished are handed
    back as they ended, the others run again (the hooks ``open_run``, ``_new_summary`` and
    ``_spawn`` are the only changes)."""

    def __init__(self, model: BaseModel, plan: RetryPlan, recorder: Any,
                 listeners: Iterable[EventListener]) -> None:
        info = plan.info
        system = info.prompts.get("system")
        super().__init__(plan.info.label or "multi", model, listeners=listeners,
                         store=_Reopened(recorder),
                         system_prompt=system if isinstance(system, str) else None)
        self._summary = recorder.summary
        self._retry = plan.retry
        self._done = {
            str(e["id"]): WorkerOutcome(str(e["id"]), info.read_text(str(e["id"])),
                                        info.read_reasoning(str(e["id"])),
                                        finish_reason=e.get("finish_reason"))
            for e in info.workers if e.get("status") == "done" and e.get("id") != AGGREGATE_WORKER
        }

    def open_run(self, request: Any = None, **options: Any) -> Run:
        """The recorded run, reopened; ``RunStarted`` names the calls that run again."""
        return super().open_run(request, **{**options, "workers": self._retry})

    def _new_summary(self) -> RunSummary:
        return self._summary

    def _spawn(self, run: Run, wid: str) -> Any:
        done = self._done.get(wid)
        if done is None:
            return super()._spawn(run, wid)
        ended: asyncio.Future[WorkerOutcome] = asyncio.get_running_loop().create_future()
        ended.set_result(done)
        return ended


async def retry_run(model: BaseModel, store: RunStore, plan: RetryPlan,
                    listeners: Iterable[EventListener] = ()) -> tuple[RunResult, list[str]]:
    """Run ``plan``'s calls again into its run; returns its result (every call, the retried
    and the kept) and notes for the user (may be empty).

    Raises:
        InputError: the run cannot be reopened (see ``RunStore.reopen_run``).
    """
    params = dict(plan.params)
    options = {name: params.pop(name) for name in _OPTIONS if name in params}
    notes = []
    output_dir = options.get("output_dir")
    base = options.get("base_filename") or "output"
    if output_dir:
        owner = OutputSet(Path(output_dir), base, {}).owner()
        if owner != plan.info.run_id:  # another run's files, or none saying whose they are
            whose = f"run {owner}'s" if owner else "no manifest naming this run for its"
            notes.append(f"{output_dir} holds {whose} {base}_*.txt: the retried calls are "
                         "kept in the run folder only")
            output_dir = None
    info = plan.info
    wall_before = float((info.summary or {}).get("wall_s") or info.wall or 0.0)
    recorder = store.reopen_run(info, RunSummary.from_entries(info.workers, wall_before))
    system = _Resumed(model, plan, recorder, listeners)
    extra = {name: options[name] for name in ("seeds", "temperatures", "aggregate", "concurrency")
             if options.get(name) is not None}
    try:
        await system.run(plan.info.prompts["prompt"], options["num_calls"], output_dir, base,
                         **params, **extra)
    finally:
        recorder.close()
    assert system.last_result is not None  # run() set it or raised
    return system.run_result(system.last_result), notes
