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

A run with groups (compare's targets: ``LiveRun.groups``) is drawn a column per group, each
under a header line with the group's live figures (``GroupHeads``: done/failed, TTFT p50,
tok/s, the tally of short answers), in bands when the columns do not all fit across.

Why one widget: a stock widget per card repaints every changed card every frame and saturates a
core at about 16 live cards; drawing rows through ``render_line`` from cached per-card strips
costs only the rows that changed. Model text is drawn literally (``plaintext.literal``), never
parsed as markup, and wrapped by terminal cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentdeck.state import WorkerState
from agentdeck.tui.live import LiveRun
from agentdeck.tui.targets import COLOURS, Tallies
from agentdeck.tui.widgets.grid_layout import GridLayout, GroupedLayout, row_runs
from agentdeck.tui.widgets.group_heads import GroupHeads
from agentdeck.tui.widgets.lineapi import FilteredStyles, PlainLineCache
from agentdeck.tui.widgets.worker_card import Card

__all__ = ["WorkerGrid"]


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
    WorkerGrid > .worker-grid--mark { color: $text-accent; text-style: bold; }
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
    WorkerGrid > .worker-grid--interrupted { color: $text-error; text-style: bold italic; }
    WorkerGrid > .worker-grid--head { color: $text-muted; }
    """ + "".join(f"WorkerGrid > .worker-grid--group-{i} {{ color: {c}; text-style: bold; }}\n"
                  for i, c in enumerate(COLOURS))

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "worker-grid--border",
        "worker-grid--border-focus",
        "worker-grid--label",
        "worker-grid--mark",
        "worker-grid--stats",
        "worker-grid--text",
        "worker-grid--reasoning",
        "worker-grid--error",
        "worker-grid--head",
        *(f"worker-grid--{state.value}" for state in WorkerState),
        *(f"worker-grid--group-{i}" for i in range(len(COLOURS))),
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "zoom", "Zoom"),
        Binding("c", "cancel", "Cancel card"),
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
        # Card strips are built from styles with the app's line filters already applied
        # (Textual's filters only map styles), so no row is filtered per frame.
        self._styles_cache = PlainLineCache(filtered=True)
        self._styles = FilteredStyles(self, "worker-grid--")
        self._live: LiveRun | None = None
        self._cards: list[Card] = []
        self._layout: GridLayout | GroupedLayout = GridLayout(0, 1, self.MIN_CARD_WIDTH,
                                                              self.CARD_HEIGHT)
        self.tallies = Tallies()
        """Compare's tallies, shared with the answer panel (the pane sets its own before
        ``set_run``)."""
        self._heads = GroupHeads(self.tallies)
        self._announced: str | None = None
        self.row_size: int | None = None
        """Cards per row when that many fit (a debate's seats: a round per row); None: all
        that fit. Set before ``set_run``."""
        self.set_run(live)

    # ------------------------------------------------------------------ public API

    read_only = False
    """True for a past run: no cancel or retry keys (not in the footer, not in the help)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action in ("cancel", "cancel_all", "retry"))

    def set_run(self, live: LiveRun | None) -> None:
        """Show ``live`` (or nothing); resets focus and every card."""
        self._live = live
        self._cards = []
        self._heads = GroupHeads(self.tallies)
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
        groups = live.groups
        grouped = sum(map(len, groups.values())) if groups else 0
        if len(live.order) != len(self._cards) or grouped != self._heads.grouped:
            self._cards.extend(Card(worker_id) for worker_id in live.order[len(self._cards) :])
            self._relayout(force=True)
            self._announce()
            return  # a full repaint is coming; every visible card syncs as it is drawn
        top = round(self.scroll_y)
        bottom = top + self.scrollable_content_region.height
        layout = self._layout
        if grouped and isinstance(layout, GroupedLayout):
            heads = [y - top for y in self._heads.update(live, layout) if top <= y < bottom]
            heads = [y + i for y in heads for i in range(layout.head_h)]
            if heads:
                self.refresh(*row_runs(heads, layout.width))
        if not dirty:
            return
        card_h = layout.card_h
        lines: set[int] = set()
        for index, card in enumerate(self._cards):
            if card.worker_id not in dirty:
                continue
            y0 = layout.top(index)
            if y0 + card_h <= top or y0 >= bottom:
                card.stale = True
                continue
            lines.update(y0 + line - top for line in self._sync(card, index))
        if lines:
            # Whole rows, merged into runs: Textual repaints whole lines of a line-API widget
            # anyway, and a few wide regions compose faster than many card-sized ones.
            rows = sorted(y for y in lines if 0 <= y < bottom - top)
            self.refresh(*row_runs(rows, layout.width))

    # ------------------------------------------------------------------ layout

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.reset()
        self._heads.forget()
        for card in self._cards:
            card.invalidate()

    def _relayout(self, force: bool = False) -> None:
        region = self.scrollable_content_region
        count = len(self._cards)
        live = self._live
        layout: GridLayout | GroupedLayout
        if live is not None and live.groups:
            layout = GroupedLayout(self._heads.group_cards(live, self._cards), region.width,
                                   region.height, self.MIN_CARD_WIDTH, self.CARD_HEIGHT)
        else:
            layout = GridLayout.fit(count, region.width, region.height, self.MIN_CARD_WIDTH,
                                    self.CARD_HEIGHT, self.row_size)
        if layout != self._layout or force:
            self._layout = layout
            self._heads.forget()
            for card in self._cards:
                card.invalidate()  # the wrapper sees the new size and re-wraps the tail
            self.virtual_size = Size(layout.width, layout.height(count))
            self.refresh()
        self._scroll_to_focus()

    def _scroll_to_focus(self) -> None:
        if 0 <= self.focused_index < len(self._cards):
            self.scroll_to_region(
                self._layout.region(self.focused_index), animate=False, force=True
            )

    # ------------------------------------------------------------------ drawing

    def _check_filters(self) -> None:
        """Start over with new styles when the app's line filters change (rare)."""
        if self._styles.check():
            self._heads.forget()
            for card in self._cards:
                card.invalidate()
            self.refresh()

    def _sync(self, card: Card, index: int) -> list[int]:
        """Update ``card`` from its buffer; returns the card rows whose strips changed."""
        live = self._live
        buf = live.buffers.get(card.worker_id) if live is not None else None
        if buf is None:
            card.stale = False
            return []
        layout = self._layout
        focused = index == self.focused_index
        return card.sync(buf, layout.card_w, layout.card_h, focused, self._styles.get)

    def render_line(self, y: int) -> Strip:
        self._check_filters()
        layout = self._layout
        if isinstance(layout, GroupedLayout) and self._live is not None:
            return self._heads.line(self._live, layout, y + round(self.scroll_y), self._cards,
                                    self._sync, self._styles.get)
        width, cols, _, card_h = self._layout  # type: ignore[misc]
        row, line = divmod(y + round(self.scroll_y), card_h)
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
            segments.append(Segment(" " * (width - used), self._styles.get("")))
        return Strip(segments, max(used, width))

    # ------------------------------------------------------------------ focus and keys

    def watch_focused_index(self, old: int, new: int) -> None:
        for index in (old, new):
            if 0 <= index < len(self._cards):
                card = self._cards[index]
                card.invalidate()  # every row's border glyph changes
                self.refresh(self._layout.region(index).translate((0, -round(self.scroll_y))))
        self._scroll_to_focus()
        self._announce()

    def _announce(self) -> None:
        worker_id = self.focused_worker
        if worker_id is not None and worker_id != self._announced:
            self._announced = worker_id
            self.post_message(self.Highlighted(worker_id))

    def action_move(self, dx: int, dy: int) -> None:
        index = self._layout.moved(self.focused_index, dx, dy, len(self._cards))
        if index is not None:
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
        if offset is None:
            return
        index = self._layout.card_at(offset.x, offset.y + round(self.scroll_y), len(self._cards))
        if index is not None:
            self.focus()
            self.focused_index = index
            if event.chain >= 2:
                self.post_message(self.ZoomRequested(self._cards[index].worker_id))
