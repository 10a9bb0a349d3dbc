"""The run manifest (``run.json``): its fields, and how they are built and serialised.

    {format, run_id, system, label, status, created_at, finished_at, updated_at,
     endpoint, model, params, prompts, writer: {pid, host, start}, agentdeck_version,
     workers: [{id, label, step, status, finish_reason, error, error_kind, usage, metrics,
                chars, reasoning_chars, file, reasoning_file, retries, last_retry, ttft,
                started_at, ended_at, elapsed, attempts}],
     steps: [{step, total, label, worker_id, status, output_file, chars}],
     totals: {workers, status: {status: count}, chars, completion_tokens},
     summary: {...}  (store/summary.py), result: {answer, aggregate, vote}  (store/result.py),
     error: {kind, message, traceback}   (only when an exception ended the run: a bug, often
                                          a plugin's)}

Statuses are the words of ``agentdeck.state``. Run: running | done | partial | failed |
cancelled | interrupted. Worker: queued | waiting | streaming | retrying | done | failed |
cancelled | interrupted (format 1 wrote ``running`` for waiting, streaming and retrying;
``RunInfo`` reads both). Times are seconds since the epoch. The endpoint URL is stored without
credentials; the API key is never stored.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from .. import __version__
from ..state import RunStatus, StepInfo, WorkerRecord, WorkerState

__all__ = ["FORMAT", "HOST", "MANIFEST", "RecordedWorker", "dump_manifest", "new_manifest",
           "proc_stat", "process_start", "public_url", "step_entry", "totals", "writer_info"]

HOST = socket.gethostname()
FORMAT = 2
"""Manifest format version, bumped when a field changes meaning (2: worker states split
``running`` into waiting, streaming and retrying)."""
MANIFEST = "run.json"
_NO_FILE = Path()


def proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()


def process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux ``/proc``), or None where unavailable.

    Stored with the pid so a pid reused by an unrelated process is not taken for the writer.
    """
    fields = proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def writer_info() -> dict[str, Any]:
    """Who writes a run: pid, host and process start time, stored in the manifest."""
    pid = os.getpid()
    return {"pid": pid, "host": HOST, "start": process_start(pid)}


def dump_manifest(manifest: Mapping[str, Any]) -> bytes:
    """Serialise a manifest; values JSON cannot hold (exceptions, objects) become strings."""
    return orjson.dumps(manifest, default=str, option=orjson.OPT_INDENT_2) + b"\n"


def public_url(url: str | None) -> str | None:
    """The endpoint URL without any ``user:password@`` part."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return url


def _plain(value: Any) -> dict[str, Any]:
    """Params as a plain dict (a GenerationParams keeps only the fields that are set)."""
    if value is None:
        return {}
    to_body = getattr(value, "to_body", None)
    if callable(to_body):
        return to_body()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    return dict(value)


def new_manifest(run_id: str, system: str, *, params: Any, prompts: Mapping[str, Any] | None,
                 endpoint: str | None, model: str | None, label: str,
                 extra: Mapping[str, Any]) -> dict[str, Any]:
    """The first manifest of a run: status ``running``, no workers yet.

    ``extra`` fields (profile, concurrency, ...) come first so they never replace a core one.
    """
    return {
        **extra,
        "format": FORMAT,
        "run_id": run_id,
        "system": system,
        "label": label,
        "status": RunStatus.RUNNING.value,
        "created_at": time.time(),
        "finished_at": None,
        "endpoint": public_url(endpoint),
        "model": model,
        "params": _plain(params),
        "prompts": dict(prompts or {}),
        "writer": writer_info(),
        "agentdeck_version": __version__,
        "workers": [],
        "steps": [],
    }


@dataclass(eq=False, slots=True)
class RecordedWorker(WorkerRecord):
    """A worker's state (the fold's record) plus what the recorder keeps of it on disk."""

    path: Path = _NO_FILE
    """Its text file (made by the first flush, or when it ends)."""
    reasoning_path: Path | None = None
    pending: list[str] = field(default_factory=list)
    """Text received and not yet written; ``rpending`` holds reasoning."""
    rpending: list[str] = field(default_factory=list)
    chars: int = 0
    """Characters written to ``path`` (``reasoning_chars``: to ``reasoning_path``)."""
    reasoning_chars: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    """Earlier attempts of a retried worker (their files are ``<worker>.attempt-N.md``)."""
    started_at: float | None = None
    ended_at: float | None = None
    failure: str | None = None
    """The error line as stored (secrets redacted once, not per write)."""
    last_retry: str | None = None
    """The last retry's reason as stored (redacted)."""
    cached: dict[str, Any] | None = None
    """Its last entry, kept while its state does not change (None: build it again)."""

    def entry(self) -> dict[str, Any]:
        """The worker's manifest entry; only what its flushes change is refreshed in a kept one.

        Rebuilding every entry on every write cost ~1 ms per 1000 workers, twice a second.
        """
        entry = self.cached
        if entry is not None:
            entry["chars"], entry["reasoning_chars"] = self.chars, self.reasoning_chars
            return entry
        elapsed = None
        if self.finished_t is not None and self.started_t is not None and self.state.finished:
            elapsed = round(self.finished_t - self.started_t, 6)
        entry = self.cached = {
            "id": self.worker_id, "label": self.label, "step": self.step,
            "file": self.path.name, "attempts": self.attempts, "status": self.state.value,
            "finish_reason": self.finish_reason,
            "error": self.failure if self.state is WorkerState.FAILED else None,
            "error_kind": self.error_kind,
            "usage": asdict(self.usage) if self.usage is not None else None,
            "metrics": self.metrics.to_dict() if self.metrics is not None else None,
            "chars": self.chars, "reasoning_chars": self.reasoning_chars,
            "reasoning_file": self.reasoning_path.name if self.reasoning_path else None,
            "retries": self.retries, "last_retry": self.last_retry, "ttft": self.ttft,
            "started_at": self.started_at, "ended_at": self.ended_at, "elapsed": elapsed,
        }
        return entry


def step_entry(info: StepInfo, output_file: str | None) -> dict[str, Any]:
    """A step's manifest entry; ``output_file`` holds what it handed on, once written."""
    return {"step": info.step, "output_file": output_file,
            "chars": len(info.output) if output_file and info.output else 0,
            "total": info.total, "label": info.label, "worker_id": info.worker_id or None,
            "status": info.status.value}


def totals(entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts per status, characters written and completion tokens over all workers."""
    counts: dict[str, int] = {}
    chars = tokens = workers = 0
    for entry in entries:
        workers += 1
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        chars += entry["chars"]
        tokens += (entry["usage"] or {}).get("completion_tokens") or 0
    return {"workers": workers, "status": counts, "chars": chars, "completion_tokens": tokens}
