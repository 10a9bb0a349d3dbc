"""``OutputPane``: shows one run in the view that fits its system (stream, grid or chain).

The main screen (live runs) and the run view (a past run from history) both host one, so a
past run looks exactly like it did live. The pane never renders on its own: its owner calls
``flush()`` from a ~20 Hz timer.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Static

from agentdeck.state import ENDED_BADLY, SAYS_WHY
from agentdeck.systems import registry
from agentdeck.systems.declarations import AGENT

from ..live import LiveRun, WorkerBuffer
from .chain_view import ChainView
from .stream_view import StreamView
from .worker_grid import WorkerGrid

__all__ = ["OutputPane", "view_for"]

_VIEWS = ("stream", "grid", "chain")


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

    def __init__(self, *, id: str | None = None, empty_text: str = "") -> None:
        super().__init__(id=id)
        self.live: LiveRun | None = None
        self._empty_text = empty_text
        self._source: WorkerBuffer | None = None
        self._error_shown = ""

    def compose(self) -> ComposeResult:
        with ContentSwitcher(initial="empty"):
            yield Static(self._empty_text, id="empty", markup=False)
            with Vertical(id="stream"):
                # A single stream has no card: its error (with the server's message) goes here.
                yield Static(id="stream-error", markup=False)
                yield StreamView(id="stream-view")
            yield WorkerGrid(id="grid")
            yield ChainView(id="chain")

    @property
    def view(self) -> str:
        return self.query_one(ContentSwitcher).current or "empty"

    @property
    def grid(self) -> WorkerGrid:
        return self.query_one(WorkerGrid)

    @property
    def stream(self) -> StreamView:
        return self.query_one("#stream-view", StreamView)

    def show(self, live: LiveRun, system: str) -> None:
        """Switch to the view for ``system`` and feed it from ``live``."""
        self.live = live
        self._source = None
        view = view_for(system)
        self.query_one(ContentSwitcher).current = view
        if view == "grid":
            self.grid.set_run(live)
        elif view == "chain":
            self.query_one(ChainView).set_live(live)
        self.flush()

    def flush(self) -> None:
        """Push what changed since the last call into the visible view."""
        live = self.live
        if live is None:
            return
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
            self.grid.flush()
        elif view == "chain":
            self.query_one(ChainView).flush()

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
