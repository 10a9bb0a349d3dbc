"""``OutputPane``: shows one run in the view that fits its system (stream, grid or chain).

The main screen (live runs) and the run view (a past run from history) both host one, so a
past run looks exactly like it did live. The pane never renders on its own: its owner calls
``flush()`` from a ~20 Hz timer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Static

from agentdeck.errors import AgentDeckError
from agentdeck.state import ENDED_BADLY, SAYS_WHY
from agentdeck.systems import registry
from agentdeck.systems.declarations import AGENT

from ..answer import answer_of, apply_marks, round_size
from ..live import LiveRun, WorkerBuffer
from ..targets import Tallies
from .answer_panel import AnswerPanel
from .chain_view import ChainView
from .stream_view import StreamView
from .worker_grid import WorkerGrid
from .worker_table import WorkerTable

__all__ = ["OutputPane", "cards_fit", "view_for"]

_VIEWS = ("stream", "grid", "chain")
_CARDS = ("grid", "table")
"""The two views of parallel workers, toggled with ``v``."""


def cards_fit(count: int, width: int, height: int) -> bool:
    """True when at least half of ``count`` cards show at once; past that the table is the
    default (64 workers at 80x24: 2 of 64 cards in view, but 14 table rows)."""
    cols = max(1, width // WorkerGrid.MIN_CARD_WIDTH)
    return (max(1, height) // WorkerGrid.CARD_HEIGHT) * cols * 2 >= count
ANSWER_EVERY = 0.25
"""Seconds between looks at the run's answer (a synthesis streams: not every frame)."""


def view_for(system: str) -> str:
    """Which view shows ``system``: one stream, a chain, or the grid of parallel workers.

    A registered system says which (its ``view``); a run of another agent (the system name
    every ``BaseAgent`` subclass records unless it sets its own) is one stream.
    """
    spec = registry.find(system)
    if spec is not None:
        return spec.view if spec.view in _VIEWS else "grid"
    return "stream" if system == AGENT else "grid"


