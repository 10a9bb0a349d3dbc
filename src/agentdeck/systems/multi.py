"""``MultiCallSystem``: the same prompt N times in parallel, each answer streamed to a file.

The seed's contract is kept: ``run(prompt, num_calls, output_dir, base_filename)`` writes
``<output_dir>/<base_filename>_<i>.txt`` as the text arrives and returns ``{"call_<i>":
path}`` with ``"ERROR: ..."`` in place of the path for a call that failed (its file keeps
the partial text). Worker ids are ``call-01`` ... (zero-padded so they sort). The folder's
``manifest.json`` says which run wrote the set; an earlier run's set under the same base name
is replaced whole (``output_files.OutputSet``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..client.model import BaseModel
from ..errors import InputError
from ..events import EventListener, StepFinished, StepStarted
from ..sanitize import safe_filename
from ..store.append_files import create_soon
from .aggregate import (
    AggregateResult,
    answer_key,
    extract_answer,
    majority_vote,
    parse_selection,
    select_prompt,
    synthesize_prompt,
)
from .base import (
    Orchestrator,
    Run,
    WorkerOutcome,
    ended_status,
    failed_calls,
    json_params,
    split_options,
)
from .declarations import (
    AGGREGATE,
    BASE_FILENAME,
    MULTI_CALLS,
    OUTPUT_DIR,
    TEMPERATURES,
)
from .inputs import CONCURRENCY
from .output_files import FileSink, OutputSet, partial_note, prepare_output_dir
from .quotes import QuoteFitter
from .request import RunRequest, RunResult, WorkerResult

__all__ = ["MultiCallSystem", "MultiResult", "task_id", "worker_id"]

AGGREGATE_WORKER = "aggregate"
OPTIONS = ("concurrency", "seeds", "temperatures", "aggregate")


def task_id(index: int) -> str:
    """The seed's key for call ``index`` (1-based): ``call_3``."""
    return f"call_{index}"


def worker_id(index: int, total: int) -> str:
    """The worker id of call ``index``: ``call-03`` (padded to the width of ``total``)."""
    return f"call-{index:0{max(2, len(str(total)))}d}"


@dataclass
class MultiResult:
    """Everything a multi-call run produced (``run()`` returns only ``files``)."""

    files: dict[str, str]
    """The seed's result: task id -> file path, or ``"ERROR: ..."``."""
    outcomes: dict[str, WorkerOutcome] = field(default_factory=dict)
    """Task id -> how that call ended, with its text."""
    paths: dict[str, str] = field(default_factory=dict)
    """Task id -> file path, failed calls included."""
    aggregate: AggregateResult | None = None
    replaced: list[str] = field(default_factory=list)
    """Files of an earlier run in the output folder that this run's set replaced."""

    @property
    def failed(self) -> list[str]:
        """Task ids of calls that did not finish."""
        return [t for t, o in self.outcomes.items() if not o.ok]

    def result_document(self) -> dict[str, Any] | None:
        """For run.json's ``result``: the aggregate, when one was asked for."""
        return {"aggregate": self.aggregate.document()} if self.aggregate is not None else None


