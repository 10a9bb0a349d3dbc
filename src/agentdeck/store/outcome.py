"""What a run ended with, kept and read back: its answer, its aggregate and its summary.

``result_entry`` turns the result a system hands ``RunFinished`` into the manifest's ``result``
(the final answer, a vote's tally, select's pick); read without importing any system, by the
names the systems' results share (``answer``, ``aggregate``, ``vote``). ``rebuild_summary``
computes a run's summary from its workers' recorded metrics, for runs recorded before
``run.json`` carried one and for a run reopened to retry some of its workers
(``ResumedSummary``): TTFT, TPOT and E2E come out exact (one figure per request, as the live
summary keeps), but pooled ITL percentiles cannot be rebuilt from per-request figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

from ..client.metrics import percentile

__all__ = ["REBUILT_NOTE", "ResumedSummary", "rebuild_summary", "result_entry"]

ANSWER_KEEP = 65536
"""Longer answers are kept in the manifest as a head (the whole text is in the worker's file)."""
REBUILT_NOTE = ("rebuilt from each request's recorded figures: ITL percentiles are not kept "
                "per request")
_PERCENTILES = (50, 90, 99)


def _clip(text: str, limit: int = ANSWER_KEEP) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more characters not kept here]"


def _vote_entry(vote: Any) -> dict[str, Any]:
    entry = asdict(vote)
    entry["counts"] = {_clip(k, 2000): n for k, n in entry.get("counts", {}).items()}
    entry["winner"] = _clip(str(entry.get("winner", "")), 2000)
    entry["majority"] = bool(getattr(vote, "majority", False))
    return entry


def result_entry(result: Any) -> dict[str, Any] | None:
    """The manifest's ``result`` for a system's result object, or None when it has no answer.

    Keeps ``answer`` (a chain's or a debate's final answer), ``aggregate`` (a multi-call's
    vote, select or synthesis: mode, answer, chosen call, vote, error) and ``vote`` (a
    debate's). A single agent's answer is its worker's file: nothing more to keep.
    """
    if result is None:
        return None
    entry: dict[str, Any] = {}
    answer = getattr(result, "answer", None)
    if isinstance(answer, str) and answer:
        entry["answer"] = _clip(answer)
    agg = getattr(result, "aggregate", None)
    if is_dataclass(agg) and not isinstance(agg, type):
        vote = getattr(agg, "vote", None)
        entry["aggregate"] = {
            "mode": getattr(agg, "mode", None), "answer": _clip(getattr(agg, "answer", "") or ""),
            "chosen": getattr(agg, "chosen", None), "error": getattr(agg, "error", None),
            "inputs": list(getattr(agg, "inputs", ()) or ()),
            "vote": _vote_entry(vote) if is_dataclass(vote) else None,
        }
    vote = getattr(result, "vote", None)
    if is_dataclass(vote) and not isinstance(vote, type):
        entry["vote"] = _vote_entry(vote)
    return entry or None


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, **{f"p{p}": None for p in _PERCENTILES}}
    ordered = sorted(values)
    return {"mean": sum(ordered) / len(ordered),
            **{f"p{p}": percentile(ordered, p) for p in _PERCENTILES}}


def rebuild_summary(entries: Iterable[Mapping[str, Any]], wall_s: float | None) -> dict[str, Any]:
    """A run's summary (the shape of ``RunSummary.snapshot()``) from its worker entries.

    Latency figures and tokens count the workers that finished (``done``), as the live summary
    does; ``wall_s`` is the run's wall time (None: from the workers' start and end times).
    Pooled ITL keeps only its mean, weighted by each request's gaps.
    """
    done = failed = cancelled = input_tokens = output_tokens = 0
    ttft: list[float] = []
    tpot: list[float] = []
    e2e: list[float] = []
    itl_sum = 0.0
    gaps = 0
    starts: list[float] = []
    ends: list[float] = []
    for entry in entries:
        status = entry.get("status")
        if isinstance(entry.get("started_at"), (int, float)):
            starts.append(entry["started_at"])
        if isinstance(entry.get("ended_at"), (int, float)):
            ends.append(entry["ended_at"])
        if status == "failed":
            failed += 1
        elif status in ("cancelled", "interrupted"):
            cancelled += 1
        if status != "done":
            continue
        done += 1
        usage = entry.get("usage") or {}
        input_tokens += usage.get("prompt_tokens") or 0
        metrics = entry.get("metrics") or {}
        tokens = metrics.get("output_tokens") or usage.get("completion_tokens") or 0
        output_tokens += tokens
        for values, key in ((ttft, "ttft"), (tpot, "tpot"), (e2e, "e2e")):
            if isinstance(metrics.get(key), (int, float)):
                values.append(metrics[key])
        if isinstance(metrics.get("itl_mean"), (int, float)) and tokens > 1:
            itl_sum += metrics["itl_mean"] * (tokens - 1)
            gaps += tokens - 1
    if wall_s is None:
        wall_s = max(max(ends) - min(starts), 0.0) if starts and ends else 0.0
    return {
        "requests": {"done": done, "failed": failed, "cancelled": cancelled},
        "wall_s": wall_s,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "output_tokens_per_s": output_tokens / wall_s if wall_s > 0 else None,
        "requests_per_s": done / wall_s if wall_s > 0 else None,
        "ttft_s": _stats(ttft),
        "tpot_s": _stats(tpot),
        "itl_s": {"mean": itl_sum / gaps if gaps else None,
                  **{f"p{p}": None for p in _PERCENTILES}},
        "e2e_s": _stats(e2e),
        "rebuilt": REBUILT_NOTE,
    }


class ResumedSummary:
    """The summary of a run reopened to retry some workers: every worker's recorded figures,
    over the time the run took before plus the time of the retry.

    Stands in for the recorder's ``summary`` (it asks ``snapshot()`` at each manifest write).
    """

    def __init__(self, recorder: Any, live: Any, wall_before: float) -> None:
        self.recorder = recorder
        self.live = live
        """The retry's own ``RunSummary`` (its wall time is added to ``wall_before``)."""
        self.wall_before = wall_before

    def snapshot(self, at: float | None = None) -> dict[str, Any]:
        entries = [worker.entry() for worker in self.recorder.workers.values()]
        return rebuild_summary(entries, self.wall_before + self.live.wall(at))
