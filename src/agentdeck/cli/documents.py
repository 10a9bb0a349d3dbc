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
from typing import TYPE_CHECKING, Any

from ..events import SCHEMA, iso_time
from ..types import now
from .exitcodes import error_document
from .output import Output, json_line

if TYPE_CHECKING:
    from ..systems.registry import RunResult, SystemSpec, WorkerResult

__all__ = ["print_failure", "run_document", "worker_document"]

_COVERED = frozenset({"run_id", "results", "failed", "aggregate", "vote", "finish_reason",
                      "usage", "metrics"})
"""Keys of a system's own report that the common fields already give (``results`` and
``failed`` by the seed's ``call_1`` keys, which the workers' ids replace; an agent's
``finish_reason``, ``usage`` and ``metrics``, which its worker has)."""


def run_document(result: RunResult, spec: SystemSpec, *, command: str, model: str | None,
                 recorded: bool) -> dict[str, Any]:
    """The ``--json`` document (and the ``--events`` ``Result`` line) of a finished run."""
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "run_id": result.run_id if recorded else None,
        "system": spec.key,
        "command": command,
        "status": result.status,
        "model": model,
        "answer": result.answer,
        "aggregate": result.aggregate.document() if result.aggregate is not None else None,
        "summary": result.summary or None,
        "workers": {wid: _worker(w) for wid, w in result.workers.items()},
    }
    for key, value in result.report.items():
        if key not in _COVERED and key not in doc:
            doc[key] = value
    if isinstance(doc.get("targets"), list):  # compare: each target's workers, as above
        doc["targets"] = [_target(t, doc["workers"]) for t in doc["targets"]]
    return doc


def _target(entry: Any, workers: dict[str, Any]) -> Any:
    if not isinstance(entry, dict) or not isinstance(entry.get("workers"), (dict, list)):
        return entry
    return {**entry, "workers": {w: workers[w] for w in entry["workers"] if w in workers}}


def _worker(w: WorkerResult) -> dict[str, Any]:
    o = w.outcome
    status = "done" if o.ok else "cancelled" if o.cancelled else "failed"
    kind = type(o.error).__name__ if o.error is not None else None
    return worker_document(status, w.file, len(o.content), o.finish_reason, o.usage,
                           o.metrics, kind, str(o.error) if o.error is not None else None)


def worker_document(status: str, file: str | None, chars: int, finish_reason: str | None,
                    usage: Any, metrics: Any, error_kind: str | None,
                    error: str | None) -> dict[str, Any]:
    """One worker in every document (a run's, ``runs show --json``'s, a compare target's):
    how it ended, its file, its text's length, its figures and its error (null: none)."""
    return {"status": status, "file": file, "chars": chars, "finish_reason": finish_reason,
            "usage": usage, "metrics": metrics,
            "error": None if error is None else {"kind": error_kind, "message": error}}


def print_failure(args: argparse.Namespace, out: Output, kind: str, message: str,
                  code: int) -> int:
    """With --json the error document, with --events an ``Error`` line; returns ``code``.

    The one-line error on stderr is printed by the caller (``exitcodes.report``).
    """
    doc = error_document(kind, message, code)
    if getattr(args, "json", False):
        out.json(doc)
    elif getattr(args, "events", False):
        out.write(json_line({"schema": SCHEMA, "event": "Error", "time": iso_time(now()),
                             **doc}))
    return code
