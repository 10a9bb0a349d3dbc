"""WorkerTable: one line per worker (status, tokens, tok/s, TTFT, its last words), for runs of
hundreds of workers where cards would not fit.

Drawn with the line API like the grid: a row's strip is rebuilt only when its buffer's
``version`` changed, and a frame repaints only the rows in view that changed. Sorting (by
status, tokens or speed) and the filter (failed only, running only) are applied at most 4
times a second, not per token. It posts the grid's messages (``WorkerGrid.ZoomRequested``...),
so its owner handles both views the same way.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentdeck.state import ENDED_BADLY, UNFINISHED, WorkerState
from agentdeck.tui.live import LiveRun, WorkerBuffer
from agentdeck.tui.widgets.lineapi import (
    FilteredStyles,
    PlainLineCache,
    set_virtual_size,
)
from agentdeck.tui.widgets.plaintext import cells, fit, literal
from agentdeck.tui.widgets.worker_grid import WorkerGrid

__all__ = ["FILTERS", "SORTS", "WorkerTable"]

SORTS = ("order", "status", "tokens", "speed")
"""Row orders, cycled by ``s``: the run's own, then by status, tokens and tok/s."""
FILTERS = ("all", "failed", "running")
"""Which workers show, cycled by ``f``."""
RESORT_EVERY = 0.25
"""Seconds between re-sorts while figures change (a sort per frame would make rows jump)."""
_STATE_RANK = {state: rank for rank, state in enumerate((
    WorkerState.FAILED, WorkerState.INTERRUPTED, WorkerState.RETRYING, WorkerState.STREAMING,
    WorkerState.WAITING, WorkerState.QUEUED, WorkerState.CANCELLED, WorkerState.DONE))}
_GLYPH = {WorkerState.QUEUED: "·", WorkerState.WAITING: "…", WorkerState.STREAMING: "▶",
          WorkerState.RETRYING: "↻", WorkerState.DONE: "✓", WorkerState.FAILED: "✕",
          WorkerState.CANCELLED: "⊘", WorkerState.INTERRUPTED: "✕"}
_TAIL_CHARS = 400
"""Characters of a worker's text read for its last words (a row never shows more)."""
_HEAD = ("", "worker", "state", "tokens", "tok/s", "TTFT", "last words")
_WIDTHS = (2, 12, 11, 7, 7, 7)
"""Cells of each column before the last words, which take the rest."""


def _figures(buf: WorkerBuffer) -> tuple[str, str, str]:
    rate = buf.tokens_per_s
    shown = ("" if rate is None else f"{rate:.1f}" if rate < 100 else
             f"{rate:,.0f}" if rate < 10_000 else f"{rate / 1000:,.0f}k")
    return f"{buf.tokens:,}", shown, "" if buf.ttft is None else f"{buf.ttft:.2f}s"


def _last_words(buf: WorkerBuffer, width: int) -> str:
    """The end of the worker's text (its reasoning before the answer starts), on one line."""
    if buf.state in ENDED_BADLY and buf.error:
        return literal(buf.error)
    stream = buf.content if buf.content.length or not buf.reasoning.length else buf.reasoning
    tail = " ".join(literal(stream.since(max(0, stream.length - _TAIL_CHARS))).split())
    if cells(tail) <= width:
        return tail
    while cells(tail) > width - 1 and tail:
        tail = tail[max(1, len(tail) - width + 1):] if tail.isascii() else tail[1:]
    return "…" + tail


