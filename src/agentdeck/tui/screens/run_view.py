"""``RunViewScreen``: a past run, read-only, in the same views it had live.

The run's files are read once into a ``LiveRun`` (the same buffers a live run fills), so the
grid, chain and stream views need no second code path for history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Static

from agentdeck.events import RunStarted, StepFinished, StepStarted
from agentdeck.state import INTERRUPTED_REASON, RunStatus, WorkerState, read_state

from ..live import LiveRun, WorkerBuffer
from ..widgets.key_footer import KeyFooter
from ..widgets.output_pane import OutputPane
from ..widgets.stats_panel import BESIDE, StatsPanel, summary_line
from ..widgets.worker_grid import WorkerGrid

if TYPE_CHECKING:
    from agentdeck.store.run_info import RunInfo

__all__ = ["RunViewScreen", "live_from_disk"]

_STEP_WORDS = frozenset(RunStatus)


def live_from_disk(info: RunInfo) -> LiveRun:
    """Fill a ``LiveRun`` from a recorded run (``store.load_run``): texts, states, steps.

    States are the manifest's words as ``RunInfo`` reads them (an interrupted worker stays
    interrupted); a word outside the vocabulary (a run without a readable manifest) shows as
    failed.
    """
    live = LiveRun()
    live(RunStarted(info.run_id, info.system))
    # Compare's targets group their workers, as live (run.json's ``targets``).
    group_of = {str(w): str(t.get("key")) for t in info.manifest.get("targets") or ()
                if isinstance(t, dict) for w in t.get("workers") or ()}
    for entry in info.workers:
        buf = _buffer(info, entry)
        buf.group = group_of.get(buf.worker_id, "")
        live.adopt(buf)
    for step in info.steps:
        number = int(step.get("step") or 0)
        worker_id = str(step.get("worker_id") or "")
        live(StepStarted(info.run_id, number, step.get("total"), str(step.get("label") or ""),
                         worker_id))
        if step.get("output_file"):
            live(StepFinished(info.run_id, number, info.read_step(number), worker_id))
        if step.get("status") in _STEP_WORDS:
            live.steps[number].status = RunStatus(step["status"])
    live.status = info.status
    live.version += 1
    return live


def _group_summaries(info: RunInfo, live: LiveRun) -> dict[str, dict[str, Any]]:
    """Each group's run summary (compare's targets), folded from its recorded workers as
    the run's own is for a run recorded before it carried one."""
    from agentdeck.store.summary import RunSummary

    by_group: dict[str, list[dict[str, Any]]] = {}
    for entry in info.workers:
        buf = live.buffers.get(str(entry.get("id")))
        if buf is not None and buf.group:
            by_group.setdefault(buf.group, []).append(entry)
    return {key: RunSummary.from_entries(entries).snapshot()
            for key, entries in by_group.items()}


def _buffer(info: RunInfo, entry: dict[str, Any]) -> WorkerBuffer:
    worker_id = str(entry.get("id"))
    state = read_state(entry.get("status")) or WorkerState.FAILED
    buf = WorkerBuffer.from_text(worker_id, info.read_text(worker_id),
                                 info.read_reasoning(worker_id),
                                 label=str(entry.get("label") or worker_id), state=state)
    buf.step = entry.get("step")
    buf.finish_reason = entry.get("finish_reason")
    buf.retries = int(entry.get("retries") or 0)
    if state is WorkerState.INTERRUPTED:
        buf.error = INTERRUPTED_REASON
    elif state is WorkerState.CANCELLED:
        buf.error = "cancelled"
    elif entry.get("error"):
        buf.error = str(entry["error"])
    buf.error_kind = entry.get("error_kind")
    usage = entry.get("usage") or {}
    buf.tokens = int(usage.get("completion_tokens") or 0)
    metrics = entry.get("metrics") or {}
    buf.ttft = metrics.get("ttft", entry.get("ttft"))
    tpot = metrics.get("tpot")  # decode speed, as the card showed it live
    buf.final_tokens_per_s = 1 / tpot if isinstance(tpot, (int, float)) and tpot > 0 else None
    return buf


class RunViewScreen(Screen[None]):
    """One recorded run. Keys copy a worker's text or reveal its file; nothing is editable."""

    CSS_PATH = "run_view.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("a", "run_again", "Run again"),
        Binding("ctrl+f", "zoom", "Zoom"),
    ]

    def __init__(self, info: RunInfo) -> None:
        super().__init__()
        self.info = info
        self.live = live_from_disk(info)

    def compose(self) -> ComposeResult:
        info = self.info
        head = f"{info.run_id} · {info.system} · {info.status} · {info.model or ''}"
        yield Static(head, id="title", markup=False)
        yield Static(f"prompt: {info.prompt_head}", id="prompt", markup=False)
        summary = info.manifest.get("summary")
        yield Static(summary_line(summary) if isinstance(summary, dict) else
                     "figures: not recorded (a run from before the run summary)",
                     id="summary", markup=False)
        with Horizontal(id="body"):
            yield OutputPane(id="output", empty_text="This run recorded no workers.",
                             read_only=True)  # no cancel or retry keys: nothing of it runs
            yield StatsPanel(id="stats")
        yield Static(id="path", markup=False)  # p: the file's path, on one line, with the run
        yield KeyFooter()

    def on_mount(self) -> None:
        pane = self.query_one(OutputPane)
        pane.shows_paths = True
        if self.live.order:
            pane.show(self.live, self.info.system, _group_summaries(self.info, self.live).get)
            pane.focus_output()
        # Flushed a few times while the views lay themselves out, then the run never changes.
        self.set_interval(1 / 10, pane.flush, repeat=5)
        summary = self.info.manifest.get("summary")
        ttfts = [b.ttft for b in self.live.buffers.values() if b.ttft is not None]
        self.query_one(StatsPanel).show_saved(summary if isinstance(summary, dict) else {},
                                              ttfts)

    def on_resize(self) -> None:
        self.set_class(self.size.width >= BESIDE, "-roomy")

    @on(OutputPane.PathShown)
    def _show_path(self, event: OutputPane.PathShown) -> None:
        """``p``: the path on this screen's line too, with the run (a toast wraps it)."""
        line = self.query_one("#path", Static)
        room = max(10, self.size.width - 2)  # the line's padding
        text = str(event.path)
        line.update(text if len(text) <= room else "…" + text[-(room - 1):])
        line.display = True

    def action_run_again(self) -> None:
        """The main screen, filled with this run's prompt, system and settings."""
        from ..rerun import run_again

        run_again(self.app, self.info)

    def action_zoom(self) -> None:
        worker_id = self.query_one(OutputPane).focused_worker
        if worker_id is not None:
            self._open_zoom(worker_id)

    def _open_zoom(self, worker_id: str) -> None:
        from .zoom import ZoomScreen

        self.app.push_screen(ZoomScreen(self.live, worker_id))

    @on(WorkerGrid.ZoomRequested)
    def _zoom_requested(self, event: WorkerGrid.ZoomRequested) -> None:
        self._open_zoom(event.worker_id)


    def palette_commands(self) -> Iterable[tuple[str, str, Callable[[], object]]]:
        pane = self.query_one(OutputPane)
        yield "Copy text", "Copy the focused worker's text (y)", pane.action_copy
        yield "Reveal file", "Show and copy the focused worker's file path (p)", pane.action_reveal
        yield "Zoom", "Full-screen transcript of the focused worker (ctrl+f)", self.action_zoom
        yield ("Run again", "Load this run's prompt, system and settings into the main screen (a)",
               self.action_run_again)
        yield "Back", "Return to the history (Esc)", self.app.pop_screen
