"""RunRecorder: the event listener that writes one run's transcripts and manifest to disk.

The recorder is the run-state fold (``agentdeck.state.RunFold``) the live view and the CLI use
too, so ``run.json`` says what the cards say; it adds the files. Hot path: a ``TextDelta`` only
appends its strings to the worker's pending list. A timer on the running event loop flushes
pending text (appended to ``<worker>.md`` and ``<worker>.reasoning.md``) and rewrites
``run.json`` at most every 0.5 s, so the last bytes of a stream that stops mid-way reach the
disk even when no other event follows. A worker's end flushes its text at once. Without a
running loop (plain synchronous use) text is flushed on the first event 0.5 s after the
previous flush, and state changes are written at once.

``run.json`` is always replaced atomically, so after ``kill -9`` it is the last complete state;
workers it shows unfinished are reported as interrupted by ``RunInfo``.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import fsutil
from ..errors import redact
from ..events import (
    Retrying,
    RunEvent,
    RunFinished,
    RunStarted,
    StepFinished,
    TextDelta,
    WorkerFailed,
    WorkerStarted,
)
from ..sanitize import safe_filename
from ..state import RunFold, StepInfo, WorkerState
from ..types import now
from .append_files import AppendFiles, create_soon
from .flush_timer import FLUSH_INTERVAL, FlushTimer
from .manifest import (
    MANIFEST,
    RecordedWorker,
    dump_manifest,
    step_entry,
    totals,
    writer_info,
)
from .result import result_entry

if TYPE_CHECKING:
    from .runs import Restored

__all__ = ["FLUSH_INTERVAL", "RunRecorder", "Snapshots"]

log = logging.getLogger("agentdeck.store")

_STEP_NAME = re.compile(r"step-\d+", re.IGNORECASE)
_STREAMING = WorkerState.STREAMING
_ATTEMPT_KEYS = ("status", "finish_reason", "error", "error_kind", "chars", "reasoning_chars",
                 "file", "reasoning_file")


class Snapshots(Protocol):
    """What the recorder asks the run's summary, at each manifest write."""

    def snapshot(self) -> dict[str, Any]: ...


