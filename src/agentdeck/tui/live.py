"""Plain per-worker buffers that run events stream into; the TUI's widgets read them per frame.

Public API::

    live = LiveRun()                  # one per run; the screen owns it
    system.add_listener(live)         # a sync EventListener: live(event)
    live.buffers["call-01"]           # -> WorkerBuffer (insertion order = display order)
    live.order                        # worker ids in the order they appeared
    live.take_dirty()                 # ids changed since the last call (the grid consumes it)
    live.tokens_per_s()               # aggregate rate over the last ~2 s
    live.steps                        # {step: state.StepInfo} for chains and debates
    live.status, live.counts          # the run's status, workers per state

    buf = live.buffers["call-01"]
    buf.state                         # state.WorkerState: queued, waiting, streaming, ...
    buf.state_text                    # "retrying 2/5", "streaming", ...
    buf.content.length                # characters so far (also buf.reasoning.length)
    buf.content_since(pos)            # text appended after character ``pos`` (cheap)
    buf.text / buf.reasoning_text     # the whole text (joined once, then kept joined)
    buf.tokens, buf.tokens_per_s, buf.ttft, buf.error, buf.version
    WorkerBuffer.from_text(id, text, reasoning)   # a finished buffer for saved transcripts

``LiveRun`` is the run-state fold (``agentdeck.state.RunFold``) that the recorder and the CLI
use too, so a card says what the run store and ``agentdeck runs`` say; it adds the text. A
retried worker (``WorkerQueued`` again after it finished) gets a new ``WorkerBuffer`` object,
so readers compare identity to notice the restart.

Why plain buffers: widgets must never render per token. The hot path (``TextDelta``) is a list
append and a few counters; a timer on the screen (~20 Hz) then asks the widgets to flush what
changed. Events arrive on the app's own asyncio loop (systems run in Textual async workers),
so nothing here locks. Nothing here imports textual or rich either, so it is cheap to test.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from agentdeck.events import RunEvent, TextDelta, WorkerFailed, WorkerFinished
from agentdeck.state import FINISHED, RunFold, WorkerRecord, WorkerState
from agentdeck.types import now

__all__ = ["LiveRun", "StreamText", "WorkerBuffer"]

_COMPACT_EVERY = 32
"""Join pieces once this many accumulate: one str per chunk costs ~50 bytes of overhead."""


class StreamText:
    """Append-only text kept as a list of pieces, compacted now and then, read by offset."""

    __slots__ = ("length", "loose", "pieces")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.length = 0
        self.loose = 0
        """Pieces appended since the last compaction."""

    def append(self, piece: str) -> None:
        self.pieces.append(piece)
        self.length += len(piece)
        self.loose += 1
        if self.loose >= _COMPACT_EVERY:
            self.compact()

    def compact(self) -> None:
        """Join the recent pieces into one, so memory stays near the text's own size."""
        if self.loose > 1:
            pieces = self.pieces
            pieces[-self.loose :] = ["".join(pieces[-self.loose :])]
        self.loose = 0  # the joined chunk is never joined again: no quadratic copying

    def since(self, pos: int) -> str:
        """Text after character ``pos``; walks back only over the pieces it needs."""
        want = self.length - pos
        if want <= 0:
            return ""
        pieces = self.pieces
        got = 0
        i = len(pieces)
        while got < want and i > 0:
            i -= 1
            got += len(pieces[i])
        tail = "".join(pieces[i:])
        return tail[got - want :] if got > want else tail

    def all(self) -> str:
        if len(self.pieces) > 1:
            self.pieces[:] = ["".join(self.pieces)]
            self.loose = 0
        return self.pieces[0] if self.pieces else ""


@dataclass(eq=False, slots=True)
class WorkerBuffer(WorkerRecord):
    """Everything the UI shows about one worker: its state and figures, and its text so far."""

    final_tokens_per_s: float | None = None
    version: int = 0
    """Bumped on every change; readers compare it to skip unchanged buffers."""
    content: StreamText = field(default_factory=StreamText, repr=False)
    reasoning: StreamText = field(default_factory=StreamText, repr=False)

    @classmethod
    def from_text(
        cls, worker_id: str, content: str, reasoning: str = "", *, label: str = "",
        state: WorkerState = WorkerState.DONE,
    ) -> WorkerBuffer:
        """A finished buffer from saved text (history, tests)."""
        buf = cls(worker_id, label=label or worker_id, state=state)
        if reasoning:
            buf.reasoning.append(reasoning)
        if content:
            buf.content.append(content)
        return buf

    @property
    def text(self) -> str:
        return self.content.all()

    @property
    def reasoning_text(self) -> str:
        return self.reasoning.all()

    def content_since(self, pos: int) -> str:
        return self.content.since(pos)

    def reasoning_since(self, pos: int) -> str:
        return self.reasoning.since(pos)

    @property
    def tokens_per_s(self) -> float | None:
        """Live rate since the first token; the server's figure once finished."""
        if self.final_tokens_per_s is not None:
            return self.final_tokens_per_s
        if self.first_t is None or self.last_t is None or self.tokens < 2:
            return None
        span = self.last_t - self.first_t
        return (self.tokens - 1) / span if span > 0 else None


