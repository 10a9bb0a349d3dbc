"""``MixtureOfAgents``: layers of proposers, each reading the layer before, then an aggregator.

Wang et al., 2024, "Mixture-of-Agents Enhances Large Language Model Capabilities". Layer 1's
proposers answer the prompt on their own. Every later layer's proposers get the prompt with the
previous layer's answers in the system message, under the paper's aggregate-and-synthesize
instruction, and write better answers; the aggregator does the same over the last layer and
writes the run's answer. With one model the proposers differ by sampling: ``--temperatures``
cycles over them, and a seed becomes one seed per proposer. Quoted answers are shortened fairly
to fit the window (``quotes``).

Built as a third party would build a plugin, with the public API only: ``RunRequest`` in,
``RunResult`` out, ``Orchestrator``'s runs (``open_run``, ``drive``), ``Run.spawn``/``gather``
and the step events; declared with the built-ins (``declarations``, key ``moa``), its spec
passing the checks a plugin's does (``spec_check``).

Worker ids: ``l1-p1`` (layer 1, proposer 1) ... ``agg``. Layer i is step i; the aggregator is
step layers + 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..client.model import BaseModel
from ..events import EventListener, StepFinished, StepStarted
from ..types import ChatMessage
from .base import Orchestrator, Run, WorkerOutcome, json_params
from .declarations import (
    MOA_AGGREGATOR,
    MOA_AGGREGATOR_MAX_TOKENS,
    MOA_AGGREGATOR_TEMPERATURE,
    MOA_LAYERS,
    MOA_PROPOSERS,
    MOA_TEMPERATURES,
)
from .quotes import QuoteFitter
from .request import RunRequest, RunResult, WorkerResult

__all__ = ["AGGREGATE_AND_SYNTHESIZE", "MixtureOfAgents", "MoAResult", "synthesis_messages"]

AGGREGATE_AND_SYNTHESIZE = (
    "You have been provided with a set of responses from various models to the latest user "
    "query. Your task is to synthesize these responses into a single, high-quality response. "
    "It is crucial to critically evaluate the information provided in these responses, "
    "recognizing that some of it may be biased or incorrect. Your response should not simply "
    "replicate the given answers, but should offer a refined, accurate, and comprehensive reply "
    "to the instruction. Ensure your response is well-structured, coherent, and adheres to the "
    "highest standards of accuracy and reliability.\n\nResponses from models:"
)
"""The paper's aggregate-and-synthesize prompt (its Table 1), for proposers past layer 1 and
the aggregator alike."""


def synthesis_messages(prompt: str, answers: list[str]) -> list[ChatMessage]:
    """The prompt with ``answers`` to synthesize in the system message (none: the prompt)."""
    ask: ChatMessage = {"role": "user", "content": prompt}
    if not answers:
        return [ask]
    quoted = "\n".join(f"{i}. {answer.strip()}" for i, answer in enumerate(answers, 1))
    return [{"role": "system", "content": f"{AGGREGATE_AND_SYNTHESIZE}\n{quoted}"}, ask]


def worker_id(layer: int, proposer: int) -> str:
    return f"l{layer}-p{proposer}"


@dataclass
class MoAResult:
    """Every layer's answers and the aggregator's."""

    answer: str = ""
    layers: list[list[str]] = field(default_factory=list)
    """``layers[i][j]``: proposer j+1's answer in layer i+1 ('' when it failed)."""
    failed: list[str] = field(default_factory=list)
    outcomes: dict[str, WorkerOutcome] = field(default_factory=dict)

    def result_document(self) -> dict[str, Any] | None:
        """For run.json's ``result``: the aggregator's answer."""
        return {"answer": self.answer} if self.answer else None


