"""RunRecorder: the event listener that writes one run's transcripts and manifest to disk.

Hot path: a ``TextDelta`` only appends its strings to the worker's pending list. A timer on the
running event loop flushes pending text (appended to ``<worker>.md`` and
``<worker>.reasoning.md``) and rewrites ``run.json`` at most every 0.5 s, so the last bytes of a
stream that stops mid-way reach the disk even when no other event follows. A worker's end
flushes its text at once. Without a running loop (plain synchronous use) text is flushed on the
first event 0.5 s after the previous flush, and state changes are written at once.

``run.json`` is always replaced atomically, so after ``kill -9`` it is the last complete state;
workers it shows as queued or running are reported as interrupted by ``RunInfo``.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from .. import fsutil
from ..errors import redact
from ..events import (
    FirstToken,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerQueued,
    WorkerStarted,
)
from ..sanitize import safe_filename
from ..types import now
from .append_files import AppendFiles, create_soon
from .flush_timer import FLUSH_INTERVAL, FlushTimer
from .manifest import (
    MANIFEST,
    UNFINISHED,
    dump_manifest,
    reset_entry,
    totals,
    worker_entry,
    writer_info,
)

__all__ = ["FLUSH_INTERVAL", "RunRecorder"]

log = logging.getLogger("agentdeck.store")

_STEP_NAME = re.compile(r"step-\d+", re.IGNORECASE)


class _Worker:
    """Pending text and the manifest entry of one worker."""

    __slots__ = ("entry", "path", "pending", "reasoning_path", "rpending", "t_start")

    def __init__(self, entry: dict[str, Any], path: Path) -> None:
        self.entry = entry
        self.path = path
        self.reasoning_path: Path | None = None
        self.pending: list[str] = []
        self.rpending: list[str] = []
        self.t_start: float | None = None


class RunRecorder:
    """Writes one run to ``<runs>/<run-id>/``; call it with every run event (an EventListener).

    Made by ``RunStore.create_run``. ``close()`` flushes everything and writes the final
    manifest; it is idempotent, and workers still unfinished then are marked ``interrupted``.
    """

    def __init__(self, run_dir: Path, manifest: dict[str, Any]) -> None:
        self.dir = run_dir
        self.run_id: str = manifest["run_id"]
        self.manifest = manifest
        """The live manifest dict (read it, do not change it)."""
        self.write_error: OSError | None = None
        """The last disk error, if writing failed (text stays pending and is retried)."""
        self._workers: dict[str, _Worker] = {}
        self._stems: set[str] = set()
        self._steps: dict[int, dict[str, Any]] = {}
        self._timer = FlushTimer(self.flush)
        self._files = AppendFiles()
        self._dirty = False
        self._closed = False
        self._write_manifest(durable=True)

    # ------------------------------------------------------------------ event intake

    def __call__(self, event: Any) -> None:
        """Handle one run event. ``TextDelta`` is the hot path: two list appends at most."""
        if event.__class__ is TextDelta:
            worker = self._workers.get(event.worker_id) or self._add_worker(event.worker_id)
            if event.content:
                worker.pending.append(event.content)
            if event.reasoning:
                worker.rpending.append(event.reasoning)
            if self._timer.armed is None:
                self._timer.poke()
            return
        handler = _HANDLERS.get(event.__class__)
        if handler is not None:
            handler(self, event)

    def worker_path(self, worker_id: str) -> Path:
        """The worker's text file (it exists once text was flushed or the worker ended)."""
        return self._worker(worker_id).path

    def reasoning_path(self, worker_id: str) -> Path | None:
        """The worker's reasoning file, or None while no reasoning arrived."""
        worker = self._workers.get(worker_id)
        return worker.reasoning_path if worker else None

    # ------------------------------------------------------------------ flushing

    def flush(self) -> None:
        """Append all pending text to the worker files, then rewrite the manifest if changed."""
        self._flush_text()
        if self._dirty:
            self._write_manifest()

    def _flush_text(self) -> None:
        for worker in self._workers.values():
            if worker.pending or worker.rpending:
                self._flush_worker(worker)
        self._timer.last = now()

    def close(self) -> None:
        """Flush everything and write the final manifest. Safe to call more than once."""
        self._timer.cancel()
        if not self._closed:
            self._closed = True
            self._timer.stopped = True
            if self.manifest["status"] == "running":
                self._finish_run("interrupted")
        self._flush_text()
        self._files.close()
        self._write_manifest(durable=True)

    def reopen(self) -> None:
        """Accept a new round of events after the run finished (a retried worker).

        A worker that starts again keeps its earlier attempt as ``<worker>.attempt-N.md``.
        """
        self._closed = False
        self._timer.stopped = False
        self.manifest.update(status="running", finished_at=None, writer=writer_info())
        self._changed()

    @property
    def closed(self) -> bool:
        """True once ``close()`` ran (events that still arrive are written at once)."""
        return self._closed

    def _changed(self) -> None:
        """A state change: write the manifest with the next flush (at once without a loop)."""
        self._dirty = True
        if self._timer.armed is None:
            self._timer.poke(urgent=True)

    def _flush_worker(self, worker: _Worker) -> None:
        entry = worker.entry
        try:
            if worker.pending:
                text = "".join(worker.pending)
                self._files.append(worker.path, text.encode("utf-8", "surrogatepass"))
                worker.pending.clear()
                entry["chars"] += len(text)
                self._dirty = True
            if worker.rpending:
                if worker.reasoning_path is None:
                    worker.reasoning_path = worker.path.with_suffix(".reasoning.md")
                    entry["reasoning_file"] = worker.reasoning_path.name
                text = "".join(worker.rpending)
                self._files.append(worker.reasoning_path, text.encode("utf-8", "surrogatepass"))
                worker.rpending.clear()
                entry["reasoning_chars"] += len(text)
                self._dirty = True
        except OSError as exc:  # keep the text pending; the next flush retries
            self._disk_error(exc)

    def _write_manifest(self, durable: bool = False) -> None:
        self.manifest["totals"] = totals(w.entry for w in self._workers.values())
        self.manifest["updated_at"] = time.time()
        try:
            fsutil.atomic_write(self.dir / MANIFEST, dump_manifest(self.manifest), durable=durable)
        except OSError as exc:
            self._disk_error(exc)
            return
        self._dirty = False

    def _disk_error(self, exc: OSError) -> None:
        # A listener must not break the run it records; report once, keep retrying.
        if self.write_error is None:
            log.error("run %s: cannot write to %s: %s", self.run_id, self.dir, exc)
        self.write_error = exc

    # ------------------------------------------------------------------ workers and steps

    def _add_worker(self, worker_id: str, label: str = "", step: int | None = None) -> _Worker:
        stem = safe_filename(worker_id, default="worker", max_len=80)
        if _STEP_NAME.fullmatch(stem) or stem.lower() == "run":
            stem += "-worker"  # step-NN.md and run.json belong to the run itself
        base, n = stem, 2
        while stem.lower() in self._stems:
            stem, n = f"{base}-{n}", n + 1
        self._stems.add(stem.lower())
        path = self.dir / f"{stem}.md"
        entry = worker_entry(worker_id, path.name, label, step)
        worker = self._workers[worker_id] = _Worker(entry, path)
        self.manifest["workers"].append(entry)
        # The file is created by its first flush or when the worker ends, not here: a run
        # that queues a thousand workers would otherwise stall the loop creating files.
        self._dirty = True
        return worker

    def _worker(self, worker_id: str) -> _Worker:
        return self._workers.get(worker_id) or self._add_worker(worker_id)

    def _end_worker(self, worker: _Worker, status: str, t: float, notify: bool = True) -> None:
        self._flush_worker(worker)
        self._files.close(worker.path)
        if worker.reasoning_path is not None:
            self._files.close(worker.reasoning_path)
        if worker.entry["chars"] == 0:  # an ended worker always has its (maybe empty) file
            try:
                fsutil.touch_private(worker.path)
            except OSError as exc:
                self._disk_error(exc)
        entry = worker.entry
        entry["status"] = status
        entry["ended_at"] = time.time()
        if worker.t_start is not None:
            entry["elapsed"] = round(t - worker.t_start, 6)
        if notify:
            self._changed()
        else:
            self._dirty = True

    def _finish_run(self, status: str) -> None:
        """Set the run's final status; workers not finished by now did not finish.

        They are ``interrupted`` only when the run was (closed without ``RunFinished``: the
        process is going down); a run that ended on its own, say a chain stopped by a failed
        step, did not run them: ``cancelled``.
        """
        leftover = "interrupted" if status == "interrupted" else "cancelled"
        for worker in self._workers.values():
            if worker.entry["status"] in UNFINISHED:
                self._end_worker(worker, leftover, now(), notify=False)
        for step in self._steps.values():
            if step["status"] == "running":
                step["status"] = leftover
        self.manifest["status"] = status
        self.manifest["finished_at"] = time.time()
        self._dirty = True

    # ------------------------------------------------------------------ handlers

    def _on_run_started(self, ev: RunStarted) -> None:
        if ev.system and not self.manifest.get("system"):
            self.manifest["system"] = ev.system
        new = [self._add_worker(w) for w in ev.workers if w not in self._workers]
        # Made now in a thread: creating hundreds of files at the first flush stalls the loop.
        create_soon(w.path for w in new)
        self._changed()

    def _again(self, worker: _Worker) -> None:
        """A worker that ended starts over: move its files aside, reset its entry."""
        entry = worker.entry
        if entry["status"] in UNFINISHED:
            return
        self._flush_worker(worker)
        attempt = len(entry["attempts"]) + 1
        old = {k: entry[k] for k in ("status", "finish_reason", "error", "error_kind", "chars",
                                     "reasoning_chars", "file", "reasoning_file")}
        for key, path in (("file", worker.path), ("reasoning_file", worker.reasoning_path)):
            if path is None:
                continue
            self._files.close(path)
            moved = path.with_name(f"{path.name[: -len('.md')]}.attempt-{attempt}.md")
            try:
                os.replace(path, moved)
                old[key] = moved.name
            except OSError as exc:
                self._disk_error(exc)
        entry["attempts"].append(old)
        reset_entry(entry)
        worker.reasoning_path = None

    def _on_queued(self, ev: WorkerQueued) -> None:
        worker = self._worker(ev.worker_id)
        self._again(worker)
        entry = worker.entry
        if ev.label:
            entry["label"] = ev.label
        if ev.step is not None:
            entry["step"] = ev.step
        self._changed()

    def _on_started(self, ev: WorkerStarted) -> None:
        worker = self._worker(ev.worker_id)
        self._again(worker)
        worker.t_start = ev.t
        worker.entry["status"] = "running"
        worker.entry["started_at"] = time.time()
        self._changed()

    def _on_first_token(self, ev: FirstToken) -> None:
        self._worker(ev.worker_id).entry["ttft"] = ev.ttft
        self._changed()

    def _on_retrying(self, ev: Retrying) -> None:
        if not ev.worker_id:
            return
        entry = self._worker(ev.worker_id).entry
        entry["retries"] += 1
        entry["last_retry"] = redact(ev.reason)
        self._changed()

    def _on_step_started(self, ev: StepStarted) -> None:
        step = self._steps.get(ev.step)
        if step is None:
            step = self._steps[ev.step] = {"step": ev.step, "output_file": None, "chars": 0}
            self.manifest["steps"].append(step)
        step.update(total=ev.total, label=ev.label, worker_id=ev.worker_id or None,
                    status="running")
        self._changed()

    def _on_step_finished(self, ev: StepFinished) -> None:
        step = self._steps.get(ev.step)
        if step is None:
            self._on_step_started(StepStarted(ev.run_id, ev.step, None, "", ev.worker_id))
            step = self._steps[ev.step]
        name = f"step-{ev.step:02d}.md"
        try:
            fsutil.atomic_write(self.dir / name, ev.output.encode("utf-8", "surrogatepass"),
                                durable=False)
        except OSError as exc:
            self._disk_error(exc)
        else:
            step.update(output_file=name, chars=len(ev.output))
        step["status"] = "done"
        self._changed()

    def _on_finished(self, ev: WorkerFinished) -> None:
        worker = self._worker(ev.worker_id)
        entry = worker.entry
        entry["finish_reason"] = ev.finish_reason
        entry["usage"] = asdict(ev.usage) if ev.usage is not None else None
        entry["metrics"] = ev.metrics.to_dict() if ev.metrics is not None else None
        self._end_worker(worker, "done", ev.t)

    def _on_failed(self, ev: WorkerFailed) -> None:
        worker = self._worker(ev.worker_id)
        self._flush_worker(worker)
        if ev.partial and len(ev.partial) > worker.entry["chars"]:
            self._complete_partial(worker, ev.partial)
        entry = worker.entry
        entry["error"] = None if ev.cancelled else redact(ev.reason)
        entry["error_kind"] = type(ev.error).__name__ if ev.error is not None else None
        self._end_worker(worker, "cancelled" if ev.cancelled else "failed", ev.t)

    def _complete_partial(self, worker: _Worker, partial: str) -> None:
        """Append the tail of ``partial`` that never came as deltas (the file is a prefix)."""
        try:
            written = worker.path.read_text("utf-8", errors="replace")
        except OSError:
            return
        if partial.startswith(written):
            worker.pending.append(partial[len(written):])
            self._flush_worker(worker)

    def _on_run_finished(self, ev: RunFinished) -> None:
        self._finish_run(ev.status)
        self.close()


_HANDLERS: dict[type, Callable[[RunRecorder, Any], None]] = {
    RunStarted: RunRecorder._on_run_started,
    WorkerQueued: RunRecorder._on_queued,
    WorkerStarted: RunRecorder._on_started,
    FirstToken: RunRecorder._on_first_token,
    Retrying: RunRecorder._on_retrying,
    StepStarted: RunRecorder._on_step_started,
    StepFinished: RunRecorder._on_step_finished,
    WorkerFinished: RunRecorder._on_finished,
    WorkerFailed: RunRecorder._on_failed,
    RunFinished: RunRecorder._on_run_finished,
}
