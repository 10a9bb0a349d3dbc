"""Turning many answers into one: majority vote, selection and synthesis prompts.

* ``vote``: self-consistency (Wang et al., 2022): extract each answer's final answer,
  normalise it and take the most common one, reporting the counts.
* ``select``: universal self-consistency (Chen et al., 2023): one extra call is shown every
  answer and names the one most consistent with the others.
* ``synthesize``: Mixture-of-Agents' aggregate-and-synthesize step (Wang et al., 2024) with
  one model: one extra call merges the answers into a single better one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AggregateResult",
    "Vote",
    "agreement",
    "all_short",
    "answer_key",
    "extract_answer",
    "majority_vote",
    "one_line",
    "parse_selection",
    "select_prompt",
    "synthesize_prompt",
]

SHORT_ANSWER = 80
"""Answers longer than this (characters, after extraction) are too long to vote on."""
TALLY_WIDTH = 60
"""Characters of an answer shown in a vote's tally (the full answer is in ``--json``)."""
TALLY_LINES = 10
"""Distinct answers listed in a tally; the rest are counted."""

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_BOXED = re.compile(r"\\boxed\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_FINAL = re.compile(r"\b(?:final answer|answer)\W{0,3}\s*(?:is\b|:|=)\s*:?(.+)", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w-])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w-])")
"""A number standing alone: commas only as thousands separators (``1,234``; ``1,2,3`` is
three numbers), never a piece of a date, an id or a word (``2024-05-01``, ``gpt-4``)."""
_DECOR = re.compile(r"^[\s*_`\"'#>\-]+|[\s*_`\"'.!]+$")


def extract_answer(text: str) -> str:
    """The final answer stated in ``text``, as written.

    Looks, in order, for the last ``\\boxed{...}``, the last line saying "answer: ..." or
    "the answer is ...", and otherwise the last number standing alone on the last line with
    text, or that line. Reasoning in ``<think>`` tags is ignored.
    """
    text = _THINK.sub("", text).strip()
    boxed = _BOXED.findall(text)
    if boxed:
        return _clean(boxed[-1])
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        found = _FINAL.search(line)
        if found and _clean(found.group(1)):
            return _clean(found.group(1))
    last = next((line for line in reversed(lines) if _clean(line)), "")
    numbers = _NUMBER.findall(last)
    return numbers[-1].replace(",", "") if numbers else _clean(last)


def _clean(answer: str) -> str:
    return _DECOR.sub("", answer).strip()


def answer_key(answer: str) -> str:
    """Normalised form used for counting: case, spacing and trailing punctuation ignored."""
    return " ".join(answer.casefold().split()).rstrip(".")


@dataclass(frozen=True)
class Vote:
    """A majority vote over extracted answers."""

    winner: str
    """The most common answer (ties go to the one seen first); see ``majority``."""
    counts: dict[str, int]
    """Answer -> how many gave it, most common first (full answers: ``--json``, run.json)."""
    voters: int

    @property
    def majority(self) -> bool:
        """True when the top answer has more than one vote and no other has as many."""
        top = list(self.counts.values())[:2]
        return bool(top) and top[0] > 1 and (len(top) == 1 or top[0] > top[1])

    @property
    def summary(self) -> str:
        """One short line: ``42 (5 of 8)``, ``42 (the only answer)`` or ``no majority (8
        answers, 8 different)``."""
        if self.voters == 1:
            return f"{one_line(self.winner)} (the only answer)"
        if not self.majority:
            return (f"no majority ({plural(self.voters, 'answer')}, "
                    f"{len(self.counts)} different)")
        return f"{one_line(self.winner)} ({self.counts[self.winner]} of {self.voters})"

    def document(self) -> dict[str, Any]:
        """JSON-able: the winner (None without a majority), counts, voters, summary."""
        return {"winner": self.winner if self.majority else None, "majority": self.majority,
                "summary": self.summary, "counts": dict(self.counts), "voters": self.voters}

    def tally(self, limit: int = TALLY_LINES) -> list[str]:
        """``count  answer`` lines, most common first, each answer cut to one line."""
        rows = [f"{n:>4}  {one_line(a)}" for a, n in list(self.counts.items())[:limit]]
        if len(self.counts) > limit:
            rows.append(f"      ... {len(self.counts) - limit} more answers (--json has all)")
        return rows


