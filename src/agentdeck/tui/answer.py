"""A run's answer as the app shows it above the run: the vote, the pick, the merge, the verdict.

Read from the run's fold (``LiveRun``: its workers' texts and its steps), never from the
system's result object, so a past run read back from disk (``live_from_disk``) gives the same
answer as it did live. The vote, the pick and the debate's majority are worked out by the very
functions the systems use (``systems.aggregate``), over the same texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentdeck.state import ENDED_BADLY, RunStatus, WorkerState
from agentdeck.systems import registry
from agentdeck.systems.aggregate import (
    Vote,
    all_short,
    answer_key,
    extract_answer,
    majority_vote,
    one_line,
    parse_selection,
)

from .live import LiveRun, WorkerBuffer
from .targets import Tallies, tally_text

__all__ = ["RunAnswer", "answer_of", "apply_marks", "round_size"]

AGGREGATE_WORKER = "aggregate"
"""The worker id of multi's aggregation call (``systems.multi``)."""
MODES = ("vote", "select", "synthesize")
PICKED = "★ picked"
MAJORITY = "★ majority"
_SEAT = re.compile(r"seat(\d+)-r(\d+)")
SEAT_ANSWER = 24
"""Characters of each seat's answer on a debate's round line."""


@dataclass
class RunAnswer:
    """What the answer panel shows: a headline, a few lines, the answer's text."""

    title: str
    """"vote", "select", "synthesize", "debate", "answer"."""
    headline: str
    lines: list[str] = field(default_factory=list)
    """The tally, or one line per debate round."""
    text: str = ""
    """The answer itself (the pick, the merge, the debate's or the chain's final answer)."""
    marks: dict[str, str] = field(default_factory=dict)
    """Worker id -> its mark on the card ("★ picked")."""
    failed: bool = False


def answer_of(live: LiveRun, tallies: Tallies | None = None) -> RunAnswer | None:
    """The answer of the run in ``live`` so far; None for a run that has no single answer.
    ``tallies``: the cache of compare's tallies the grid's group headers read too."""
    if len(live.groups) > 1:
        return _agreement(live, tallies or Tallies())
    if live.system == "multi":
        return _multi(live)
    if live.system == "debate":
        return _debate(live)
    if live.system == "chain":
        return _chain(live)
    return _declared(live)


def apply_marks(live: LiveRun, marks: dict[str, str]) -> None:
    """Put ``marks`` on the cards (and take stale ones off); changed cards are redrawn."""
    for worker_id, buf in live.buffers.items():
        mark = marks.get(worker_id, "")
        if buf.mark != mark:
            buf.mark = mark
            buf.version += 1
            live.dirty.add(worker_id)


def round_size(live: LiveRun) -> int | None:
    """A debate's seats (the workers of its first round), so the grid gives each round a row;
    None for other runs."""
    if live.system != "debate":
        return None
    seats = sum(1 for worker_id in live.order if worker_id.endswith("-r0"))
    return seats or None


def _done_texts(live: LiveRun, ids: list[str]) -> list[tuple[str, str]]:
    """(worker id, text) of the workers that finished with text, in order: what was voted on."""
    out = []
    for worker_id in ids:
        buf = live.buffers[worker_id]
        if buf.state is WorkerState.DONE and buf.text.strip():
            out.append((worker_id, buf.text))
    return out


def _vote_answer(title: str, vote: Vote, done: list[tuple[str, str]],
                 mark: str = MAJORITY) -> RunAnswer:
    winner = answer_key(vote.winner)
    marks = {}
    if vote.majority:
        marks = {w: mark for w, text in done if answer_key(extract_answer(text)) == winner}
    return RunAnswer(title, vote.summary, vote.tally(), marks=marks)


# ---------------------------------------------------------------------- the systems


def _multi(live: LiveRun) -> RunAnswer | None:
    step = live.steps.get(1)
    if step is None or step.label not in MODES:
        return None  # no aggregate asked, or the calls are still going
    mode = step.label
    calls = [w for w in live.order if w != AGGREGATE_WORKER]
    done = _done_texts(live, calls)
    if not done:
        return RunAnswer(mode, "no call finished with an answer", failed=True)
    if mode == "vote":
        vote = majority_vote([text for _, text in done])
        if vote is None:
            return RunAnswer(mode, "no answer could be extracted", failed=True)
        return _vote_answer(mode, vote, done)
    judge = live.buffers.get(AGGREGATE_WORKER)
    if judge is None:
        return RunAnswer(mode, f"{len(done)} answers to {_VERB[mode]}")
    if judge.state in ENDED_BADLY:
        return RunAnswer(mode, f"{mode} failed: {judge.error or judge.state_text}", failed=True)
    if mode == "synthesize":
        verb = "merged" if judge.state is WorkerState.DONE else "merging"
        return RunAnswer(mode, f"{verb} {len(done)} answers", text=judge.text)
    if judge.state is not WorkerState.DONE:
        return RunAnswer(mode, f"choosing among {len(done)} answers ({judge.state_text})")
    number = parse_selection(judge.text, len(done))
    if number is None:
        return RunAnswer(mode, "the reply named no response", text=judge.text, failed=True)
    chosen, text = done[number - 1]
    title = live.buffers[chosen].title
    return RunAnswer(mode, f"picked {title} (response {number} of {len(done)})", text=text,
                     marks={chosen: PICKED})