class RunRecorder(RunFold[RecordedWorker]):
    """Writes one run to ``<runs>/<run-id>/``; call it with every run event (an EventListener).

    Made by ``RunStore.create_run``. ``close()`` flushes everything and writes the final
    manifest; it is idempotent, and workers still unfinished then are marked ``interrupted``.
    A worker queued again after the run finished (a retry) reopens the run; its earlier
    attempt is kept as ``<worker>.attempt-N.md``.
    """

    record = RecordedWorker

    def __init__(self, run_dir: Path, manifest: dict[str, Any],
                 restored: Restored | None = None, summary: Snapshots | None = None) -> None:
        super().__init__()
        self.dir = run_dir
        self.run_id: str = manifest["run_id"]
        self.system = manifest.get("system") or ""
        self.manifest = manifest
        """The manifest as last written (read it, do not change it)."""
        self.summary = summary
        """The run's summary (``RunSummary``), written into the manifest as ``summary``."""
        self.write_error: OSError | None = None
        """The last disk error, if writing failed (text stays pending and is retried)."""
        self._stems: set[str] = set()
        self._step_files: dict[int, str] = {}
        self._timer = FlushTimer(self.flush)
        self._files = AppendFiles()
        self._dirty = False
        self._closed = False
        if restored is not None:
            self._restore(restored)
        self._write_manifest(durable=True)

    # ------------------------------------------------------------------ event intake

    def __call__(self, event: RunEvent) -> None:
        """Handle one run event. ``TextDelta`` is the hot path: two list appends at most."""
        if event.__class__ is TextDelta:
            worker = self.workers.get(event.worker_id) or self._add(event.worker_id)
            if event.content:
                worker.pending.append(event.content)
            if event.reasoning:
                worker.rpending.append(event.reasoning)
            if worker.state is not _STREAMING:
                self._streaming(worker, event.t)
            if self._timer.armed is None:
                self._timer.poke()
            return
        changed = self.fold(event)
        if changed is not None:
            if changed.__class__ is RecordedWorker:
                changed.cached = None
            self._changed()

    def worker_path(self, worker_id: str) -> Path:
        """The worker's text file (it exists once text was flushed or the worker ended)."""
        return self._get(worker_id).path

    def reasoning_path(self, worker_id: str) -> Path | None:
        """The worker's reasoning file, or None while no reasoning arrived."""
        worker = self.workers.get(worker_id)
        return worker.reasoning_path if worker else None

    # ------------------------------------------------------------------ flushing

    def flush(self) -> None:
        """Append all pending text to the worker files, then rewrite the manifest if changed."""
        self._flush_text()
        if self._dirty:
            self._write_manifest()

    def _flush_text(self) -> None:
        for worker in self.workers.values():
            if worker.pending or worker.rpending:
                self._flush_worker(worker)
        self._timer.last = now()

    def close(self) -> None:
        """Flush everything and write the final manifest. Safe to call more than once."""
        self._timer.cancel()
        if not self._closed:
            self._closed = True
            self._timer.stopped = True
            if not self.finished:
                self.interrupt()
        self._flush_text()
        self._files.close()
        self._write_manifest(durable=True)

    def record_error(self, error: BaseException) -> None:
        """Keep the exception that ended the run in the manifest (``error``): its kind, message
        and traceback, so a system's own bug (a plugin's) can be read after the fact."""
        import traceback

        self.manifest["error"] = {
            "kind": type(error).__name__,
            "message": redact(str(error)),
            "traceback": redact("".join(traceback.format_exception(error))),
        }
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

    def _flush_worker(self, worker: RecordedWorker) -> None:
        try:
            if worker.pending:
                text = "".join(worker.pending)
                self._files.append(worker.path, text.encode("utf-8", "surrogatepass"))
                worker.pending.clear()
                worker.chars += len(text)
                self._dirty = True
            if worker.rpending:
                if worker.reasoning_path is None:
                    worker.reasoning_path = worker.path.with_suffix(".reasoning.md")
                    worker.cached = None
                text = "".join(worker.rpending)
                self._files.append(worker.reasoning_path, text.encode("utf-8", "surrogatepass"))
                worker.rpending.clear()
                worker.reasoning_chars += len(text)
                self._dirty = True
        except OSError as exc:  # keep the text pending; the next flush retries
            self._disk_error(exc)

    def _write_manifest(self, durable: bool = False) -> None:
        manifest = self.manifest
        entries = [worker.entry() for worker in self.workers.values()]
        manifest.update(
            system=manifest.get("system") or self.system,
            status=self.status,
            workers=entries,
            steps=[step_entry(s, self._step_files.get(s.step)) for s in self.steps.values()],
            totals=totals(entries),
            updated_at=time.time(),
        )
        if self.summary is not None:
            manifest["summary"] = self.summary.snapshot()
        if self.fitted is not None:
            f = self.fitted
            manifest["fitted"] = {"worker": f.worker_id, "field": f.field, "asked": f.asked,
                                  "sent": f.sent, "window": f.window, "note": f.note}
        try:
            fsutil.atomic_write(self.dir / MANIFEST, dump_manifest(manifest), durable=durable)
        except OSError as exc:
            self._disk_error(exc)
            return
        self._dirty = False

    def _disk_error(self, exc: OSError) -> None:
        # A listener must not break the run it records; report once, keep retrying.
        if self.write_error is None:
            log.error("run %s: cannot write to %s: %s", self.run_id, self.dir, exc)
        self.write_error = exc

    # ------------------------------------------------------------------ fold hooks

    def _add(self, worker_id: str, label: str = "", step: int | None = None) -> RecordedWorker:
        worker = super()._add(worker_id, label, step)
        stem = safe_filename(worker_id, default="worker", max_len=80)
        if _STEP_NAME.fullmatch(stem) or stem.lower() == "run":
            stem += "-worker"  # step-NN.md and run.json belong to the run itself
        base, n = stem, 2
        while stem.lower() in self._stems:
            stem, n = f"{base}-{n}", n + 1
        self._stems.add(stem.lower())
        worker.path = self.dir / f"{stem}.md"
        # The file is created by its first flush or when the worker ends, not here: a run
        # that queues a thousand workers would otherwise stall the loop creating files.
        self._dirty = True
        return worker

    def _streaming(self, w: RecordedWorker, t: float) -> None:
        if w.state.finished:  # late text: the fold ignores it, the manifest need not change
            return
        super()._streaming(w, t)
        w.cached = None
        self._dirty = True

    def _ended(self, worker: RecordedWorker) -> None:
        self._flush_worker(worker)
        self._files.close(worker.path)
        if worker.reasoning_path is not None:
            self._files.close(worker.reasoning_path)
        if worker.chars == 0:  # an ended worker always has its (maybe empty) file
            try:
                fsutil.touch_private(worker.path)
            except OSError as exc:
                self._disk_error(exc)
        worker.ended_at = time.time()
        worker.cached = None
        self._dirty = True

    def _restarted(self, old: RecordedWorker, new: RecordedWorker) -> None:
        """Move the ended attempt's files aside (``<worker>.attempt-N.md``) and keep its entry."""
        self._flush_worker(old)
        attempt = len(old.attempts) + 1
        entry = old.entry()
        kept = {key: entry[key] for key in _ATTEMPT_KEYS}
        for key, path in (("file", old.path), ("reasoning_file", old.reasoning_path)):
            if path is None:
                continue
            self._files.close(path)
            moved = path.with_name(f"{path.name[: -len('.md')]}.attempt-{attempt}.md")
            try:
                os.replace(path, moved)
                kept[key] = moved.name
            except OSError as exc:
                self._disk_error(exc)
        new.path = old.path
        new.attempts = [*old.attempts, kept]

    def _reopen(self) -> None:
        super()._reopen()
        self._closed = False
        self._timer.stopped = False
        self.manifest.update(finished_at=None, writer=writer_info())
        self._dirty = True

    def _finish(self, status: str, t: float) -> None:
        super()._finish(status, t)
        self.manifest["finished_at"] = time.time()
        self._dirty = True

    # ------------------------------------------------------------------ handlers

    def _on_run_started(self, ev: RunStarted) -> None:
        new = [w for w in ev.workers if w not in self.workers]
        super()._on_run_started(ev)
        # Made now in a thread: creating hundreds of files at the first flush stalls the loop.
        create_soon(self.workers[w].path for w in new)
        self._changed()

    def _on_started(self, ev: WorkerStarted) -> RecordedWorker:
        worker = super()._on_started(ev)
        worker.started_at = time.time()
        return worker

    def _on_retrying(self, ev: Retrying) -> RecordedWorker | None:
        worker = super()._on_retrying(ev)
        if worker is not None:
            worker.last_retry = redact(ev.reason)
        return worker

    def _on_step_finished(self, ev: StepFinished) -> StepInfo:
        info = super()._on_step_finished(ev)
        name = f"step-{ev.step:02d}.md"
        try:
            fsutil.atomic_write(self.dir / name, ev.output.encode("utf-8", "surrogatepass"),
                                durable=False)
        except OSError as exc:
            self._disk_error(exc)
        else:
            self._step_files[ev.step] = name
        return info

    def _on_failed(self, ev: WorkerFailed) -> RecordedWorker:
        worker = self._get(ev.worker_id)
        self._flush_worker(worker)
        if ev.partial and len(ev.partial) > worker.chars:
            self._complete_partial(worker, ev.partial)
        worker.failure = None if ev.cancelled else redact(ev.reason)
        return super()._on_failed(ev)

    def _complete_partial(self, worker: RecordedWorker, partial: str) -> None:
        """Append the tail of ``partial`` that never came as deltas (the file is a prefix)."""
        try:
            written = worker.path.read_text("utf-8", errors="replace")
        except OSError:
            return
        if partial.startswith(written):
            worker.pending.append(partial[len(written):])
            self._flush_worker(worker)

    def _on_run_finished(self, ev: RunFinished) -> None:
        super()._on_run_finished(ev)
        entry = result_entry(ev.result)
        if entry is not None:
            self.manifest["result"] = entry
        self.close()

    def _restore(self, restored: Restored) -> None:
        """Take back a finished run's workers and steps (``RunStore.reopen_run``), so that a
        worker queued again reopens the run and its earlier attempt is kept."""
        for worker in restored.workers:
            self.adopt(worker)
            self._stems.add(worker.path.stem.lower())
        for info, name in restored.steps:
            self.steps[info.step] = info
            if name:
                self._step_files[info.step] = name
        self.status = restored.status
