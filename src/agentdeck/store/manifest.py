"""The run manifest (``run.json``): its fields, and how they are built and serialised.

    {format, run_id, system, label, status, created_at, finished_at, updated_at,
     endpoint, model, params, prompts, writer: {pid, host, start}, agentdeck_version,
     workers: [{id, label, step, status, finish_reason, error, error_kind, usage, metrics,
                chars, reasoning_chars, file, reasoning_file, retries, last_retry, ttft,
                started_at, ended_at, elapsed, attempts}],
     steps: [{step, total, label, worker_id, status, output_file, chars}],
     totals: {workers, status: {status: count}, chars, completion_tokens}}

Run status: running | done | partial | failed | cancelled | interrupted. Worker status:
queued | running | done | failed | cancelled | interrupted. Times are seconds since the epoch.
The endpoint URL is stored without credentials; the API key is never stored.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

import orjson

from .. import __version__

__all__ = ["FORMAT", "HOST", "MANIFEST", "UNFINISHED", "dump_manifest", "new_manifest",
           "public_url",
           "process_start", "reset_entry", "totals", "worker_entry", "writer_info"]

HOST = socket.gethostname()
FORMAT = 1
"""Manifest format version, bumped when a field changes meaning."""
MANIFEST = "run.json"
UNFINISHED = frozenset({"queued", "running"})
"""Worker states that mean "not finished yet"."""


def process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux ``/proc``), or None where unavailable.

    Stored with the pid so a pid reused by an unrelated process is not taken for the writer.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


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
        "status": "running",
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


def worker_entry(worker_id: str, file: str, label: str = "",
                 step: int | None = None) -> dict[str, Any]:
    """A new worker's manifest entry (status ``queued``)."""
    entry: dict[str, Any] = {"id": worker_id, "label": label or worker_id, "step": step,
                             "file": file, "attempts": []}
    reset_entry(entry)
    return entry


def reset_entry(entry: dict[str, Any]) -> None:
    """Clear a worker's outcome so it can run again (earlier attempts stay in ``attempts``)."""
    entry.update(status="queued", finish_reason=None, error=None, error_kind=None, usage=None,
                 metrics=None, chars=0, reasoning_chars=0, reasoning_file=None, retries=0,
                 last_retry=None, ttft=None, started_at=None, ended_at=None, elapsed=None)


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
