"""Plain per-worker buffers that run events stream into; the TUI's widgets read them per frame.

Public API::

    live = LiveRun()                  # one per run; the screen owns it
    system.add_listener(live)         # a sync EventListener: live(event)
    live.buffers["call-01"]           # -> WorkerBuffer (insertion order = display order)
    live.order                        # worker ids in the order they appeared
    live.take_dirty()                 # ids changed since the last call (the grid consumes it)
    live.tokens_per_s()               # aggregate rate over the last ~2 s
    live.figures()                    # "12.4s · 4,096 tok · 650 tok/s" (elapsed, tokens, rate)
    live.steps                        # {step: state.StepInfo} for chains and debates
    live.status, live.counts          # the run's status, workers per state
    live.groups                       # {group: [worker ids]} (compare's targets), in order

    buf = live.buffers["call-01"]
    buf.state                         # state.WorkerState: queued, waiting, streaming, ...
    buf.state_text                    # "retrying 2/5", "streaming", ...
    buf.content.length                # characters so far (also buf.reasoning.length)
    buf.content_since(pos)            # text appended after character ``pos`` (cheap)
    buf.text / buf.reasoning_text     # the whole text (joined once, then kept joined)
    buf.tokens, buf.tokens_per_s (decode speed), buf.ttft (from the request that streamed)
    buf.queued_s, buf.retrying_s      # time queued for a slot / spent on failed attempts
    buf.mark, buf.error, buf.version
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

from agentdeck.events import (
    FirstToken,
    Retrying,
    RunEvent,
    RunFinished,
    RunStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerQueued,
    WorkerStarted,
)
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
    queued_t: float | None = None
    """When this attempt was queued (waiting for a concurrency slot from then to ``started_t``)."""
    sent_t: float | None = None
    """When the request that streamed was sent: ``started_t``, or after a retry the end of its
    back-off, so TTFT counts from the request and the retrying time shows apart."""
    mark: str = ""
    """What the run's answer says of this worker ("★ picked"), shown on its card."""
    group: str = ""
    """The group it belongs to (``WorkerQueued.group``: compare's target key); '' for none."""
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
        """Decode speed: tokens after the first over the time since the first token (1 / TPOT
        once finished), so time queued, retrying or waiting for the first token is not in it."""
        if self.final_tokens_per_s is not None:
            return self.final_tokens_per_s
        if self.first_t is None or self.last_t is None or self.tokens < 2:
            return None
        span = self.last_t - self.first_t
        return (self.tokens - 1) / span if span > 0 else None

    @property
    def queued_s(self) -> float | None:
        """Seconds this attempt waited for a concurrency slot (None before it was sent)."""
        if self.queued_t is None or self.started_t is None:
            return None
        return max(self.started_t - self.queued_t, 0.0)

    @property
    def retrying_s(self) -> float | None:
        """Seconds spent on failed attempts and their back-off (None without retries)."""
        if not self.retries or self.sent_t is None or self.started_t is None:
            return None
        return max(self.sent_t - self.started_t, 0.0)


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
        self.groups: dict[str, list[str]] = {}
        """Worker ids by group (``WorkerQueued.group``), groups and workers in order of
        appearance; empty for a run without groups."""
        self._active = 0.0
        """Seconds of earlier active periods (a retry after the end reopens the run)."""
        self._since: float | None = None
        """When the current active period began; None while the run is not going."""

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

    def elapsed(self, t: float | None = None) -> float:
        """Seconds the run has been going: from its start, without the idle time between its
        end and a retry of one of its workers."""
        since = self._since
        if since is None:
            return self._active
        return self._active + max((now() if t is None else t) - since, 0.0)

    def tokens(self) -> int:
        """Output tokens of every worker so far (the server's count for finished ones)."""
        return sum(b.tokens for b in self.buffers.values())

    def figures(self, t: float | None = None) -> str:
        """ "12.4s · 4,096 tok · 650 tok/s" for the status line: the elapsed time, the tokens
        and the rate over the last ~2 s (the average over the elapsed time once ended)."""
        elapsed = self.elapsed(t)
        tokens = self.tokens()
        if self.finished:
            rate = tokens / elapsed if elapsed > 0 else None
        else:
            rate = self.tokens_per_s(t)
        parts = [_duration(elapsed), f"{tokens:,} tok"]
        if rate is not None and (tokens or not self.finished):
            parts.append(f"{rate:,.0f} tok/s")
        return " · ".join(parts)

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
        self._join(w)
        return super().adopt(w)

    def _join(self, w: WorkerBuffer) -> None:
        """Count ``w`` in its group (once: a retry queues the same worker again)."""
        if w.group:
            ids = self.groups.setdefault(w.group, [])
            if w.worker_id not in ids:
                ids.append(w.worker_id)
                self.version += 1

    def _add(self, worker_id: str, label: str = "", step: int | None = None) -> WorkerBuffer:
        buf = super()._add(worker_id, label, step)
        self.dirty.add(worker_id)
        self.version += 1
        return buf

    def _restarted(self, old: WorkerBuffer, new: WorkerBuffer) -> None:
        new.version = old.version + 1
        new.group = old.group

    def _ended(self, w: WorkerBuffer) -> None:
        w.content.compact()
        w.reasoning.compact()
        w.version += 1
        self.dirty.add(w.worker_id)

    def _on_run_started(self, event: RunStarted) -> None:
        super()._on_run_started(event)
        if self._since is None and not self.finished:
            self._since = event.t

    def _on_run_finished(self, event: RunFinished) -> None:
        super()._on_run_finished(event)
        if self._since is not None:
            self._active += max(event.t - self._since, 0.0)
            self._since = None

    def _reopen(self) -> None:
        super()._reopen()
        self._rate.clear()  # the rate restarts with the retry, not from the run's end

    def _on_queued(self, event: WorkerQueued) -> WorkerBuffer:
        if self.finished:
            self._since = event.t
        buf = super()._on_queued(event)
        buf.queued_t = event.t
        if event.group:
            buf.group = event.group
            self._join(buf)
        return buf

    def _on_started(self, event: WorkerStarted) -> WorkerBuffer:
        buf = super()._on_started(event)
        buf.sent_t = event.t
        return buf

    def _on_retrying(self, event: Retrying) -> WorkerBuffer | None:
        buf = super()._on_retrying(event)
        if buf is not None:
            buf.sent_t = event.t + event.delay  # the next attempt goes out after the back-off
        return buf

    def _on_first_token(self, event: FirstToken) -> WorkerBuffer:
        buf = super()._on_first_token(event)
        retrying = buf.retrying_s
        if retrying:  # from the request that streamed, not from the first attempt
            buf.ttft = max(event.ttft - retrying, 0.0)
        return buf

    def _on_finished(self, event: WorkerFinished) -> WorkerBuffer:
        buf = super()._on_finished(event)
        metrics = event.metrics
        if metrics is not None and metrics.tpot:
            buf.final_tokens_per_s = 1 / metrics.tpot
        return buf

    def _on_failed(self, event: WorkerFailed) -> WorkerBuffer:
        buf = self._get(event.worker_id)
        if event.partial and not buf.content.length:
            buf.content.append(event.partial)
        return super()._on_failed(event)


_STREAMING = WorkerState.STREAMING


def _duration(seconds: float) -> str:
    """ "4.2s", "12s", "3m05s", "1h02m"."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"
