"""``ZoomScreen``: one worker's whole transcript as Markdown, full screen; Esc returns."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from agentdeck.state import FINISHED

from ..live import LiveRun, WorkerBuffer
from ..widgets.key_footer import KeyFooter
from ..widgets.stream_view import StreamView

__all__ = ["ZoomScreen"]

FRAME = 1 / 20
SETTLE = 5
"""Frames flushed after the worker ended, while the view lays itself out."""


class ZoomScreen(Screen[None]):
    """Follows ``worker_id`` in ``live``, streaming if it still runs (a retry starts afresh)."""

    CSS_PATH = "zoom.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        # y copies on every screen; c means cancel (the grid), never copy.
        Binding("y", "copy", "Copy text"),
    ]

    def __init__(self, live: LiveRun, worker_id: str) -> None:
        super().__init__()
        self.live = live
        self.worker_id = worker_id
        self._source: WorkerBuffer | None = None
        self._title = ""
        self._ended = 0
        """Frames since the worker ended (the view lays itself out in the first few)."""
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="title", markup=False)
        yield StreamView(id="zoom-stream")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._timer = self.set_interval(FRAME, self.flush_frame)
        self.flush_frame()
        self.query_one(StreamView).focus()

    def flush_frame(self) -> None:
        buf = self.live.buffers.get(self.worker_id)
        if buf is None:
            return
        view = self.query_one(StreamView)
        if buf is not self._source:
            self._source = buf
            view.set_source(buf)
        view.flush()
        figures = [buf.state_text, f"{buf.tokens} tok"]
        if buf.tokens_per_s:
            figures.append(f"{buf.tokens_per_s:.0f} tok/s")
        if buf.ttft is not None:
            figures.append(f"TTFT {buf.ttft:.2f}s")
        if buf.error:
            figures.append(buf.error)
        title = f"{buf.title} · " + " · ".join(figures)
        if title != self._title:  # a new title lays the screen out: only when it changed
            self._title = title
            self.query_one("#title", Static).update(title)
        self._ended = self._ended + 1 if buf.state in FINISHED else 0
        if self._ended > SETTLE and self._timer is not None:
            self._timer.stop()  # an ended worker (a past run's) changes no more
            self._timer = None

    def action_copy(self) -> None:
        from ..clipboard import copy_text

        buf = self.live.buffers.get(self.worker_id)
        if buf is not None:
            copy_text(self.app, buf.text, None)

    def palette_commands(self):
        yield "Back", "Return to the previous screen (Esc)", self.app.pop_screen
        yield "Copy text", "Copy this worker's text to the clipboard (y)", self.action_copy