class MultiCallSystem(Orchestrator):
    """Makes ``num_calls`` calls with the same prompt, at most ``concurrency`` at a time."""

    system = "multi"

    def __init__(
        self,
        system_id: str,
        model: BaseModel,
        *,
        listeners: Iterable[EventListener] = (),
        store: Any = None,
        concurrency: int | None = None,
        system_prompt: str | None = None,
    ) -> None:
        super().__init__(model, listeners=listeners, store=store, concurrency=concurrency,
                         system_prompt=system_prompt)
        self.system_id = system_id
        self.last_result: MultiResult | None = None
        self._plan: dict[str, tuple[int, dict[str, Any], Path | None]] = {}
        self._messages: list[dict[str, Any]] = []
        self._output: OutputSet | None = None

    async def run(
        self,
        prompt: str,
        num_calls: int,
        output_dir: str | None = OUTPUT_DIR.cli_default,
        base_filename: str = BASE_FILENAME.default,
        **kwargs: Any,
    ) -> dict[str, str]:
        """Run the calls; return ``{task_id: path or "ERROR: ..."}`` like the seed.

        ``output_dir=None`` skips the seed-style copies (the app does: the run store already
        keeps every call); the paths returned are then the run store's worker files.

        Options (popped from ``kwargs``; the rest are generation params for every call):
            concurrency: cap on calls in flight (default: the system's, else all at once).
            seeds: an int (call i gets seed + i - 1) or a list (one per call, cycled).
            temperatures: a list of temperatures, one per call, cycled.
            aggregate: ``vote``, ``select`` or ``synthesize``; see ``last_result.aggregate``.

        Raises:
            InputError: empty prompt, bad count, unwritable output folder (before any request).
        """
        return (await self._run_calls(prompt, num_calls, output_dir, base_filename, kwargs)).files

    @classmethod
    def from_request(cls, model: BaseModel, request: RunRequest) -> MultiCallSystem:
        """The system a registry request describes (the registry's ``make``)."""
        return cls(request.label or cls.system, model, listeners=request.listeners,
                   store=request.store, concurrency=request.concurrency,
                   system_prompt=request.system_prompt)

    async def run_request(self, request: RunRequest) -> RunResult:
        """The registry's entry point: ``request.calls`` calls, aggregated as it asks.

        A seed in the params becomes one seed per call (seed, seed + 1, ...): the same seed for
        every call would make every answer the same. Workers are keyed by worker id
        (``call-01``), their file None when nothing kept their text.
        """
        options = request.options
        kwargs = request.params.to_body()
        if "seed" in kwargs:
            kwargs["seeds"] = kwargs.pop("seed")
        for name, value in (("temperatures", options.get("temperatures")),
                            ("aggregate", request.aggregate)):
            if value is not None:
                kwargs[name] = value
        result = await self._run_calls(
            request.prompt, MULTI_CALLS.or_default(request.calls), options.get("output_dir"),
            BASE_FILENAME.or_default(options.get("base_filename")), kwargs)
        return self.run_result(result)

    def run_result(self, result: MultiResult) -> RunResult:
        """The registry's account of the last run (``result``: its ``last_result``)."""
        agg = result.aggregate
        failed = result.failed
        run = self._last_run
        return RunResult(
            self.last_run_id, run.status if run is not None else "done",
            agg.answer if agg is not None else "",
            workers={o.worker_id: WorkerResult(o, self._file(o.worker_id))
                     for o in result.outcomes.values()},
            aggregate=agg,
            report={"run_id": self.last_run_id, "results": result.files, "failed": failed,
                    "aggregate": agg, "replaced": result.replaced},
            brief={"results": result.files, "aggregate": agg},
            lines=tuple(f"{result.outcomes[tid].worker_id}: {value}"  # the id of progress lines
                        for tid, value in result.files.items()),
            notes=self._output.notes() if self._output is not None else (),
            failure=_failure(result),
            summary=self.summary_document(),
        )

    async def _run_calls(self, prompt: str, num_calls: int, output_dir: str | None,
                         base_filename: str, kwargs: dict[str, Any]) -> MultiResult:
        options = split_options(kwargs, OPTIONS)
        mode = options.get("aggregate")
        concurrency = options.get("concurrency")
        if concurrency is None:
            concurrency = self.concurrency
        _check(prompt, num_calls, mode, concurrency)
        folder = prepare_output_dir(output_dir) if output_dir is not None else None
        base = safe_filename(base_filename or BASE_FILENAME.default)
        per_call = _per_call_kwargs(kwargs, num_calls, options.get("seeds"),
                                    options.get("temperatures"))
        self._messages = [{"role": "user", "content": prompt}]
        self._plan = {}
        for i in range(1, num_calls + 1):
            path = folder / f"{base}_{i}.txt" if folder is not None else None
            self._plan[worker_id(i, num_calls)] = (i, per_call[i - 1], path)
        params = json_params(kwargs)
        self._output = None
        if folder is not None:  # the folder's earlier set under this base goes, as a whole
            self._output = OutputSet(folder, base, {w: p for w, (_, _, p) in self._plan.items()
                                                    if p is not None}, system=self.system)
            self._output.replace_stale()
            # Made now in a thread (never truncated there): creating hundreds of files at the
            # first flush would stall the loop. 0o666 as open() uses, less the umask.
            create_soon((path for _, _, path in self._plan.values() if path), mode=0o666)
        params.update(num_calls=num_calls, concurrency=concurrency, aggregate=mode,
                      output_dir=str(folder) if folder else None, base_filename=base)
        for name in ("seeds", "temperatures"):
            if name in options:
                params[name] = options[name]
        run = self.open_run(params=params, prompts={"prompt": prompt},
                             workers=tuple(self._plan), concurrency=concurrency,
                             label=self.system_id)
        if self._output is not None:  # which run writes these files, should it never finish
            self._output.write(run, "running")

        async def body() -> tuple[str, MultiResult]:
            tasks = [self._spawn(run, wid) for wid in self._plan]
            try:
                outcomes = await run.gather(tasks)
            except asyncio.CancelledError:  # Ctrl-C: the folder says so, not "running"
                if self._output is not None:
                    self._output.write(run, "cancelled", pending="cancelled")
                raise
            result = self._collect(outcomes)
            self.last_result = result
            if mode and not run.cancel_requested:
                result.aggregate = await self._aggregate(run, mode, prompt, result, kwargs)
            self._record_outputs(run, result)
            return _status(result, run), result

        result: MultiResult = await self.drive(run, body)
        return result

    def _spawn(self, run: Run, wid: str) -> Any:
        index, kwargs, path = self._plan[wid]
        return run.spawn(wid, self._messages, kwargs, label=f"call {index}",
                         sink=FileSink(path) if path is not None else None)

    def _file(self, wid: str) -> str | None:
        """The file that holds call ``wid``'s text: its seed-style copy, else the run store's."""
        path = self._plan[wid][2]
        return str(path) if path is not None else self.worker_file(wid)

    def _collect(self, outcomes: list[WorkerOutcome]) -> MultiResult:
        result = MultiResult(files={})
        for outcome in outcomes:
            wid = outcome.worker_id
            path = self._file(wid) or f"(not recorded: {wid})"
            tid = task_id(self._plan[wid][0])
            result.outcomes[tid] = outcome
            result.paths[tid] = path
            kept = len(outcome.text) if self._plan[wid][2] else len(outcome.content)
            result.files[tid] = (path if outcome.ok
                                 else f"ERROR: {outcome.reason} ({partial_note(kept, path)})")
        if self._output is not None:
            result.replaced = self._output.replaced
        return result

    async def retry_worker(self, worker_id: str) -> WorkerOutcome:
        """Run one call of the last run again (same worker id, file and params).

        Meant for a failed or cancelled call after the run ended; its events flow to the
        listeners again and ``last_result`` is updated.

        Raises:
            InputError: no finished run, or no such worker in it.
        """
        run = self._last_run
        if run is None or self.last_result is None or run in self._active:
            raise InputError("there is no finished multi-call run to retry a call of")
        if worker_id not in self._plan:
            raise InputError(f"run {run.run_id} has no worker {worker_id!r}")
        # The recorder takes events after the run ended: the worker's earlier attempt is moved
        # aside (``<worker>.attempt-N.md``) and the manifest follows the new one.
        run.finished = False
        run.cancel_requested = False
        self._active.append(run)
        try:
            outcome = (await run.gather([self._spawn(run, worker_id)]))[0]
        finally:
            self._active.remove(run)
        result = self.last_result
        fresh = self._collect([outcome])
        result.outcomes.update(fresh.outcomes)
        result.files.update(fresh.files)
        self._record_outputs(run, result)
        run.finish(_status(result, run), result)
        return outcome

    def _record_outputs(self, run: Run, result: MultiResult) -> None:
        """Say in the output folder's ``manifest.json`` which run wrote each call, and how."""
        if self._output is not None:
            self._output.write(run, _status(result, run), result.outcomes.values())

    async def _aggregate(self, run: Run, mode: str, prompt: str, result: MultiResult,
                         kwargs: dict[str, Any]) -> AggregateResult:
        done = [(o.worker_id, o.content) for o in result.outcomes.values()
                if o.ok and o.content.strip()]
        inputs = tuple(w for w, _ in done)
        step = 1
        run.emit(StepStarted(run.run_id, step, 1, mode, AGGREGATE_WORKER))
        if not done:
            agg = AggregateResult(mode, "", error="no call finished with an answer")
        elif mode == "vote":
            agg = _vote(done)
        else:
            make = select_prompt if mode == "select" else synthesize_prompt
            texts = [text for _, text in done]
            texts = await QuoteFitter(self.model).fit(make(prompt, [""] * len(texts)), texts,
                                                      kwargs)
            ask = make(prompt, texts)
            out = await run.run_one(AGGREGATE_WORKER, [{"role": "user", "content": ask}],
                                    kwargs, label=mode, step=step)
            if not out.ok:
                agg = AggregateResult(mode, "", error=out.reason or "aggregation failed")
            elif mode == "synthesize":
                agg = AggregateResult(mode, out.content)
            else:
                number = parse_selection(out.content, len(done))
                agg = (AggregateResult(mode, done[number - 1][1], chosen=done[number - 1][0])
                       if number else AggregateResult(mode, "", error="the reply named no response"))
        agg = AggregateResult(agg.mode, agg.answer, agg.chosen, agg.vote, agg.error, inputs)
        if agg.error is None:  # a failed aggregate leaves its step unfinished, as a chain does
            shown = agg.answer or (agg.vote.summary if agg.vote else "")
            run.emit(StepFinished(run.run_id, step, shown, AGGREGATE_WORKER))
        return agg