_VERB = {"select": "choose from", "synthesize": "merge"}


def _debate(live: LiveRun) -> RunAnswer | None:
    rounds: dict[int, dict[int, WorkerBuffer]] = {}
    for worker_id in live.order:
        found = _SEAT.fullmatch(worker_id)
        if found:
            seat, round_ = int(found.group(1)), int(found.group(2))
            rounds.setdefault(round_, {})[seat] = live.buffers[worker_id]
    if not rounds:
        return None
    lines, latest, last_id = [], {}, {}
    for round_ in sorted(rounds):
        seats = rounds[round_]
        said = []
        for seat in sorted(seats):
            buf = seats[seat]
            if buf.state is WorkerState.DONE and buf.text.strip():
                latest[seat], last_id[seat] = buf.text, buf.worker_id
                said.append(f"{seat}: {one_line(extract_answer(buf.text), SEAT_ANSWER)}")
            elif buf.state is not WorkerState.QUEUED:
                said.append(f"{seat}: {buf.state_text}")
        if said:
            lines.append(f"{_round_name(round_)} │ " + " · ".join(said))
    total = max((s.total for s in live.steps.values() if s.total), default=len(rounds))
    if not live.finished:
        going = max((n for n, s in live.steps.items() if s.status is RunStatus.RUNNING),
                    default=max(len(live.steps), 1))
        going_round = _round_name(going - 1)
        of = f" of {total - 1}" if going > 1 else ""
        return RunAnswer("debate", f"{going_round}{of} going", lines)
    finals = [(last_id[s], latest[s]) for s in sorted(latest)]
    if not finals:
        return RunAnswer("debate", "no seat answered", lines, failed=True)
    texts = [text for _, text in finals]
    vote = majority_vote(texts) if all_short(texts) else None
    if vote is not None and vote.majority:
        answer = _vote_answer("debate", vote, finals)
        return RunAnswer("debate", f"final answer: {vote.summary}", lines, text="",
                         marks=answer.marks)
    seat = sorted(latest)[0]
    why = "no majority" if vote is not None else "long answers are not voted on"
    return RunAnswer("debate", f"seat {seat}'s final answer ({why})", lines,
                     text=latest[seat], marks={last_id[seat]: "★ final"})


def _round_name(round_: int) -> str:
    """As the cards name them (``systems.debate``): the first answers, then revisions."""
    return "first answers" if round_ == 0 else f"revision {round_}"


def _chain(live: LiveRun) -> RunAnswer | None:
    if not live.steps:
        return None
    last = live.steps[max(live.steps)]
    if last.label != "manager" or last.status is not RunStatus.DONE:
        return None  # the chain view shows the steps going; the answer is the manager's
    return RunAnswer("answer", "the manager's answer", text=last.output or "")


def _agreement(live: LiveRun, tallies: Tallies) -> RunAnswer | None:
    """Compare's targets (the run's groups): each one's tally of short answers, and whether
    they agree, by ``systems.aggregate.agreement`` as compare's report says it; None for long
    answers (compared by reading them) and before any answer."""
    agreed = tallies.agreement(live)
    if not agreed["short"]:
        return None
    lines = []
    for key in live.groups:
        vote = tallies.vote(live, key)
        lines.append(f"{key}: {vote.summary if vote else 'no answer'}" + (
            f" │ {tally_text(vote)}" if vote is not None and len(vote.counts) > 1 else ""))
    so_far = "" if live.finished else "so far: "
    answers = agreed["answers"]
    if agreed["agree"]:
        headline = f"{so_far}the targets agree: {one_line(next(iter(answers.values())))}"
    elif agreed["agree"] is None:
        missing = ", ".join(k for k in live.groups if k not in answers)
        headline = f"{so_far}no verdict: {missing} " + ("gave no answer" if live.finished
                                                         else "has no answer yet")
    else:
        headline = f"{so_far}the targets do not agree: " + " · ".join(
            f"{k} {one_line(a, SEAT_ANSWER) if a is not None else 'no majority'}"
            for k, a in answers.items())
    return RunAnswer("compare", headline, lines)


def _declared(live: LiveRun) -> RunAnswer | None:
    """Another grid system that declares the worker giving its answer (MoA's aggregator, a
    plugin's): that worker's text, marked on its card. A single stream is its own answer."""
    spec = registry.find(live.system)
    if spec is None or spec.view != "grid" or not spec.answer_worker:
        return None
    buf = live.buffers.get(spec.answer_worker)
    if buf is None or buf.state is WorkerState.QUEUED:
        return None
    if buf.state in ENDED_BADLY:
        return RunAnswer("answer", f"{buf.title} {buf.state_text}: {buf.error}", failed=True)
    verb = "answered" if buf.state is WorkerState.DONE else "is writing"
    return RunAnswer("answer", f"{buf.title} {verb}", text=buf.text,
                     marks={buf.worker_id: "★ answer"})
