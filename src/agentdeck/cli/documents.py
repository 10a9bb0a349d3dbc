"""The JSON documents of the output contract: a run's result, and a failure.

Every document carries ``"schema": SCHEMA``. A run's document has the same shape for every
system: its id (null when the run was not recorded), status, answer, aggregate, summary and
each worker by its worker id (``call-01``: the id of the progress lines and the run folder),
then what the system adds of its own (a chain's units, a debate's rounds). A command that fails
prints ``{"schema", "error": {"kind", "message", "exit_code"}}``; a run that ended badly has
its ``error`` beside its result.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..events import SCHEMA, iso_time
from ..types import now
from .exitcodes import error_document
from .output import Output, dumps

if TYPE_CHECKING:
    from ..systems.aggregate import AggregateResult
    from ..systems.registry import RunResult, SystemSpec, WorkerResult

__all__ = ["print_failure", "run_document", "worker_ids"]

_COVERED = frozenset({"run_id", "results", "failed", "aggregate", "vote"})
"""Keys of a system's own report that the common fields already give (``results`` and
``failed`` by the seed's ``call_1`` keys, which the workers' ids replace)."""


def run_document(result: RunResult, spec: SystemSpec, *, command: str, model: str | None,
                 recorded: bool) -> dict[str, Any]:
    """The ``--json`` document (and the ``--events`` ``Result`` line) of a finished run."""
    ids = worker_ids(result)
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "run_id": result.run_id if recorded else None,
        "system": spec.key,
        "command": command,
        "status": result.status,
        "model": model,
        "answer": result.answer,
        "aggregate": _aggregate(result.aggregate, ids),
        "summary": result.summary or None,
        "workers": {wid: _worker(w) for wid, w in result.workers.items()},
    }
    for key, value in result.report.items():
        if key not in _COVERED and key not in doc:
            doc[key] = value
    return doc


def _worker(w: WorkerResult) -> dict[str, Any]:
    o = w.outcome
    status = "done" if o.ok else "cancelled" if o.cancelled else "failed"
    error = None
    if o.error is not None:
        error = {"kind": type(o.error).__name__, "message": str(o.error)}
    return {"status": status, "file": w.file, "chars": len(o.content),
            "finish_reason": o.finish_reason, "usage": o.usage, "metrics": o.metrics,
            "error": error}


def worker_ids(result: RunResult) -> dict[str, str]:
    """The seed's task ids (``call_3``) a multi-call aggregate names, to its worker ids."""
    ids = {}
    for wid in result.workers:
        head, _, number = wid.rpartition("-")
        if head == "call" and number.isdigit():
            ids[f"call_{int(number)}"] = wid
    return ids


def _aggregate(agg: AggregateResult | None, ids: dict[str, str]) -> dict[str, Any] | None:
    if agg is None:
        return None
    doc = asdict(agg)
    doc["chosen"] = ids.get(agg.chosen, agg.chosen) if agg.chosen else None
    doc["inputs"] = [ids.get(t, t) for t in agg.inputs]
    if agg.vote is not None:
        doc["vote"] = {"winner": agg.vote.winner if agg.vote.majority else None,
                       "majority": agg.vote.majority, "summary": agg.vote.summary,
                       "counts": agg.vote.counts, "voters": agg.vote.voters}
    return doc


def print_failure(args: argparse.Namespace, out: Output, kind: str, message: str,
                  code: int) -> int:
    """With --json the error document, with --events an ``Error`` line; returns ``code``.

    The one-line error on stderr is printed by the caller (``exitcodes.report``).
    """
    doc = error_document(kind, message, code)
    if getattr(args, "json", False):
        out.json(doc)
    elif getattr(args, "events", False):
        line = {"schema": SCHEMA, "event": "Error", "time": iso_time(now()), **doc}
        out.write(dumps(line) + "\n")
    return code
