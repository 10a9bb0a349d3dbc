"""``Debate``: several agents answer, read each other's answers and revise (Du et al., 2023).

Round 0: every seat answers the question independently (in parallel). Rounds 1..R: every
seat's own conversation grows by the other seats' latest answers and a request to revise,
and it answers again. Each seat keeps its whole conversation, as in the paper; when the
server reports a small window, the answers in it are shortened to fit (``quotes``). The result
holds the final answers and, when they are short, their majority vote.

Worker ids: ``seat1-r0`` (seat 1, independent answer), ``seat1-r1`` (its first revision)
...; round r is step r + 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..client.model import BaseModel
from ..errors import InputError
from ..events import EventListener, StepFinished, StepStarted
from ..types import ChatMessage
from .aggregate import AggregateResult, Vote, all_short, majority_vote
from .base import Orchestrator, Run, WorkerOutcome, json_params, split_options
from .declarations import DEBATE_AGENTS, DEBATE_ROUNDS
from .quotes import QuoteFitter
from .request import RunRequest, RunResult, WorkerResult

__all__ = ["Debate", "DebateResult", "revise_prompt"]


def revise_prompt(others: list[tuple[int, str]]) -> str:
    """The message that shows a seat the others' latest answers and asks it to revise."""
    shown = "\n\n".join(f"Agent {seat}:\n{answer.strip()}" for seat, answer in others)
    return (
        "Here are the latest answers of the other agents to the same question:\n\n"
        f"{shown}\n\n"
        "Use their reasoning as additional advice: check your answer and theirs step by step, "
        "then give your updated answer. If the question has a short answer, end with a line "
        "'Answer: ...'."
    )


@dataclass
class DebateResult:
    """Final answers per seat, every round's answers, and the vote when answers are short."""

    answers: list[str]
    """Each seat's latest answer ('' for a seat that never answered)."""
    history: list[list[str]] = field(default_factory=list)
    """``history[r][s]``: seat s+1's answer in round r ('' when it failed that round)."""
    vote: Vote | None = None
    failed: list[str] = field(default_factory=list)
    """Worker ids that did not finish."""
    outcomes: dict[str, WorkerOutcome] = field(default_factory=dict)
    """Worker id -> how that seat's answer in that round ended."""

    def result_document(self) -> dict[str, Any] | None:
        """For run.json's ``result``: the final answer and the vote."""
        doc: dict[str, Any] = {}
        if self.answer:
            doc["answer"] = self.answer
        if self.vote is not None:
            doc["vote"] = self.vote.document()
        return doc or None

    @property
    def answer(self) -> str:
        """The majority answer, or seat 1's final answer when there is no vote."""
        if self.vote is not None and self.vote.majority:
            return self.vote.winner
        return next((a for a in self.answers if a), "")