class LiveRun(RunFold[WorkerBuffer]):
    """The run-state fold with each worker's text, and what changed since the last frame."""

    record = WorkerBuffer

    def __init__(self) -> None:
        super().__init__()
        self.buffers = self.workers
        """The fold's records under the name the widgets read (the same dict)."""
        self.dirty: set[str] = set()
        self.total_tokens = 0
        self.version = 0
        """Bumped when workers or steps appear or the run ends (not per token)."""
        self._rate: deque[tuple[float, int]] = deque()

    # ------------------------------------------------------------------ reading

    def take_dirty(self) -> set[str]:
        """Worker ids changed since the last call, and forget them."""
        dirty, self.dirty = self.dirty, set()
        return dirty

    def tokens_per_s(self, t: float | None = None, window: float = 2.0) -> float:
        """Aggregate tokens/s over the last ``window`` seconds (sampled on each call)."""
        t = now() if t is None else t
        samples = self._rate
        samples.append((t, self.total_tokens))
        while len(samples) > 2 and t - samples[1][0] >= window:
            samples.popleft()
        t0, n0 = samples[0]
        return (self.total_tokens - n0) / (t - t0) if t > t0 else 0.0

    def average_rate(self) -> float | None:
        """Average output tokens/s of a finished run, first request to last answer."""
        buffers = self.buffers.values()
        starts = [b.started_t for b in buffers if b.started_t is not None]
        ends = [b.finished_t for b in buffers if b.finished_t is not None]
        if not starts or not ends or max(ends) <= min(starts):
            return None
        return sum(b.tokens for b in buffers) / (max(ends) - min(starts))

    def state_text(self) -> str:
        """ "streaming", "3/8 done", "done", "partial"..., for the status line."""
        if self.finished:
            return self.status
        if len(self.buffers) == 1:
            return next(iter(self.buffers.values())).state_text
        done = sum(self.counts[state] for state in FINISHED)
        return f"{done}/{len(self.buffers)} done"

    # ------------------------------------------------------------------ events

    def __call__(self, event: RunEvent) -> None:
        """Fold one event in. ``TextDelta`` comes first: it is nearly every event."""
        if type(event) is TextDelta:
            worker_id = event.worker_id
            buf = self.buffers.get(worker_id)
            if buf is None:
                buf = self._add(worker_id)
            # StreamText.append inlined: this line runs once per token for every worker.
            piece = event.content
            if piece:
                text = buf.content
                text.pieces.append(piece)
                text.length += len(piece)
                text.loose += 1
                if text.loose >= _COMPACT_EVERY:
                    text.compact()
            piece = event.reasoning
            if piece:
                buf.reasoning.append(piece)
            tokens = event.tokens
            buf.tokens += tokens
            buf.last_t = event.t
            buf.version += 1
            if buf.state is not _STREAMING:
                self._streaming(buf, event.t)
            self.total_tokens += tokens
            self.dirty.add(worker_id)
            return
        self.fold(event)

    def fold(self, event: RunEvent) -> Any:
        changed = super().fold(event)
        if changed.__class__ is WorkerBuffer:
            changed.version += 1
            self.dirty.add(changed.worker_id)
        else:  # the run or a step
            self.version += 1
        return changed

    def adopt(self, w: WorkerBuffer) -> WorkerBuffer:
        self.dirty.add(w.worker_id)
        self.version += 1
        return super().adopt(w)

    def _add(self, worker_id: str, label: str = "", step: int | None = None) -> WorkerBuffer:
        buf = super()._add(worker_id, label, step)
        self.dirty.add(worker_id)
        self.version += 1
        return buf

    def _restarted(self, old: WorkerBuffer, new: WorkerBuffer) -> None:
        new.version = old.version + 1

    def _ended(self, w: WorkerBuffer) -> None:
        w.content.compact()
        w.reasoning.compact()
        w.version += 1
        self.dirty.add(w.worker_id)

    def _on_finished(self, event: WorkerFinished) -> WorkerBuffer:
        buf = super()._on_finished(event)
        if event.metrics is not None:
            buf.final_tokens_per_s = event.metrics.tokens_per_s
        return buf

    def _on_failed(self, event: WorkerFailed) -> WorkerBuffer:
        buf = self._get(event.worker_id)
        if event.partial and not buf.content.length:
            buf.content.append(event.partial)
        return super()._on_failed(event)


_STREAMING = WorkerState.STREAMING