def plural(count: int, noun: str) -> str:
    """``1 answer``, ``3 answers``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def one_line(text: str, width: int = TALLY_WIDTH) -> str:
    """``text`` on one line of at most ``width`` characters (an ellipsis marks a cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def majority_vote(texts: list[str]) -> Vote | None:
    """Vote over the final answers of ``texts``; None when none states an answer."""
    answers = [a for a in (extract_answer(t) for t in texts) if a]
    if not answers:
        return None
    display: dict[str, str] = {}
    for answer in answers:
        display.setdefault(answer_key(answer), answer)
    counts = Counter(answer_key(a) for a in answers)
    first = {k: i for i, k in enumerate(display)}
    order = sorted(counts, key=lambda k: (-counts[k], first[k]))
    return Vote(display[order[0]], {display[k]: counts[k] for k in order}, len(answers))


def all_short(texts: list[str]) -> bool:
    """True when every extracted answer is short enough for a vote to mean something."""
    answers = [extract_answer(t) for t in texts]
    return bool(answers) and all(0 < len(a) <= SHORT_ANSWER for a in answers)


def agreement(groups: Mapping[str, Sequence[str]]) -> dict[str, object]:
    """Whether groups of answers (compare's targets, by key) give the same short answer.

    Args:
        groups: each group's finished answers' texts (failed calls left out).

    Returns:
        ``short``: every answer is short enough to compare (else nothing is compared);
        ``tallies``: each group's answer counts; ``answers``: each group's answer, its majority
        (its only answer when it has one), None without a majority; ``agree``: every group has
        an answer and they are the same (None when nothing was compared).
    """
    texts = {key: [t for t in answers if t.strip()] for key, answers in groups.items()}
    flat = [t for answers in texts.values() for t in answers]
    if not texts or not all(texts.values()) or not all_short(flat):
        return {"short": False, "tallies": {}, "answers": {}, "agree": None}
    votes = {key: majority_vote(answers) for key, answers in texts.items()}
    answers = {key: v.winner if v is not None and (v.majority or v.voters == 1) else None
               for key, v in votes.items()}
    named = {answer_key(a) for a in answers.values() if a is not None}
    return {"short": True,
            "tallies": {key: v.counts for key, v in votes.items() if v is not None},
            "answers": answers, "agree": None not in answers.values() and len(named) == 1}


def _numbered(answers: list[str]) -> str:
    return "\n\n".join(f"Response {i}:\n{a.strip()}" for i, a in enumerate(answers, 1))


def select_prompt(question: str, answers: list[str]) -> str:
    """Ask for the answer most consistent with the majority (universal self-consistency)."""
    return (
        f"Several responses were written independently for this request:\n\n{question}\n\n"
        f"{_numbered(answers)}\n\n"
        "Compare the responses and decide which one agrees best with the consensus of the "
        "others. Reply with a line of the form 'The most consistent response is Response N' "
        "and nothing before it."
    )


_SELECTED = re.compile(r"response\s*#?\s*(\d+)", re.IGNORECASE)


def parse_selection(reply: str, count: int) -> int | None:
    """The 1-based response number a ``select`` reply names, or None."""
    for found in _SELECTED.finditer(_THINK.sub("", reply)):
        number = int(found.group(1))
        if 1 <= number <= count:
            return number
    return None


def synthesize_prompt(question: str, answers: list[str]) -> str:
    """Merge answers into one (Mixture-of-Agents' aggregator, with one model)."""
    return (
        "You are given several candidate responses to the request below, written "
        "independently. Some may contain mistakes or omissions. Weigh them critically and "
        "write one response of your own that keeps what is correct and useful in them, "
        "fixes what is wrong, and is better than any single one. Do not mention the "
        "candidates; just give the final response.\n\n"
        f"Request:\n{question}\n\nCandidate responses:\n\n{_numbered(answers)}"
    )


@dataclass(frozen=True)
class AggregateResult:
    """The outcome of an aggregation step over a multi-call run."""

    mode: str
    """``vote``, ``select`` or ``synthesize``."""
    answer: str
    """The winning answer (vote), the chosen response (select) or the merged one."""
    chosen: str | None = None
    """Worker id of the answer picked (vote: first to give the winner; select: the pick),
    ``call-03``: the id of the events, progress lines and run folder."""
    vote: Vote | None = None
    error: str | None = None
    """Why aggregation could not give an answer (no successful calls, failed call...)."""
    inputs: tuple[str, ...] = field(default=())
    """Worker ids of the answers that were aggregated."""

    def document(self) -> dict[str, Any]:
        """JSON-able, for run.json and ``--json``."""
        return {"mode": self.mode, "answer": self.answer, "chosen": self.chosen,
                "error": self.error, "inputs": list(self.inputs),
                "vote": self.vote.document() if self.vote is not None else None}
