"""ChainView: a chain's steps with their state and units, then the stream being written.

Public API::

    chain = ChainView()
    chain.set_live(live)     # a LiveRun fed by a ChainOfAgents (attributes down)
    chain.flush()            # call ~20 Hz from the screen's one timer

Above: one row per step ("chunk 2/5", then "manager") with its state, tokens and the first line
of the communication unit it handed on (space expands the whole unit); the running step also
shows the last rows of its text. Below: a StreamView following the step being written now,
which ends on the manager's answer. Enter on a step posts ``WorkerGrid.ZoomRequested`` (the
same message as the grid, so the screen handles zoom in one place).
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentdeck.state import IN_FLIGHT, SAYS_WHY, StepInfo, WorkerState
from agentdeck.tui.live import LiveRun, WorkerBuffer
from agentdeck.tui.widgets.plaintext import (
    TailWrapper,
    cell_len,
    fit,
    literal,
    wrap_line,
)
from agentdeck.tui.widgets.stream_view import StreamView
from agentdeck.tui.widgets.worker_grid import WorkerGrid

__all__ = ["ChainSteps", "ChainView"]

_ICONS = {
    WorkerState.QUEUED: "○",
    WorkerState.WAITING: "◌",
    WorkerState.STREAMING: "●",
    WorkerState.RETRYING: "↻",
    WorkerState.DONE: "✓",
    WorkerState.FAILED: "✗",
    WorkerState.CANCELLED: "⊘",
    WorkerState.INTERRUPTED: "↯",
}
TAIL_ROWS = 2
UNIT_ROWS = 12


class ChainSteps(ScrollView, can_focus=True):
    """The list of steps, drawn through the line API (a chain has tens of steps at most)."""

    DEFAULT_CSS = """
    ChainSteps {
        height: auto;
        max-height: 45%;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        border-bottom: solid $foreground 30%;
    }
    ChainSteps > .chain-steps--label { text-style: bold; }
    ChainSteps > .chain-steps--selected { background: $accent 30%; }
    ChainSteps > .chain-steps--muted { color: $text-muted; }
    ChainSteps > .chain-steps--unit { color: $text-muted; }
    ChainSteps > .chain-steps--error { color: $text-error; }
    ChainSteps > .chain-steps--active { color: $text-primary; text-style: bold; }
    ChainSteps > .chain-steps--done { color: $text-success; }
    """

    COMPONENT_CLASSES = {
        "chain-steps--label", "chain-steps--selected", "chain-steps--muted",
        "chain-steps--unit", "chain-steps--error", "chain-steps--active", "chain-steps--done",
    }

    BINDINGS = [
        Binding("up,k", "select(-1)", "Up", show=False),
        Binding("down,j", "select(1)", "Down", show=False),
        Binding("enter", "zoom", "Zoom"),
        Binding("space", "expand", "Unit"),
    ]

    selected: var[int] = var(0, init=False)
    """Index of the highlighted step row."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.live: LiveRun | None = None
        self.expanded: set[int] = set()
        self._rows: list[tuple[int, str]] = []  # (step, worker_id) per step, in order
        self._lines: list[Strip] = []
        self._step_line: list[int] = []
        self._seen: object = None
        self._tails: dict[str, tuple[WorkerBuffer, int, TailWrapper]] = {}

    def set_live(self, live: LiveRun | None) -> None:
        self.live, self.expanded, self._seen, self._tails = live, set(), None, {}
        self.set_reactive(ChainSteps.selected, 0)
        self.flush()

    def flush(self) -> None:
        """Rebuild the rows when a step or its worker changed (cheap: one row per step)."""
        live = self.live
        if live is None or not self.is_mounted:
            return
        steps = self._steps(live)
        seen = (live.version, self.selected, frozenset(self.expanded), self.size.width,
                tuple((s.step, s.output is not None) for s in steps),
                tuple(live.buffers[w].version for w in live.order))
        if seen == self._seen:
            return
        self._seen = seen
        height = len(self._lines)
        self._build(live, steps)
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._lines))
        # Its height is "auto": lay the screen out again only when the row count changed.
        self.refresh(layout=len(self._lines) != height)

    def _steps(self, live: LiveRun) -> list[StepInfo]:
        steps = dict(live.steps)
        for worker_id in live.order:  # a worker queued before its StepStarted reached us
            buf = live.buffers[worker_id]
            if buf.step is not None and buf.step not in steps:
                steps[buf.step] = StepInfo(buf.step, None, buf.title, worker_id)
        total = max((s.total or 0 for s in steps.values()), default=0)
        for step in range(1, total + 1):
            if step not in steps:
                # A chain's last step is its manager; the others read one chunk each.
                label = (
                    f"step {step}/{total}" if live.system != "chain"
                    else "manager" if step == total else f"chunk {step}/{total - 1}"
                )
                steps[step] = StepInfo(step, total, label)
        return [steps[k] for k in sorted(steps)]

    def _build(self, live: LiveRun, steps: list[StepInfo]) -> None:
        width = max(10, self.scrollable_content_region.width)
        self._rows = [(s.step, s.worker_id) for s in steps]
        self.selected = min(self.selected, max(0, len(steps) - 1))
        lines: list[Strip] = []
        self._step_line = []
        base = self.rich_style
        muted = self.get_component_rich_style("chain-steps--muted")
        for index, info in enumerate(steps):
            self._step_line.append(len(lines))
            buf = live.buffers.get(info.worker_id) if info.worker_id else None
            row = self._row(info, buf, width, index == self.selected)
            lines.append(row)
            if buf is not None and buf.state in IN_FLIGHT:
                for text in self._tail(buf, width - 6):
                    lines.append(self._plain("    │ " + text, muted, width, base))
            if info.step in self.expanded and info.output:
                unit = self.get_component_rich_style("chain-steps--unit")
                rows: list[str] = []
                for para in literal(info.output).split("\n"):
                    rows.extend(wrap_line(para, width - 6))
                for text in rows[:UNIT_ROWS]:
                    lines.append(self._plain("    ┆ " + text, unit, width, base))
                if len(rows) > UNIT_ROWS:
                    more = f"    ┆ … {len(rows) - UNIT_ROWS} more rows (Enter zooms)"
                    lines.append(self._plain(more, muted, width, base))
        self._lines = lines

    def _tail(self, buf: WorkerBuffer, width: int) -> list[str]:
        old = self._tails.get(buf.worker_id)
        if old is None or old[0] is not buf or old[2].width != max(1, width):
            wrap, pos = TailWrapper(width, TAIL_ROWS), None
        else:
            wrap, pos = old[2], old[1]
        self._tails[buf.worker_id] = (buf, wrap.catch_up(buf.content, pos), wrap)
        return [row for row in wrap.tail() if row] or ["…"]

    def _row(self, info: StepInfo, buf: WorkerBuffer | None, width: int, selected: bool) -> Strip:
        style = self.get_component_rich_style
        if buf is None:
            icon, state, figures, state_style = "·", "pending", "", style("chain-steps--muted")
        else:
            icon, state = _ICONS[buf.state], buf.state_text
            figures = f"{buf.tokens} tok" if buf.tokens else ""
            state_style = style(
                "chain-steps--done" if buf.state is WorkerState.DONE
                else "chain-steps--error" if buf.state in SAYS_WHY
                else "chain-steps--active" if not buf.state.finished
                else "chain-steps--muted"
            )
        label = fit(literal(info.label), 16)
        head = f" {icon} "
        segments = [
            Segment(head, state_style),
            Segment(label + " " * (16 - cell_len(label)), style("chain-steps--label")),
            Segment(f" {state:<12} {figures:>9}", state_style),
        ]
        used = cell_len(head) + 16 + 23
        if buf is not None and buf.state in SAYS_WHY and buf.error:
            segments.append(Segment(" " + fit(literal(buf.error), max(0, width - used - 1)),
                                    style("chain-steps--error")))
        elif info.output is not None and width - used > 8:
            mark = "▾" if info.step in self.expanded else "▸"
            summary = " ".join(literal(info.output).split()) or "(empty unit)"
            segments.append(Segment(f" {mark} " + fit(summary, width - used - 3),
                                    style("chain-steps--unit")))
        strip = Strip(segments).adjust_cell_length(width, self.rich_style)
        if selected and self.has_focus:
            strip = strip.apply_style(Style(bgcolor=style("chain-steps--selected").bgcolor))
        return strip.apply_style(self.rich_style)

    def _plain(self, text: str, style: Style, width: int, base: Style) -> Strip:
        return Strip([Segment(fit(text, width), style)]).adjust_cell_length(width, base)

    def render_line(self, y: int) -> Strip:
        vy = y + round(self.scroll_y)
        width = self.scrollable_content_region.width
        if 0 <= vy < len(self._lines):
            return self._lines[vy].adjust_cell_length(width, self.rich_style)
        return Strip.blank(width, self.rich_style)

    def watch_selected(self) -> None:
        self._seen = None
        self.flush()
        if self._step_line and self.selected < len(self._step_line):
            self.scroll_to(y=max(0, self._step_line[self.selected] - 1), animate=False)

    def on_focus(self) -> None:
        self._seen = None
        self.flush()

    def on_blur(self) -> None:
        self._seen = None
        self.flush()

    def on_resize(self) -> None:
        self._seen = None
        self.flush()

    def action_select(self, delta: int) -> None:
        if self._rows:
            self.selected = max(0, min(len(self._rows) - 1, self.selected + delta))

    def action_zoom(self) -> None:
        if self._rows and (worker_id := self._rows[self.selected][1]):
            self.post_message(WorkerGrid.ZoomRequested(worker_id))

    def action_expand(self) -> None:
        if self._rows:
            step = self._rows[self.selected][0]
            self.expanded ^= {step}
            self._seen = None
            self.flush()