class Debate(Orchestrator):
    """Multi-agent debate over one question with one model."""

    system = "debate"

    def __init__(
        self,
        system_id: str,
        model: BaseModel,
        agents: int = DEBATE_AGENTS.default,
        rounds: int = DEBATE_ROUNDS.default,
        *,
        listeners: Iterable[EventListener] = (),
        store: Any = None,
        concurrency: int | None = None,
        system_prompt: str | None = None,
    ) -> None:
        super().__init__(model, listeners=listeners, store=store, concurrency=concurrency,
                         system_prompt=system_prompt)
        seats, turns = DEBATE_AGENTS, DEBATE_ROUNDS
        if not seats.fits(agents):
            raise InputError(f"a debate needs {seats.minimum} to {seats.maximum} agents, "
                             f"got {agents!r}")
        if not turns.fits(rounds):
            raise InputError(f"rounds must be {turns.minimum} to {turns.maximum}, got {rounds!r}")
        self.system_id = system_id
        self.agents = agents
        self.rounds = rounds
        self.last_result: DebateResult | None = None

    @classmethod
    def from_request(cls, model: BaseModel, request: RunRequest) -> Debate:
        """The debate a registry request describes: ``calls`` seats, ``rounds`` revisions."""
        return cls(request.label or cls.system, model,
                   agents=DEBATE_AGENTS.or_default(request.calls),
                   rounds=DEBATE_ROUNDS.or_default(request.rounds),
                   listeners=request.listeners, store=request.store,
                   concurrency=request.concurrency, system_prompt=request.system_prompt)

    async def run(self, prompt: str, **kwargs: Any) -> DebateResult:
        """Debate ``prompt``; ``kwargs`` are generation params for every call.

        Raises:
            InputError: empty prompt (before any request).
            asyncio.CancelledError: ``cancel()`` stopped the debate.
        """
        concurrency = split_options(kwargs, ("concurrency",)).get("concurrency")
        if not isinstance(prompt, str) or not prompt.strip():
            raise InputError("the prompt is empty")
        params = json_params(kwargs)
        params.update(agents=self.agents, rounds=self.rounds)
        workers = tuple(_wid(s, r) for r in range(self.rounds + 1)
                        for s in range(1, self.agents + 1))
        run = self.open_run(params=params, prompts={"prompt": prompt}, workers=workers,
                             concurrency=concurrency or self.concurrency, label=self.system_id)
        result: DebateResult = await self.drive(run, lambda: self._debate(run, prompt, kwargs))
        if run.cancel_requested:
            raise asyncio.CancelledError(f"debate {self.system_id} was cancelled")
        return result

    async def run_request(self, request: RunRequest) -> RunResult:
        """The registry's entry point: the debate, its vote as the aggregate.

        Raises:
            asyncio.CancelledError: ``cancel()`` stopped the debate.
        """
        result = await self.run(request.prompt, **request.params.to_body())
        run_id, failed, vote = self.last_run_id, result.failed, result.vote
        lines = []
        for seat, answer in enumerate(result.answers, 1):
            lines += [f"## Seat {seat}\n", (answer or "(no answer)").strip() + "\n"]
        run = self._last_run
        return RunResult(
            run_id, run.status if run is not None else "done", result.answer,
            workers={w: WorkerResult(o, self.worker_file(w)) for w, o in result.outcomes.items()},
            aggregate=(AggregateResult("vote", vote.winner if vote.majority else "", vote=vote)
                       if vote else None),
            report={"run_id": run_id, "answers": result.answers, "history": result.history,
                    "vote": vote, "failed": failed},
            brief={"answers": result.answers, "vote": vote},
            lines=tuple(lines),
            failure=f"{len(failed)} debate call(s) failed: {', '.join(failed)}" if failed else "",
            summary=self.summary_document(),
        )

    async def _debate(self, run: Run, prompt: str, kwargs: dict[str, Any]
                      ) -> tuple[str, DebateResult]:
        seats = range(1, self.agents + 1)
        talks: dict[int, list[_Turn]] = {s: [("user", prompt)] for s in seats}
        fitter = QuoteFitter(self.model)
        latest: dict[int, str] = {}
        alive = set(seats)
        result = DebateResult(answers=[""] * self.agents)
        self.last_result = result
        for r in range(self.rounds + 1):
            if run.cancel_requested or not alive:
                break
            label = "independent answers" if r == 0 else f"revision {r}"
            run.emit(StepStarted(run.run_id, r + 1, self.rounds + 1, f"round {r}: {label}"))
            order = sorted(alive)
            if r > 0:
                for s in order:
                    others = [(o, latest[o]) for o in seats if o != s and o in latest]
                    talks[s].append(("revise", others))
            tasks = [run.spawn(_wid(s, r), await _messages(fitter, talks[s], kwargs), kwargs,
                               label=_label(s, r), step=r + 1) for s in order]
            answers = [""] * self.agents
            for s, outcome in zip(order, await run.gather(tasks)):
                result.outcomes[outcome.worker_id] = outcome
                if outcome.ok:
                    latest[s] = answers[s - 1] = outcome.content
                    talks[s].append(("assistant", outcome.content))
                else:  # the seat sits out the rest; its last answer still counts
                    alive.discard(s)
                    result.failed.append(outcome.worker_id)
            result.history.append(answers)
            run.emit(StepFinished(run.run_id, r + 1, _round_text(answers)))
        result.answers = [latest.get(s, "") for s in seats]
        finals = [a for a in result.answers if a]
        if finals and all_short(finals):
            result.vote = majority_vote(finals)
        if run.cancel_requested:
            return "cancelled", result
        if not finals:
            return "failed", result
        return ("partial" if result.failed else "done"), result


_Turn = tuple[str, Any]
"""A seat's conversation, kept whole: ``("user", question)``, ``("assistant", answer)`` or
``("revise", [(seat, answer), ...])``; fitted to the window each time it is sent."""


async def _messages(fitter: QuoteFitter, talk: list[_Turn], kwargs: dict[str, Any]
                    ) -> list[ChatMessage]:
    """The seat's messages, its earlier answers and the quoted ones fairly shortened to fit."""
    quotes = [text for kind, text in talk if kind == "assistant"]
    quotes += [answer for kind, others in talk if kind == "revise" for _, answer in others]
    empty = "\n".join(_render(talk, iter(lambda: "", None)))
    rendered = _render(talk, iter(await fitter.fit(empty, quotes, kwargs)))
    return [{"role": "assistant" if kind == "assistant" else "user", "content": text}
            for (kind, _), text in zip(talk, rendered)]


def _render(talk: list[_Turn], quotes: Any) -> list[str]:
    """Each turn's text, the quotes taken in order: the seat's own answers, then the others'."""
    own = [next(quotes) if kind == "assistant" else None for kind, _ in talk]
    out = []
    for (kind, value), mine in zip(talk, own):
        if kind == "revise":
            out.append(revise_prompt([(seat, next(quotes)) for seat, _ in value]))
        else:
            out.append(mine if kind == "assistant" else value)
    return out


def _label(seat: int, round_: int) -> str:
    """A card's name: round 0 is each seat's first answer, the later ones its revisions."""
    return f"seat {seat} " + ("first answer" if round_ == 0 else f"revision {round_}")


def _wid(seat: int, round_: int) -> str:
    return f"seat{seat}-r{round_}"


def _round_text(answers: list[str]) -> str:
    return "\n\n".join(f"## Seat {s}\n\n{a.strip() or '(no answer)'}"
                       for s, a in enumerate(answers, 1))
