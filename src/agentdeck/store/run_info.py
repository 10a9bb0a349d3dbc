"""RunInfo: a recorded run read back from disk, for the history screen and ``agentdeck runs``.

Worker states are read in the words of ``agentdeck.state``, whatever the manifest's format
(format 1 said ``running`` for waiting, streaming and retrying). A run whose manifest still says
``running`` while the process that wrote it is gone (same host, pid not alive, or alive but
started at another time) is reported as ``interrupted``, and so are its unfinished workers.
Reading never changes the files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..state import UNFINISHED, RunStatus, WorkerState, read_state
from .manifest import HOST, proc_stat
from .summary import RunSummary

__all__ = ["RunInfo"]


def _writer_alive(writer: Any) -> bool:
    """False only when we can tell the writing process is gone; another host counts as alive."""
    if not isinstance(writer, dict) or writer.get("host") != HOST:
        return True
    pid = writer.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    fields = proc_stat(pid)
    if fields is None:
        return True
    if fields and fields[0] in ("Z", "X"):  # a zombie no longer writes anything
        return False
    start = writer.get("start")
    return not (start and len(fields) > 19 and fields[19] != start)


@dataclass
class RunInfo:
    """One run on disk: its manifest, folder and helpers to read the worker texts."""

    run_id: str
    dir: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    """Why the manifest could not be read (missing, corrupt); None when it is fine."""

    @cached_property
    def status(self) -> str:
        """``running``, ``done``, ``partial``, ``failed``, ``cancelled``, ``interrupted``
        (the writer died) or ``corrupt`` (the manifest cannot be read).

        Like the manifest, a snapshot taken when first asked; load the run again to refresh.
        """
        if self.problem is not None:
            return "corrupt"
        status = str(self.manifest.get("status", RunStatus.RUNNING))
        if status == RunStatus.RUNNING and not _writer_alive(self.manifest.get("writer")):
            return RunStatus.INTERRUPTED.value
        return status

    @cached_property
    def workers(self) -> list[dict[str, Any]]:
        """Worker entries (copies) with their state in today's words; unfinished ones read
        ``interrupted`` when the run is. A snapshot, like ``status``: read once.

        Without a readable manifest, the ``*.md`` files in the folder stand in for workers.
        """
        if self.problem is not None:
            return self._workers_from_files()
        interrupted = self.status == RunStatus.INTERRUPTED
        out = []
        for entry in self.manifest.get("workers") or []:
            entry = dict(entry)
            streamed = bool(entry.get("chars") or entry.get("reasoning_chars")
                            or entry.get("ttft") is not None)
            state = read_state(entry.get("status"), streamed)
            if state is not None:
                if interrupted and state in UNFINISHED:
                    state = WorkerState.INTERRUPTED
                entry["status"] = state.value
            out.append(entry)
        return out

    def _workers_from_files(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.dir.glob("*.md")):
            if (path.name.endswith(".reasoning.md") or path.name.startswith("step-")
                    or ".attempt-" in path.name):
                continue
            reasoning = path.with_suffix(".reasoning.md")
            out.append({"id": path.stem, "label": path.stem, "status": "unknown",
                        "file": path.name,
                        "reasoning_file": reasoning.name if reasoning.exists() else None})
        return out

    @cached_property
    def _by_id(self) -> dict[str, dict[str, Any]]:
        # Opening a run reads every worker's files by id: one look-up each, not a scan.
        return {str(entry.get("id")): entry for entry in reversed(self.workers)}

    def worker(self, worker_id: str) -> dict[str, Any]:
        """The entry of one worker; InputError naming the known ones if there is none."""
        entry = self._by_id.get(worker_id)
        if entry is not None:
            return entry
        known = ", ".join(str(e.get("id")) for e in self.workers) or "none"
        raise InputError(f"run {self.run_id} has no worker {worker_id!r} (workers: {known})")

    def worker_path(self, worker_id: str) -> Path:
        """The worker's text file."""
        return self.dir / Path(str(self.worker(worker_id)["file"])).name

    def reasoning_path(self, worker_id: str) -> Path | None:
        """The worker's reasoning file, or None when the server sent no reasoning."""
        name = self.worker(worker_id).get("reasoning_file")
        return self.dir / Path(str(name)).name if name else None

    def read_text(self, worker_id: str) -> str:
        """The worker's text as written so far (invalid bytes, if any, shown as U+FFFD)."""
        return _read(self.worker_path(worker_id))

    def read_reasoning(self, worker_id: str) -> str:
        """The worker's reasoning text ('' when there is none)."""
        path = self.reasoning_path(worker_id)
        return _read(path) if path else ""

    def read_step(self, step: int) -> str:
        """The output a step handed on (a chain's communication unit); '' if none was saved."""
        for entry in self.steps:
            if entry.get("step") == step and entry.get("output_file"):
                return _read(self.dir / Path(str(entry["output_file"])).name)
        return ""

    @property
    def steps(self) -> list[dict[str, Any]]:
        """Step entries: step, total, label, worker_id, status, output_file, chars."""
        return list(self.manifest.get("steps") or [])

    @property
    def system(self) -> str:
        return str(self.manifest.get("system") or "")

    @property
    def label(self) -> str:
        return str(self.manifest.get("label") or "")

    @property
    def model(self) -> str | None:
        return self.manifest.get("model")

    @property
    def endpoint(self) -> str | None:
        return self.manifest.get("endpoint")

    @property
    def prompts(self) -> dict[str, Any]:
        return dict(self.manifest.get("prompts") or {})

    @property
    def created(self) -> float:
        """Creation time (seconds since the epoch); the folder's time when unknown."""
        value = self.manifest.get("created_at")
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return self.dir.stat().st_mtime
        except OSError:
            return 0.0

    @property
    def wall(self) -> float | None:
        """Seconds the run took (its summary's wall time, else creation to finish), if known."""
        summary = self.manifest.get("summary")
        if isinstance(summary, dict) and isinstance(summary.get("wall_s"), (int, float)):
            return float(summary["wall_s"])
        end, start = self.manifest.get("finished_at"), self.manifest.get("created_at")
        if isinstance(end, (int, float)) and isinstance(start, (int, float)):
            return max(end - start, 0.0)
        return None

    @cached_property
    def summary(self) -> dict[str, Any] | None:
        """The run's summary as recorded, else rebuilt from its workers' figures (its
        ``rebuilt`` field says so); None when no worker recorded any."""
        summary = self.manifest.get("summary")
        if isinstance(summary, dict) and summary:
            return summary
        if not any(entry.get("metrics") for entry in self.workers):
            return None
        return RunSummary.from_entries(self.workers, self.wall).snapshot()

    @property
    def result(self) -> dict[str, Any]:
        """What the run answered (``answer``, ``aggregate``, ``vote``); {} when not recorded."""
        result = self.manifest.get("result")
        return dict(result) if isinstance(result, dict) else {}

    @property
    def output_tokens(self) -> int:
        """Tokens the workers generated (the summary's, else the usage the workers recorded)."""
        summary = self.manifest.get("summary")
        if isinstance(summary, dict) and isinstance(summary.get("output_tokens"), int):
            return summary["output_tokens"]
        return sum(((entry.get("usage") or {}).get("completion_tokens") or 0)
                   for entry in self.workers)

    def mentions(self, needle: str) -> bool:
        """True when ``needle`` (any case) is in a prompt, an answer or a step's output."""
        needle = needle.casefold()
        texts = [value for value in self.prompts.values() if isinstance(value, str)]
        texts.append(str(self.result.get("answer") or ""))
        if any(needle in text.casefold() for text in texts):
            return True
        files = [self.dir / Path(str(e["file"])).name for e in self.workers if e.get("file")]
        files += [self.dir / Path(str(e["output_file"])).name for e in self.steps
                  if e.get("output_file")]
        return any(needle in _read(path).casefold() for path in files)

    @property
    def prompt_head(self) -> str:
        """The first line of the first prompt, at most 80 characters, for lists."""
        for value in self.prompts.values():
            if isinstance(value, str) and value.strip():
                line = value.strip().splitlines()[0]
                return line if len(line) <= 80 else line[:79] + "…"
        return ""


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