class WorkerTable(ScrollView, can_focus=True):
    """The dense view of a run's workers, one line each."""

    DEFAULT_CSS = """
    WorkerTable {
        height: 1fr;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    WorkerTable > .worker-table--head { color: $text-muted; text-style: bold; }
    WorkerTable > .worker-table--cursor { background: $accent 30%; }
    WorkerTable > .worker-table--label { color: $foreground; }
    WorkerTable > .worker-table--figures { color: $text-muted; }
    WorkerTable > .worker-table--text { color: $foreground 80%; }
    WorkerTable > .worker-table--queued { color: $text-muted; }
    WorkerTable > .worker-table--waiting { color: $text-warning; }
    WorkerTable > .worker-table--streaming { color: $text-primary; text-style: bold; }
    WorkerTable > .worker-table--retrying { color: $text-warning; text-style: bold; }
    WorkerTable > .worker-table--done { color: $text-success; text-style: bold; }
    WorkerTable > .worker-table--failed { color: $text-error; text-style: bold; }
    WorkerTable > .worker-table--cancelled { color: $text-muted; text-style: bold; }
    WorkerTable > .worker-table--interrupted { color: $text-error; text-style: bold italic; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "worker-table--head", "worker-table--cursor", "worker-table--label",
        "worker-table--figures", "worker-table--text",
        *(f"worker-table--{state.value}" for state in WorkerState),
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "zoom", "Zoom"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("c", "cancel", "Cancel row"),
        Binding("C,shift+c", "cancel_all", "Cancel all"),
        Binding("r", "retry", "Retry"),
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    sort: var[str] = var("order", init=False)
    """One of ``SORTS``."""
    filter: var[str] = var("all", init=False)
    """One of ``FILTERS``."""
    cursor: var[int] = var(0, init=False)
    """Index into the shown rows of the highlighted worker."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._styles_cache = PlainLineCache(filtered=True)
        self._styles = FilteredStyles(self, "worker-table--")
        self._live: LiveRun | None = None
        self._rows: list[str] = []
        """Worker ids in the order shown (filtered, sorted)."""
        self._at: dict[str, int] = {}
        self._strips: dict[str, tuple[int, int, bool, Strip]] = {}
        """worker id -> (buffer version, width, highlighted, strip)."""
        self._sorted_at = 0.0
        self._count = -1

    # ------------------------------------------------------------------ public API

    def set_run(self, live: LiveRun | None) -> None:
        """Show ``live`` (or nothing) from its first row."""
        self._live = live
        self._strips.clear()
        self._count = -1
        self.set_reactive(WorkerTable.cursor, 0)
        self._reorder(force=True)

    @property
    def focused_worker(self) -> str | None:
        rows = self._rows
        return rows[self.cursor] if 0 <= self.cursor < len(rows) else None

    read_only = False
    """True for a past run: no cancel or retry keys (not in the footer, not in the help)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action in ("cancel", "cancel_all", "retry"))

    def focus_worker(self, worker_id: str) -> None:
        """Highlight ``worker_id``'s row when it is shown."""
        index = self._at.get(worker_id)
        if index is not None:
            self.cursor = index

    def flush(self) -> None:
        """Repaint the rows in view whose workers changed; re-sort now and then."""
        live = self._live
        if live is None or not self.is_mounted:
            return
        if self._styles.check():
            self._strips.clear()
            self.refresh()
        dirty = live.take_dirty()
        moving = self.sort in ("tokens", "speed", "status") or self.filter != "all"
        if (len(live.order) != self._count or (
                dirty and moving and time.monotonic() - self._sorted_at >= RESORT_EVERY)) \
                and self._reorder():
            return  # the rows changed: repainted whole; else the changed rows are, below
        if not dirty:
            return
        top = round(self.scroll_y)
        height = self.scrollable_content_region.height
        rows = self._rows
        for index in range(top, min(top + height - 1, len(rows))):
            if rows[index] in dirty:
                self.refresh_line(index + 1)  # virtual lines: the header is line 0

    # ------------------------------------------------------------------ order

    def _keep(self, buf: WorkerBuffer) -> bool:
        if self.filter == "failed":
            return buf.state in ENDED_BADLY
        if self.filter == "running":
            return buf.state in UNFINISHED
        return True

    def _reorder(self, force: bool = False) -> bool:
        """Sort and filter the rows again; True when they changed (and the table was
        repainted), False when the caller still has the changed rows to repaint."""
        live = self._live
        focused = self.focused_worker
        self._sorted_at = time.monotonic()
        if live is None:
            rows: list[str] = []
        else:
            self._count = len(live.order)
            buffers = live.buffers
            rows = [w for w in live.order if self._keep(buffers[w])]
            if self.sort == "status":
                rows.sort(key=lambda w: _STATE_RANK.get(buffers[w].state, 99))
            elif self.sort == "tokens":
                rows.sort(key=lambda w: buffers[w].tokens, reverse=True)
            elif self.sort == "speed":
                rows.sort(key=lambda w: buffers[w].tokens_per_s or 0.0, reverse=True)
        if rows == self._rows and not force:
            return False
        self._rows = rows
        self._at = {w: i for i, w in enumerate(rows)}
        set_virtual_size(self, Size(self.scrollable_content_region.width, len(rows) + 1))
        index = self._at.get(focused, min(self.cursor, len(rows) - 1)) if focused else 0
        self.set_reactive(WorkerTable.cursor, max(0, index))
        self.refresh()
        return True

    def watch_sort(self) -> None:
        self._reorder(force=True)

    def watch_filter(self) -> None:
        self._reorder(force=True)

    # ------------------------------------------------------------------ drawing

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.reset()
        self._strips.clear()

    def on_resize(self, event: events.Resize) -> None:
        self._strips.clear()
        set_virtual_size(self, Size(self.scrollable_content_region.width, len(self._rows) + 1))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        style = self._styles.get
        if y == 0:  # the header stays put; rows scroll under it
            return self._line([(_HEAD[0], ""), *((h, "head") for h in _HEAD[1:])], width)
        index = y - 1 + round(self.scroll_y)
        live = self._live
        if live is None or index >= len(self._rows):
            return Strip([Segment(" " * width, style(""))], width)
        worker_id = self._rows[index]
        buf = live.buffers[worker_id]
        cursor = index == self.cursor and self.has_focus
        cached = self._strips.get(worker_id)
        if cached is not None and cached[:3] == (buf.version, width, cursor):
            return cached[3]
        tokens, rate, ttft = _figures(buf)
        used = sum(_WIDTHS)
        parts = [(_GLYPH.get(buf.state, "?"), buf.state.value), (buf.title, "label"),
                 (buf.state_text, buf.state.value), (tokens, "figures"), (rate, "figures"),
                 (ttft, "figures"), (_last_words(buf, max(1, width - used)), "text")]
        strip = self._line(parts, width, cursor)
        self._strips[worker_id] = (buf.version, width, cursor, strip)
        return strip

    def _line(self, parts: list[tuple[str, str]], width: int, cursor: bool = False) -> Strip:
        style = self._styles.get
        widths = _WIDTHS
        segments: list[Segment] = []
        used = 0
        base = style("cursor") if cursor else None
        for i, (text, part) in enumerate(parts):
            room = widths[i] if i < len(widths) else max(0, width - used)
            if not room:
                break
            right = 3 <= i <= 5
            shown = fit(literal(text), room - (0 if i == 0 or i >= 6 else 1))
            pad = room - cells(shown)
            cell = (" " * (pad - 1) + shown + " ") if right and pad else shown + " " * pad
            seg_style = style(part)
            segments.append(Segment(cell, seg_style + base if base else seg_style))
            used += room
        if used < width:
            segments.append(Segment(" " * (width - used), base or style("")))
        return Strip(segments, width)

    # ------------------------------------------------------------------ keys

    def watch_cursor(self, old: int, new: int) -> None:
        top = round(self.scroll_y)
        height = self.scrollable_content_region.height - 1
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self.refresh()
        if (worker_id := self.focused_worker) is not None:
            self.post_message(WorkerGrid.Highlighted(worker_id))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_move(self, step: int) -> None:
        if self._rows:
            self.cursor = max(0, min(len(self._rows) - 1, self.cursor + step))

    def action_jump(self, index: int) -> None:
        if self._rows:
            self.cursor = index % len(self._rows)

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.notify(f"Workers sorted by {self.sort}", timeout=2)

    def action_cycle_filter(self) -> None:
        self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]
        shown = "every worker" if self.filter == "all" else f"{self.filter} workers only"
        self.notify(f"Showing {shown} ({len(self._rows)})", timeout=2)

    def action_zoom(self) -> None:
        if (worker_id := self.focused_worker) is not None:
            self.post_message(WorkerGrid.ZoomRequested(worker_id))

    def action_cancel(self) -> None:
        if (worker_id := self.focused_worker) is not None:
            self.post_message(WorkerGrid.CancelRequested(worker_id))

    def action_cancel_all(self) -> None:
        if self._rows:
            self.post_message(WorkerGrid.CancelAllRequested())

    def action_retry(self) -> None:
        if (worker_id := self.focused_worker) is not None:
            self.post_message(WorkerGrid.RetryRequested(worker_id))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        index = offset.y - 1 + round(self.scroll_y)
        if 0 <= index < len(self._rows):
            self.focus()
            self.cursor = index
            if event.chain >= 2:
                self.action_zoom()