class MixtureOfAgents(Orchestrator):
    """Mixture-of-Agents over one model: ``layers`` x ``proposers`` calls, then one more."""

    system = "moa"

    def __init__(
        self,
        model: BaseModel,
        *,
        layers: int = MOA_LAYERS.default,
        proposers: int = MOA_PROPOSERS.default,
        temperatures: list[float] | None = None,
        aggregator_temperature: float | None = None,
        aggregator_max_tokens: int | None = None,
        label: str = "",
        listeners: Iterable[EventListener] = (),
        store: Any = None,
        concurrency: int | None = None,
    ) -> None:
        super().__init__(model, listeners=listeners, store=store, concurrency=concurrency)
        self.layers = MOA_LAYERS.check(layers, "layers")
        self.proposers = MOA_PROPOSERS.check(proposers, "proposers")
        self.temperatures = (MOA_TEMPERATURES.check(temperatures, "temperatures")
                             if temperatures is not None else None)
        self.aggregator: dict[str, Any] = {}
        """The aggregator's own params (over the run's)."""
        if aggregator_temperature is not None:
            self.aggregator["temperature"] = MOA_AGGREGATOR_TEMPERATURE.check(
                aggregator_temperature, "aggregator temperature")
        if aggregator_max_tokens is not None:
            self.aggregator["max_tokens"] = MOA_AGGREGATOR_MAX_TOKENS.check(
                aggregator_max_tokens, "aggregator max tokens")
        self.label = label or self.system
        self.last_result: MoAResult | None = None

    @classmethod
    def from_request(cls, model: BaseModel, request: RunRequest) -> MixtureOfAgents:
        """The mixture a registry request describes (``calls`` proposers, ``rounds`` layers)."""
        options = request.options
        return cls(model, layers=MOA_LAYERS.or_default(request.rounds),
                   proposers=MOA_PROPOSERS.or_default(request.calls),
                   temperatures=options.get("temperatures"),
                   aggregator_temperature=options.get("aggregator_temperature"),
                   aggregator_max_tokens=options.get("aggregator_max_tokens"),
                   label=request.label, listeners=request.listeners, store=request.store,
                   concurrency=request.concurrency)

    async def run_request(self, request: RunRequest) -> RunResult:
        """Run the layers and the aggregator on ``request.prompt``; the answer is the aggregator's."""
        kwargs = request.params.to_body()
        params = json_params(kwargs)
        params.update(layers=self.layers, proposers=self.proposers,
                      temperatures=self.temperatures, aggregator=self.aggregator)
        workers = tuple(worker_id(layer, p) for layer in range(1, self.layers + 1)
                        for p in range(1, self.proposers + 1)) + (MOA_AGGREGATOR,)
        run = self.open_run(request, params=params, workers=workers, label=self.label)
        result: MoAResult = await self.drive(run, lambda: self._mix(run, request.prompt, kwargs))
        lines = [f"## Layer {i}\n\n" + _layer_text(answers, "###")
                 for i, answers in enumerate(result.layers, 1)]
        failed = result.failed
        return RunResult(
            self.last_run_id, run.status, result.answer,
            workers={w: WorkerResult(o, self.worker_file(w)) for w, o in result.outcomes.items()},
            report={"run_id": self.last_run_id, "status": run.status, "answer": result.answer,
                    "layers": result.layers, "failed": failed,
                    "workers": {w: self.worker_file(w) for w in result.outcomes}},
            brief={"answer": result.answer, "layers": len(result.layers)},
            lines=(*lines, f"## Answer\n\n{result.answer or '(no answer)'}"),
            failure=f"{len(failed)} call(s) failed: {', '.join(failed)}" if failed else "",
            summary=self.summary_document(),
        )

    async def _mix(self, run: Run, prompt: str, kwargs: dict[str, Any]
                   ) -> tuple[str, MoAResult]:
        result = MoAResult()
        self.last_result = result
        fitter = QuoteFitter(self.model)
        total = self.layers + 1
        previous: list[str] = []
        for layer in range(1, total):
            if run.cancel_requested:
                return "cancelled", result
            what = "proposers answer" if layer == 1 else "proposers refine the answers"
            run.emit(StepStarted(run.run_id, layer, total, f"layer {layer}: {what}"))
            messages = await self._messages(fitter, prompt, previous, kwargs)
            tasks = [run.spawn(worker_id(layer, p), messages, self._proposer(kwargs, p),
                               label=f"layer {layer} proposer {p}", step=layer)
                     for p in range(1, self.proposers + 1)]
            answers = []
            for outcome in await run.gather(tasks):
                result.outcomes[outcome.worker_id] = outcome
                answers.append(outcome.content if outcome.ok else "")
                if not outcome.ok:
                    result.failed.append(outcome.worker_id)
            result.layers.append(answers)
            kept = [a for a in answers if a.strip()]
            if run.cancel_requested:
                return "cancelled", result
            if not kept:  # nothing to hand on: the layers after would have nothing to read
                return "failed", result
            previous = kept
            run.emit(StepFinished(run.run_id, layer, _layer_text(answers)))
        run.emit(StepStarted(run.run_id, total, total, "aggregator synthesizes", MOA_AGGREGATOR))
        ask = {**kwargs, **self.aggregator}
        out = await run.run_one(MOA_AGGREGATOR, await self._messages(fitter, prompt, previous, ask),
                                ask, label="aggregator", step=total)
        result.outcomes[out.worker_id] = out
        if run.cancel_requested or out.cancelled:
            return "cancelled", result
        if not out.ok:
            result.failed.append(out.worker_id)
            return "failed", result
        result.answer = out.content
        run.emit(StepFinished(run.run_id, total, out.content, MOA_AGGREGATOR))
        return ("partial" if result.failed else "done"), result

    async def _messages(self, fitter: QuoteFitter, prompt: str, answers: list[str],
                        kwargs: dict[str, Any]) -> list[ChatMessage]:
        """The layer's messages, the quoted answers fairly shortened to fit the window."""
        if answers:
            fixed = "\n".join(m["content"] for m in synthesis_messages(prompt, [""] * len(answers)))
            answers = await fitter.fit(fixed, answers, kwargs)
        return synthesis_messages(prompt, answers)

    def _proposer(self, kwargs: dict[str, Any], proposer: int) -> dict[str, Any]:
        """Proposer ``proposer``'s params: its temperature, and its own seed (the same seed for
        every proposer would make their answers the same)."""
        own = dict(kwargs)
        if self.temperatures:
            own["temperature"] = self.temperatures[(proposer - 1) % len(self.temperatures)]
        if isinstance(own.get("seed"), int):
            own["seed"] += proposer - 1
        return own


def _layer_text(answers: list[str], heading: str = "##") -> str:
    """A layer's answers under ``Proposer N`` headings (a step file's, or the run's text)."""
    return "\n\n".join(f"{heading} Proposer {p}\n\n{a.strip() or '(no answer)'}"
                       for p, a in enumerate(answers, 1))
