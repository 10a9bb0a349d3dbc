"""The CLI's progress on stderr: the run-state fold (``state.RunFold``), drawn as a bar.

On a terminal it is one live line redrawn at most ten times a second; when stderr is not a
terminal (or text streams to the same terminal) it is plain lines without control characters.
"""

from __future__ import annotations

import time
from typing import Any

from ..events import (
    ParamsFitted,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
)
from ..state import RunFold, WorkerRecord, WorkerState
from .output import Output

__all__ = ["Progress"]


class Progress(RunFold[WorkerRecord]):
    """Listener that shows how a run is going on stderr: the run-state fold, drawn as a bar."""

    INTERVAL = 0.1

    def __init__(self, out: Output, enabled: bool = True, live: bool | None = None) -> None:
        super().__init__()
        self.out = out
        self.enabled = enabled
        self.live = out.err_tty if live is None else live
        """Redraw one bar in place (a terminal not also showing streamed text)."""
        self.chars = 0
        self._last = 0.0
        self._drawn = False

    def __call__(self, event: Any) -> None:
        if not self.enabled:
            return
        kind = event.__class__
        if kind is TextDelta:
            self.chars += len(event.content) + len(event.reasoning)
            w = self.workers.get(event.worker_id) or self._add(event.worker_id)
            if w.state is not _STREAMING:
                self._streaming(w, event.t)
            if self.live:
                self._draw()
            return
        if kind is RunStarted and event.run_id != self.run_id:
            # One Progress may watch several runs in turn (examples): start over.
            RunFold.__init__(self)
            self.chars = 0
        self.fold(event)
        several = len(self.workers) > 1  # a one-call run's result or error speaks for itself
        if kind is WorkerFinished and several:
            self._say(f"{event.worker_id} done ({event.finish_reason or 'no reason given'})",
                      force=not self.live)
        elif kind is WorkerFailed and several:
            self._say(f"{event.worker_id} {event.reason}", force=True)
        elif kind is Retrying:
            self._say(f"{event.worker_id} retrying ({event.attempt}/{event.max_attempts}): "
                      f"{event.reason}", force=True)
        elif kind is ParamsFitted:  # sent once per run
            self._say(event.note, force=True)
        elif kind is StepStarted and not self.live:
            self._say(f"step {event.step}/{event.total or '?'}: {event.label}", force=True)
        elif kind is StepFinished and not self.live:
            self._say(f"step {event.step} finished ({len(event.output)} chars)", force=True)
        elif kind is RunFinished:
            self._clear()
            return
        self._draw(force=True)

    def _bar(self) -> str:
        counts = self.counts
        total = len(self.workers)
        failed = counts[WorkerState.FAILED] + counts[WorkerState.CANCELLED] + counts[
            WorkerState.INTERRUPTED]
        ended = counts[WorkerState.DONE] + failed
        width = 24
        filled = int(width * ended / max(total, 1))
        going = [f"{counts[WorkerState.STREAMING]} streaming"]
        going += [f"{counts[state]} {state}" for state in (WorkerState.WAITING,
                                                          WorkerState.RETRYING) if counts[state]]
        if failed:
            going.append(f"{failed} failed")
        return (f"[{'#' * filled}{'.' * (width - filled)}] {ended}/{total} "
                f"({', '.join(going)}) {self.chars} chars")

    def _draw(self, force: bool = False) -> None:
        if not self.live:
            return
        t = time.monotonic()
        if not force and t - self._last < self.INTERVAL:
            return
        self._last = t
        self.out.stderr.write("\r\x1b[2K" + self._bar())
        self.out.stderr.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self.live and self._drawn:
            self.out.stderr.write("\r\x1b[2K")
            self.out.stderr.flush()
            self._drawn = False

    def _say(self, text: str, force: bool = False) -> None:
        if not force:
            return
        self._clear()
        self.out.note(text)


_STREAMING = WorkerState.STREAMING
