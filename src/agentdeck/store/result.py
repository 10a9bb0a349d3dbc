"""What a run answered, for its manifest: the document a system's result gives, clipped.

A system hands ``RunFinished`` its result; when that result has a ``result_document()``
(``answer``, ``aggregate``, ``vote``: a chain's or a debate's final answer, a multi-call's
vote, select or synthesis), the recorder keeps it as run.json's ``result``, long texts clipped
(the whole text is in the worker's file).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["ANSWER_KEEP", "Documented", "result_entry"]

ANSWER_KEEP = 65536
"""Longer answers are kept in the manifest as a head (the whole text is in the worker's file)."""
VOTE_KEEP = 2000
"""Longer answers in a tally are kept as a head."""


@runtime_checkable
class Documented(Protocol):
    """A system's result that says what the run answered."""

    def result_document(self) -> dict[str, Any] | None:
        """``answer``, ``aggregate`` and ``vote`` as JSON-able data; None: no answer."""
        ...


def _clip(text: str, limit: int = ANSWER_KEEP) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more characters not kept here]"


def _vote(vote: dict[str, Any] | None) -> dict[str, Any] | None:
    if not vote:
        return vote
    winner = vote.get("winner")
    return {**vote, "winner": _clip(winner, VOTE_KEEP) if isinstance(winner, str) else winner,
            "counts": {_clip(k, VOTE_KEEP): n for k, n in (vote.get("counts") or {}).items()}}


def result_entry(result: Any) -> dict[str, Any] | None:
    """The manifest's ``result`` for what a system handed ``RunFinished`` (None: nothing)."""
    if not isinstance(result, Documented):
        return None
    doc = result.result_document()
    if not doc:
        return None
    entry = dict(doc)
    if isinstance(entry.get("answer"), str):
        entry["answer"] = _clip(entry["answer"])
    agg = entry.get("aggregate")
    if isinstance(agg, dict):
        entry["aggregate"] = {**agg, "answer": _clip(agg.get("answer") or ""),
                              "vote": _vote(agg.get("vote"))}
    if isinstance(entry.get("vote"), dict):
        entry["vote"] = _vote(entry["vote"])
    return entry or None