class OutputPane(Widget):
    """A ContentSwitcher over StreamView, WorkerGrid and ChainView, fed from one LiveRun."""

    DEFAULT_CSS = """
    OutputPane { height: 1fr; }
    OutputPane ContentSwitcher { height: 1fr; }
    OutputPane #empty { color: $text-muted; padding: 1 2; }
    OutputPane #stream, OutputPane #stream-view { height: 1fr; }
    OutputPane #stream-error { color: $error; text-style: bold; padding: 0 1; display: none; }
    OutputPane #stream-error.-shown { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "toggle_table", "Cards/table"),
        Binding("y", "copy", "Copy text"),
        Binding("p", "reveal", "File path"),
    ]

    class PathShown(Message):
        """``p`` sent a worker's file path to the clipboard (a screen may show it on a line)."""

        def __init__(self, worker_id: str, path: Path) -> None:
            super().__init__()
            self.worker_id = worker_id
            self.path = path

    def __init__(self, *, id: str | None = None, empty_text: str = "",
                 read_only: bool = False) -> None:
        super().__init__(id=id)
        self.read_only = read_only
        """A past run: no cancel or retry keys in the grid or the table."""
        self.shows_paths = False
        """The screen shows ``p``'s path on a line of its own (``PathShown``): the toast
        that says where the path was copied leaves it out (a toast wraps it)."""
        self.live: LiveRun | None = None
        self._empty_text = empty_text
        self._source: WorkerBuffer | None = None
        self._error_shown = ""
        self._answer_key: object = None
        self._answer_worker = "aggregate"
        self._answer_at = 0.0
        self._picked: str | None = None
        """The workers' view the user chose with ``v`` (None: by what fits)."""
        self._counted = -1
        self.tallies = Tallies()
        """Compare's tallies, read by the answer panel and the grid's group headers."""

    def compose(self) -> ComposeResult:
        yield AnswerPanel(id="answer")
        with ContentSwitcher(initial="empty"):
            yield Static(self._empty_text, id="empty", markup=False)
            with Vertical(id="stream"):
                # A single stream has no card: its error (with the server's message) goes here.
                yield Static(id="stream-error", markup=False)
                yield StreamView(id="stream-view")
            grid = WorkerGrid(id="grid")
            grid.tallies = self.tallies
            table = WorkerTable(id="table")
            grid.read_only = table.read_only = self.read_only
            yield grid
            yield table
            yield ChainView(id="chain")

    @property
    def view(self) -> str:
        return self.query_one(ContentSwitcher).current or "empty"

    @property
    def grid(self) -> WorkerGrid:
        return self.query_one(WorkerGrid)

    @property
    def table(self) -> WorkerTable:
        return self.query_one(WorkerTable)

    @property
    def focused_worker(self) -> str | None:
        """The worker highlighted in the grid or the table, else the last one."""
        live = self.live
        if live is None or not live.order:
            return None
        view = self.view
        focused = (self.grid.focused_worker if view == "grid" else
                   self.table.focused_worker if view == "table" else None)
        return focused or live.order[-1]

    @property
    def stream(self) -> StreamView:
        return self.query_one("#stream-view", StreamView)

    def show(self, live: LiveRun, system: str,
             group_summary: Callable[[str], Mapping[str, Any] | None] | None = None) -> None:
        """Switch to the view for ``system`` and feed it from ``live``; ``group_summary``:
        each group's run summary, for its header (``Tallies.summary_of``)."""
        self.live = live
        self.tallies.summary_of = group_summary
        self._source = None
        self._answer_key = None
        self._answer_at = 0.0
        spec = registry.find(system)
        # The worker whose streaming text is the answer (a synthesis, MoA's aggregator).
        self._answer_worker = (spec.answer_worker if spec is not None and spec.answer_worker
                               else "aggregate")
        self.query_one(AnswerPanel).answer = None
        view = view_for(system)
        self.query_one(ContentSwitcher).current = view
        self.refresh_bindings()  # ``v`` is for cards only
        self._counted = -1
        if view == "grid":
            self.grid.row_size = round_size(live)
            self.grid.set_run(live)
            self.table.set_run(live)
            self._fit_view(live)
        elif view == "chain":
            self.query_one(ChainView).set_live(live)
        self.flush()

    def flush(self) -> None:
        """Push what changed since the last call into the visible view."""
        live = self.live
        if live is None:
            return
        self._show_answer(live)
        view = self.view
        if view == "stream":
            # The stream view follows the run's one worker; a retry replaces the buffer.
            if live.order:
                buf = live.buffers[live.order[-1]]
                if buf is not self._source:
                    self._source = buf
                    self.stream.set_source(buf)
            self.stream.flush()
            self._show_error(self._source)
        elif view == "grid":
            if len(live.order) != self._counted:
                self._fit_view(live)
            if self.view == "grid":
                self.grid.flush()
            else:
                self.table.flush()
        elif view == "table":
            if len(live.order) != self._counted:
                self._fit_view(live)
            self.table.flush()
        elif view == "chain":
            self.query_one(ChainView).flush()

    def _show_answer(self, live: LiveRun) -> None:
        """Work the answer out again when the run's workers or steps changed (4 Hz at most)."""
        at = time.monotonic()
        if at - self._answer_at < ANSWER_EVERY and not live.finished:
            return
        self._answer_at = at
        judge = live.buffers.get(self._answer_worker)
        key = (live.version, live.status, *live.counts.values(),
               judge.version if judge is not None else 0)
        if key == self._answer_key:
            return
        self._answer_key = key
        answer = answer_of(live, self.tallies)
        apply_marks(live, answer.marks if answer is not None else {})
        self.query_one(AnswerPanel).answer = answer

    def _show_error(self, buf: WorkerBuffer | None) -> None:
        text = ""
        if buf is not None and buf.state in ENDED_BADLY:
            why = buf.state in SAYS_WHY and buf.error
            text = f"✕ {buf.state_text}: {buf.error}" if why else f"✕ {buf.state_text}"
        if text != self._error_shown:
            self._error_shown = text
            line = self.query_one("#stream-error", Static)
            line.update(text)
            line.set_class(bool(text), "-shown")

    def focus_output(self) -> None:
        view = self.view
        if view == "stream":
            self.stream.focus()
        elif view != "empty":
            self.query_one(f"#{view}").focus()

    # ------------------------------------------------------------------ cards or table

    def _fit_view(self, live: LiveRun) -> None:
        """Cards or table, by the user's choice or else by what fits (as workers appear)."""
        size = self.query_one(ContentSwitcher).size
        if not size.area:
            return  # not laid out yet: decided on a later frame
        self._counted = len(live.order)
        want = self._picked or ("grid" if cards_fit(len(live.order), size.width, size.height)
                                else "table")
        self._switch_cards(want)

    def _switch_cards(self, want: str) -> None:
        switcher = self.query_one(ContentSwitcher)
        current = switcher.current
        if current == want or current not in _CARDS:
            return
        focused = (self.grid if current == "grid" else self.table).focused_worker
        had_focus = self.screen.focused in (self.grid, self.table)
        switcher.current = want
        target = self.grid if want == "grid" else self.table
        if want == "table":
            self.table.set_run(self.live)
        else:
            self.grid.set_run(self.live)
        if focused is not None:
            target.focus_worker(focused)
        if had_focus:
            target.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``v`` only where there are cards to turn into a table."""
        return action != "toggle_table" or self.view in _CARDS

    def pick_cards(self, view: str | None) -> None:
        """Show parallel workers as ``"grid"`` or ``"table"`` from now on (None: by what
        fits, the default); ``benchmarks/tui_load.py`` measures each this way."""
        self._picked = view
        self._counted = -1

    def action_toggle_table(self) -> None:
        """``v``: cards or one line per worker (the table sorts and filters)."""
        if self.view not in _CARDS:
            self.notify("Only a run of parallel workers has a table view.")
            return
        self._picked = "table" if self.view == "grid" else "grid"
        self._switch_cards(self._picked)

    # ------------------------------------------------------------------ copy and path

    def _worker_file(self, worker_id: str) -> Path | None:
        """The run store's file of a worker (None when the run was not recorded)."""
        store = getattr(self.app, "store", None)
        live = self.live
        if store is None or live is None or not live.run_id:
            return None
        try:
            return store.load_run(live.run_id).worker_path(worker_id)
        except (AgentDeckError, KeyError):
            return None

    def action_copy(self) -> None:
        """``y``: copy the focused worker's text."""
        from ..clipboard import copy_text

        worker_id = self.focused_worker
        if worker_id is None or self.live is None:
            self.notify("Nothing to copy yet.")
            return
        copy_text(self.app, self.live.buffers[worker_id].text, self._worker_file(worker_id))

    def action_reveal(self) -> None:
        """``p``: show where the focused worker's text is on disk."""
        worker_id = self.focused_worker
        if worker_id is None:
            return
        path = self._worker_file(worker_id)
        if path is None:
            self.notify("This run is not recorded: its text is only on screen.",
                        title=worker_id, markup=False)
            return
        from ..clipboard import copy_text

        # Says where the path went, as ``y`` does for text: never "copied" on OSC 52 alone.
        copy_text(self.app, str(path), None if self.shows_paths else path)
        self.post_message(self.PathShown(worker_id, path))

    def on_resize(self) -> None:
        self._counted = -1  # cards or table is decided again for the new size
        self.call_after_refresh(self.flush)  # now: the frame timer sleeps after a run