class ChainView(Vertical):
    """Steps above, the stream being written (finally the manager's answer) below."""

    DEFAULT_CSS = """
    ChainView { height: 1fr; }
    ChainView > StreamView { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.live: LiveRun | None = None

    def compose(self) -> ComposeResult:
        yield ChainSteps()
        yield StreamView()

    def set_live(self, live: LiveRun | None) -> None:
        """Show ``live`` (a chain run); resets both parts."""
        self.live = live
        self.query_one(ChainSteps).set_live(live)
        self.query_one(StreamView).set_source(None)
        self.flush()

    def flush(self) -> None:
        """Refresh the steps and feed the stream view the step being written."""
        live = self.live
        if live is None:
            return
        self.query_one(ChainSteps).flush()
        view = self.query_one(StreamView)
        current = self._current(live)
        if current is not None and current is not view.buffer:
            view.set_source(current)
        view.flush()

    @staticmethod
    def _current(live: LiveRun) -> WorkerBuffer | None:
        """The latest worker that started (the manager at the end), else the first one."""
        for worker_id in reversed(live.order):
            buf = live.buffers[worker_id]
            if buf.state is not WorkerState.QUEUED:
                return buf
        return live.buffers[live.order[0]] if live.order else None

    def focus(self, scroll_visible: bool = True) -> ChainView:
        """Focus the step list (the container itself takes no keys)."""
        self.query_one(ChainSteps).focus(scroll_visible)
        return self