def _vote(done: list[tuple[str, str]]) -> AggregateResult:
    vote = majority_vote([text for _, text in done])
    if vote is None:
        return AggregateResult("vote", "", error="no answer could be extracted")
    if not vote.majority:
        return AggregateResult("vote", "", vote=vote)
    winner = answer_key(vote.winner)
    chosen = next((t for t, text in done if answer_key(extract_answer(text)) == winner), None)
    return AggregateResult("vote", vote.winner, chosen=chosen, vote=vote)


def _status(result: MultiResult, run: Run) -> str:
    agg = result.aggregate
    # A requested answer that is missing fails the run's result, though the calls' stand.
    return ended_status(run, len(result.failed), len(result.outcomes),
                        agg is not None and bool(agg.error))


def _failure(result: MultiResult) -> str:
    """One line on what failed: calls, then the aggregate ('' when nothing did)."""
    agg = result.aggregate
    parts = [failed_calls(len(result.failed), len(result.files))]
    if agg is not None and agg.error:
        parts.append(f"{agg.mode} failed: {agg.error}")
    return "; ".join(p for p in parts if p)


def _check(prompt: str, num_calls: int, mode: str | None, concurrency: int | None) -> None:
    """The seed's checks and messages, against the registry's declared limits."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError("the prompt is empty")
    if not MULTI_CALLS.fits(num_calls):
        high = MULTI_CALLS.maximum
        if isinstance(num_calls, int) and high is not None and num_calls > high:
            raise InputError(f"num_calls {num_calls} is more than the limit of {high}")
        raise InputError(f"num_calls must be at least {MULTI_CALLS.minimum}, got {num_calls!r}")
    if mode is not None:
        AGGREGATE.check(mode, "aggregate")
    if concurrency is not None:
        CONCURRENCY.check(concurrency, "concurrency")


def _per_call_kwargs(kwargs: dict[str, Any], n: int, seeds: Any,
                     temperatures: Sequence[float] | None) -> list[dict[str, Any]]:
    """Each call's generation kwargs: the shared ones plus its own seed/temperature."""
    if isinstance(seeds, bool) or (seeds is not None and not isinstance(seeds, (int, list, tuple))):
        raise InputError(f"seeds must be an int or a list of ints, got {seeds!r}")
    if isinstance(seeds, (list, tuple)) and not seeds:
        raise InputError("seeds is an empty list")
    if temperatures is not None:
        temperatures = TEMPERATURES.check(temperatures, "temperatures")
    out = []
    for i in range(n):
        call = dict(kwargs)
        if isinstance(seeds, int):
            call["seed"] = seeds + i
        elif seeds:
            call["seed"] = seeds[i % len(seeds)]
        if temperatures:
            call["temperature"] = temperatures[i % len(temperatures)]
        out.append(call)
    return out
