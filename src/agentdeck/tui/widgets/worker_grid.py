"""WorkerGrid: one line-API widget drawing a card per worker from a LiveRun's plain buffers.

Public API::

    grid = WorkerGrid(live=None)   # or grid.set_run(live) later (attributes down)
    grid.flush()                   # call ~20 Hz from ONE timer owned by the screen; it consumes
                                   # live.take_dirty(), redraws only changed rows of visible
                                   # cards; off-screen cards catch up when scrolled into view
    grid.focused_worker            # worker id of the highlighted card (or None)
    grid.focus_worker(worker_id)

Messages (posted to the parent, dataclasses): ``WorkerGrid.Highlighted(worker_id)`` when the
focused card changes, ``ZoomRequested(worker_id)`` (Enter, double click),
``CancelRequested(worker_id)`` (c), ``CancelAllRequested()`` (C), ``RetryRequested(worker_id)``
(r). Handlers: ``on_worker_grid_zoom_requested`` etc. Arrows and hjkl move the focused card.

Why one widget: a stock widget per card repaints every changed card every frame and saturates a
core at about 16 live cards; drawing rows through ``render_line`` from cached per-card strips
costs only the rows that changed. Model text is drawn literally (``plaintext.literal``), never
parsed as markup, and wrapped by terminal cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.color import Color
from textual.filter import LineFilter
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentdeck.tui.live import LiveRun, WorkerState
from agentdeck.tui.widgets.lineapi import PlainLineCache
from agentdeck.tui.widgets.worker_card import Card

__all__ = ["WorkerGrid"]


def _runs(rows: list[int], width: int) -> list[Region]:
    """Sorted row numbers as the fewest full-width regions."""
    regions: list[Region] = []
    start = prev = None
    for y in rows:
        if start is None:
            start = prev = y
        elif y == prev + 1:
            prev = y
        else:
            regions.append(Region(0, start, width, prev - start + 1))
            start = prev = y
    if start is not None:
        regions.append(Region(0, start, width, prev - start + 1))
    return regions


class WorkerGrid(ScrollView, can_focus=True):
    """The grid of worker cards, reflowing with the terminal width and scrolling vertically."""

    MIN_CARD_WIDTH = 38
    CARD_HEIGHT = 8

    DEFAULT_CSS = """
    WorkerGrid {
        height: 1fr;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    WorkerGrid > .worker-grid--border { color: $foreground 45%; }
    WorkerGrid > .worker-grid--border-focus { color: $accent; text-style: bold; }
    WorkerGrid > .worker-grid--label { color: $foreground; text-style: bold; }
    WorkerGrid > .worker-grid--stats { color: $text-muted; }
    WorkerGrid > .worker-grid--text { color: $foreground; }
    WorkerGrid > .worker-grid--reasoning { color: $text-muted; text-style: italic; }
    WorkerGrid > .worker-grid--error { color: $text-error; }
    WorkerGrid > .worker-grid--queued { color: $text-muted; }
    WorkerGrid > .worker-grid--waiting { color: $text-warning; }
    WorkerGrid > .worker-grid--streaming { color: $text-primary; text-style: bold; }
    WorkerGrid > .worker-grid--retrying { color: $text-warning; text-style: bold; }
    WorkerGrid > .worker-grid--done { color: $text-success; text-style: bold; }
    WorkerGrid > .worker-grid--failed { color: $text-error; text-style: bold; }
    WorkerGrid > .worker-grid--cancelled { color: $text-muted; text-style: bold; }
    """

    COMPONENT_CLASSES = {
        "worker-grid--border",
        "worker-grid--border-focus",
        "worker-grid--label",
        "worker-grid--stats",
        "worker-grid--text",
        "worker-grid--reasoning",
        "worker-grid--error",
        *(f"worker-grid--{state.value}" for state in WorkerState),
    }

    BINDINGS = [
        Binding("enter", "zoom", "Zoom"),
        Binding("c", "cancel", "Cancel"),
        Binding("C,shift+c", "cancel_all", "Cancel all"),
        Binding("r", "retry", "Retry"),
        Binding("left,h", "move(-1, 0)", "Left", show=False),
        Binding("right,l", "move(1, 0)", "Right", show=False),
        Binding("up,k", "move(0, -1)", "Up", show=False),
        Binding("down,j", "move(0, 1)", "Down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    @dataclass
    class Highlighted(Message):
        """The focused card changed (the screen may show that stream in the big pane)."""

        worker_id: str

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, WorkerGrid.Highlighted)

    @dataclass
    class ZoomRequested(Message):
        """The user asked to see this worker's whole transcript."""

        worker_id: str

    @dataclass
    class CancelRequested(Message):
        """The user asked to cancel this worker."""

        worker_id: str

    @dataclass
    class CancelAllRequested(Message):
        """The user asked to cancel every worker of the run."""

    @dataclass
    class RetryRequested(Message):
        """The user asked to run this (failed or cancelled) worker again."""

        worker_id: str

    focused_index: var[int] = var(0, init=False)
    """Index into the run's worker order of the highlighted card."""

    def __init__(
        self,
        live: LiveRun | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._styles_cache = PlainLineCache(filtered=True)  # see render_line
        self._live: LiveRun | None = None
        self._cards: list[Card] = []
        self._cols = 1
        self._card_w = self.MIN_CARD_WIDTH
        self._card_h = self.CARD_HEIGHT
        self._width = 0
        self._styles: dict[str, Style] = {}
        self._filter_key: tuple[LineFilter, ...] | None = None
        self._background = Color(0, 0, 0)
        self._announced: str | None = None
        self.set_run(live)

    # ------------------------------------------------------------------ public API

    def set_run(self, live: LiveRun | None) -> None:
        """Show ``live`` (or nothing); resets focus and every card."""
        self._live = live
        self._cards = []
        self._announced = None
        self.set_reactive(WorkerGrid.focused_index, 0)
        if self.is_mounted:
            self.flush()
            self._relayout(force=True)

    @property
    def live(self) -> LiveRun | None:
        return self._live

    @property
    def focused_worker(self) -> str | None:
        if 0 <= self.focused_index < len(self._cards):
            return self._cards[self.focused_index].worker_id
        return None

    def focus_worker(self, worker_id: str) -> None:
        """Highlight the card of ``worker_id`` (and scroll it into view)."""
        for index, card in enumerate(self._cards):
            if card.worker_id == worker_id:
                self.focused_index = index
                return

    def flush(self) -> None:
        """Bring visible cards up to date with their buffers and repaint only changed rows."""
        live = self._live
        if live is None or not self.is_mounted:
            return
        self._check_filters()
        dirty = live.take_dirty()
        if len(live.order) != len(self._cards):
            self._cards.extend(Card(worker_id) for worker_id in live.order[len(self._cards) :])
            self._relayout(force=True)
            self._announce()
            return  # a full repaint is coming; every visible card syncs as it is drawn
        if not dirty:
            return
        top = round(self.scroll_y)
        bottom = top + self.scrollable_content_region.height
        card_h, cols = self._card_h, self._cols
        lines: set[int] = set()
        for index, card in enumerate(self._cards):
            if card.worker_id not in dirty:
                continue
            y0 = index // cols * card_h
            if y0 + card_h <= top or y0 >= bottom:
                card.stale = True
                continue
            lines.update(y0 + line - top for line in self._sync(card, index))
        if lines:
            # Whole rows, merged into runs: Textual repaints whole lines of a line-API widget
            # anyway, and a few wide regions compose faster than many card-sized ones.
            self.refresh(*_runs(sorted(y for y in lines if 0 <= y < bottom - top), self._width))

    # ------------------------------------------------------------------ layout

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._filter_key = None  # styles and background are worked out again
        for card in self._cards:
            card.invalidate()

    def _relayout(self, force: bool = False) -> None:
        region = self.scrollable_content_region
        width, view_h = max(1, region.width), max(1, region.height)
        count = len(self._cards)
        cols = max(1, min(count or 1, width // self.MIN_CARD_WIDTH))
        card_w = width // cols
        rows = -(-count // cols)
        card_h = self.CARD_HEIGHT
        if rows and rows * card_h <= view_h:
            card_h = view_h // rows  # few cards: let them fill the screen
        layout = (width, cols, card_w, card_h)
        if layout != (self._width, self._cols, self._card_w, self._card_h) or force:
            self._width, self._cols, self._card_w, self._card_h = layout
            for card in self._cards:
                card.invalidate()  # the wrapper sees the new size and re-wraps the tail
            self.virtual_size = Size(width, rows * card_h)
            self.refresh()
        self._scroll_to_focus()

    def _card_region(self, index: int) -> Region:
        row, col = divmod(index, self._cols)
        return Region(col * self._card_w, row * self._card_h, self._card_w, self._card_h)

    def _scroll_to_focus(self) -> None:
        if 0 <= self.focused_index < len(self._cards):
            self.scroll_to_region(
                self._card_region(self.focused_index), animate=False, force=True
            )

    # ------------------------------------------------------------------ drawing

    # Styles come out of here with the app's line filters already applied (Textual's filters
    # only map styles), so the rows need no filtering per frame: PlainLineCache(filtered=True).

    def _filtered(self, style: Style) -> Style:
        for line_filter in self._filter_key:
            style = line_filter.apply([Segment(" ", style)], self._background)[0].style
        return style

    def _check_filters(self) -> None:
        """Start over with new styles when the app's line filters change (rare)."""
        key = tuple(self.get_line_filters())
        if key != self._filter_key:
            changed = self._filter_key is not None
            self._filter_key = key
            self._background = self.background_colors[1]
            self._styles.clear()
            if changed:
                for card in self._cards:
                    card.invalidate()
                self.refresh()

    def _base_style(self) -> Style:
        # ``rich_style`` walks the DOM on every call; it only changes with the styles.
        style = self._styles.get("")
        if style is None:
            if self._filter_key is None:
                self._check_filters()
            style = self._styles[""] = self._filtered(self.rich_style)
        return style

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            if self._filter_key is None:
                self._check_filters()
            style = self.get_component_rich_style(f"worker-grid--{name}")
            style = self._styles[name] = self._filtered(style)
        return style

    def _sync(self, card: Card, index: int) -> list[int]:
        """Update ``card`` from its buffer; returns the card rows whose strips changed."""
        live = self._live
        buf = live.buffers.get(card.worker_id) if live is not None else None
        if buf is None:
            card.stale = False
            return []
        return card.sync(buf, self._card_w, self._card_h, index == self.focused_index, self._style)

    def render_line(self, y: int) -> Strip:
        self._check_filters()
        width = self._width
        vy = y + round(self.scroll_y)
        card_h, cols = self._card_h, self._cols
        row, line = divmod(vy, card_h)
        first = row * cols
        segments: list[Segment] = []
        used = 0
        for index in range(first, min(first + cols, len(self._cards))):
            card = self._cards[index]
            if card.stale or len(card.strips) != card_h:
                self._sync(card, index)
            if line < len(card.strips):
                strip = card.strips[line]
                segments.extend(strip)
                used += strip.cell_length
        if used < width:
            segments.append(Segment(" " * (width - used), self._base_style()))
        return Strip(segments, max(used, width))

    # ------------------------------------------------------------------ focus and keys

    def watch_focused_index(self, old: int, new: int) -> None:
        for index in (old, new):
            if 0 <= index < len(self._cards):
                card = self._cards[index]
                card.invalidate()  # every row's border glyph changes
                self.refresh(self._card_region(index).translate((0, -round(self.scroll_y))))
        self._scroll_to_focus()
        self._announce()

    def _announce(self) -> None:
        worker_id = self.focused_worker
        if worker_id is not None and worker_id != self._announced:
            self._announced = worker_id
            self.post_message(self.Highlighted(worker_id))

    def action_move(self, dx: int, dy: int) -> None:
        if not self._cards:
            return
        index = self.focused_index
        if dx:
            index += dx
        elif dy:
            index += dy * self._cols
            if index >= len(self._cards) and dy > 0:
                # moving down from a full row onto a short last row lands on its last card
                last_row_start = (len(self._cards) - 1) // self._cols * self._cols
                index = len(self._cards) - 1 if self.focused_index < last_row_start else index
        if 0 <= index < len(self._cards):
            self.focused_index = index

    def action_jump(self, index: int) -> None:
        if self._cards:
            self.focused_index = index % len(self._cards)

    def action_zoom(self) -> None:
        if (worker_id := self.focused_worker) is not None:
            self.post_message(self.ZoomRequested(worker_id))

    def action_cancel(self) -> None:
        if (worker_id := self.focused_worker) is not None:
            self.post_message(self.CancelRequested(worker_id))

    def action_cancel_all(self) -> None:
        if self._cards:
            self.post_message(self.CancelAllRequested())

    def action_retry(self) -> None:
        if (worker_id := self.focused_worker) is not None:
            self.post_message(self.RetryRequested(worker_id))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not self._cards:
            return
        col = offset.x // max(1, self._card_w)
        row = (offset.y + round(self.scroll_y)) // max(1, self._card_h)
        index = row * self._cols + col
        if col < self._cols and 0 <= index < len(self._cards):
            self.focus()
            self.focused_index = index
            if event.chain >= 2:
                self.post_message(self.ZoomRequested(self._cards[index].worker_id))
