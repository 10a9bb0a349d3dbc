"""``MainScreen``: prompt, system picker, live output and status; it owns the run in flight."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterable
from typing import ClassVar, Protocol, runtime_checkable

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from agentdeck.errors import AgentDeckError
from agentdeck.events import ParamsFitted, RunEvent
from agentdeck.events import WorkerFailed as WorkerFailedEvent
from agentdeck.state import UNFINISHED, WorkerState
from agentdeck.systems import registry
from agentdeck.systems.registry import RunRequest, System

from ..app import AgentDeckApp
from ..keyorder import after_typed_keys
from ..live import LiveRun
from ..messages import ConnectionChanged
from ..runner import RunOptions, run_request
from ..widgets.output_pane import OutputPane
from ..widgets.prompt_box import Attachment, PromptBox
from ..widgets.status_line import StatusLine
from ..widgets.system_picker import SystemPicker
from ..widgets.worker_grid import WorkerGrid

__all__ = ["MainScreen"]

FRAME = 1 / 20
"""Seconds between flushes of streamed text to the widgets (issue 4: about 20 Hz)."""
FRAME_UNDER_LOAD = ((64, 1 / 10), (16, 1 / 15))
"""(more than N workers streaming, seconds between flushes): every visible card then changes
every frame, and the streams below the UI need the CPU. Measured at 64 workers x 20k tokens/s
(UI alone): 15 Hz cut the frame work by 16% with token-to-screen p99 ~80 ms (65 at 20 Hz);
10 Hz cut it by ~40% but put that p99 at ~115 ms, within the 150 ms asked at 256 workers only."""
POLL = 2.0
"""Seconds between server health / metrics polls."""
STATUS_EVERY = 5
"""Frames between status-line updates (4 Hz at 20 Hz frames)."""
WIDE = 120
"""Columns from which the prompt box gets more rows."""
EMPTY = (
    "Type a prompt above and press ctrl+s (or F5) to send it.\n\n"
    "ctrl+t picks the system ({systems}), ctrl+o attaches a context file or long text, F2 "
    "opens settings, F3 the history of past runs, ctrl+p lists every command."
)
"""The empty output pane's text; ``{systems}`` lists the registry's systems."""


@runtime_checkable
class _RetriesWorkers(Protocol):
    """A system that can run one of its workers again (multi-call's ``retry_worker``)."""

    async def retry_worker(self, worker_id: str) -> object: ...


def _systems() -> str:
    """The systems' labels, in picker order: "Basic, Context, ..."."""
    return ", ".join(spec.label for spec in registry.specs())


class MainScreen(Screen[None]):
    """The screen the app opens on."""

    CSS_PATH = "main.tcss"
    app = getters.app(AgentDeckApp)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s,f5", "send", "Send", priority=True, key_display="^s"),
        Binding("ctrl+o", "attach", "Attach", priority=True, key_display="^o"),
        Binding("ctrl+t,f4", "cycle_system", "System", priority=True, key_display="^t"),
        Binding("ctrl+g", "cancel_all", "Cancel", priority=True, key_display="^g"),
        Binding("ctrl+f", "zoom", "Zoom", priority=True, show=False),
        Binding("ctrl+n", "new_prompt", "New prompt", priority=True, show=False),
        Binding("f2", "app.settings", "Settings"),
        Binding("f3", "app.history", "History"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.live: LiveRun | None = None
        """The current (or last) run's buffers."""
        self.system: System | None = None
        """The current (or last) agent or system; kept after the run for retries."""
        self._worker: Worker[None] | None = None
        self._frames = 0
        self._last: tuple[RunOptions, str, Attachment | None] | None = None
        self._failures: list[str] = []
        self._reported: set[int] = set()  # ids of errors already shown, so none shows twice

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        yield StatusLine(id="status")
        yield PromptBox(id="prompt")
        yield SystemPicker(RunOptions.from_settings(settings), id="picker")
        yield OutputPane(id="output", empty_text=EMPTY.format(systems=_systems()))
        yield Footer()

    def on_mount(self) -> None:
        # The ~100k objects the app is made of (modules, classes, widgets) live as long as it
        # does; frozen, the collector stops walking them on every full collection (measured
        # while one answer streamed: pauses of 60-120 ms, the key-to-paint p99, gone).
        gc.freeze()
        self.set_timer(FRAME, self._frame)
        self.set_interval(POLL, self.poll_server)
        self._show_connection()
        self.query_one(PromptBox).focus_prompt()

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "-wide")

    # ------------------------------------------------------------------ state

    @property
    def run_in_flight(self) -> bool:
        # Not ``is_running``: a worker just created is still PENDING for one loop turn.
        return self._worker is not None and not self._worker.is_finished

    def in_flight_summary(self) -> str:
        """One line for the quit prompt: how many workers are still going."""
        live = self.live
        if live is None:
            return "A run is starting."
        going = sum(live.counts[state] for state in UNFINISHED)
        return (
            f"{live.system or 'run'} {live.run_id}: {going} of {len(live.buffers)} workers going."
        )

    # ------------------------------------------------------------------ frame + poll

    def _frame(self) -> None:
        """The frame timer: flush, then wait one frame interval (longer under heavy load)."""
        try:
            self.flush_frame()
        finally:
            self.set_timer(self._frame_interval(), self._frame)

    def _frame_interval(self) -> float:
        live = self.live
        if live is None or live.finished or len(live.buffers) <= FRAME_UNDER_LOAD[-1][0]:
            return FRAME
        streaming = live.counts[WorkerState.STREAMING]
        for workers, interval in FRAME_UNDER_LOAD:
            if streaming > workers:
                return interval
        return FRAME

    def flush_frame(self) -> None:
        """Push buffered text to the widgets and refresh the status (the ~20 Hz timer)."""
        live = self.live
        if live is None or not self.is_attached:
            return  # nothing yet, or the app is closing while a run ends
        self.query_one(OutputPane).flush()
        self._frames += 1
        if live.finished or self._frames % STATUS_EVERY == 0:
            # A repainted status line makes Textual compose everything between it and the
            # output pane: at 20 Hz that alone cost 5-7% of a core under load.
            status = self.query_one(StatusLine)
            status.tokens_per_s = live.average_rate() if live.finished else live.tokens_per_s()
            status.run_state = live.state_text()
        if self._failures:
            failures, self._failures = self._failures, []
            title = "A worker failed" if len(failures) == 1 else f"{len(failures)} workers failed"
            self.notify(
                "\n".join(failures[:3]), title=title, severity="error", markup=False, timeout=8
            )

    @work(exclusive=True, group="poll")
    async def poll_server(self) -> None:
        """Health and vLLM gauges for the status line; a failing server only turns it red."""
        status = await self.app.connection.poll()
        for line in self.query(StatusLine):  # none when the app closed meanwhile
            line.server = status

    @on(ConnectionChanged)
    def _show_connection(self) -> None:
        connection = self.app.connection
        status = self.query_one(StatusLine)
        status.profile = connection.profile_name
        status.model = connection.model.model_name if connection.model is not None else "(no model)"
        self.poll_server()

    # ------------------------------------------------------------------ running

    def action_send(self) -> None:
        after_typed_keys(self, self.query_one(PromptBox).submit)

    @on(PromptBox.Submitted)
    def _submitted(self, event: PromptBox.Submitted) -> None:
        if self.run_in_flight:
            self.notify("A run is in flight: cancel it first (ctrl+g).", severity="warning")
            return
        try:
            options = self.query_one(SystemPicker).options()
        except AgentDeckError as exc:
            self.notify(str(exc), title="Check the parameters", severity="error", markup=False)
            return
        self.start_run(options, event.text, event.attachment)

    def start_run(self, options: RunOptions, prompt: str, attachment: Attachment | None) -> None:
        """Run ``prompt`` with ``options`` in a worker (the one entry point, tests use it too)."""
        model = self.app.connection.model
        if model is None:
            self.notify("Not connected yet: check the profile in settings (F2).", severity="error")
            return
        if not prompt.strip():
            self.notify("The prompt is empty: type something first.", severity="warning")
            return
        text = attachment.text if attachment else None
        live = LiveRun()
        try:
            request = run_request(
                options,
                self.app.settings,
                prompt,
                text,
                listeners=(live, self._collect_failures),
                store=self.app.store,
            )
            system = options.spec.make(model, request)
        except AgentDeckError as exc:
            self.notify(str(exc), title="Cannot run", severity="error", markup=False)
            return
        self._last = (options, prompt, attachment)
        tls = self.app.settings.profile.tls_warning()
        if tls and not self.app.connection.uses_sim:
            self.notify(tls, title="TLS", severity="warning", markup=False)
        self.live, self.system = live, system
        self.query_one(OutputPane).show(live, options.system)
        self.query_one(StatusLine).run_state = "starting"
        self._worker = self.run_prompt(system, request)

    @work(exclusive=True, group="run")
    async def run_prompt(self, system: System, request: RunRequest) -> None:
        """Drive one run; server errors become notifications (and show on their cards)."""
        try:
            await system.run_request(request)
        except AgentDeckError as exc:
            if id(exc) not in self._reported:  # a failed worker's error is shown already
                self.notify(str(exc), title=exc.kind, severity="error", markup=False, timeout=10)
        finally:
            self.flush_frame()
            self._reported.clear()

    @work(exclusive=True, group="run")
    async def retry_one(self, system: _RetriesWorkers, worker_id: str) -> None:
        """Run one failed or cancelled worker of the last multi-call run again."""
        try:
            await system.retry_worker(worker_id)
        except AgentDeckError as exc:
            self.notify(str(exc), title=exc.kind, severity="error", markup=False)
        finally:
            self.flush_frame()

    def _collect_failures(self, event: RunEvent) -> None:
        # Collected here, shown once per frame: 64 failing workers make one notification.
        if type(event) is WorkerFailedEvent and not event.cancelled:
            self._failures.append(f"{event.worker_id}: {event.reason}")
            self._reported.add(id(event.error))
        elif type(event) is ParamsFitted:  # sent once per run
            self.notify(event.note, title="Fitted to the window", markup=False)

    # ------------------------------------------------------------------ worker actions

    def action_cancel_all(self) -> None:
        system = self.system
        if system is None or not self.run_in_flight:
            self.notify("Nothing is running.")
            return
        system.cancel()
        self.notify("Cancelling every worker; partial text is kept.")

    async def cancel_and_wait(self, timeout: float = 5.0) -> None:
        """Cancel the run in flight and wait until its files are closed (used when quitting)."""
        worker, system = self._worker, self.system
        if worker is None or worker.is_finished or system is None:
            return
        system.cancel()
        try:
            await asyncio.wait_for(worker.wait(), timeout)
        except (WorkerCancelled, WorkerFailed):
            pass
        except asyncio.TimeoutError:
            worker.cancel()

    @on(WorkerGrid.CancelRequested)
    def _cancel_one(self, event: WorkerGrid.CancelRequested) -> None:
        self.cancel_worker(event.worker_id)

    def cancel_worker(self, worker_id: str) -> None:
        """Cancel one worker of the run in flight; its partial text is kept."""
        system = self.system
        if system is not None and self.run_in_flight and system.cancel_worker(worker_id):
            self.notify(f"Cancelling {worker_id}.")
        else:
            self.notify(f"{worker_id} is not running.")

    @on(WorkerGrid.CancelAllRequested)
    def _cancel_all(self) -> None:
        self.action_cancel_all()

    @on(WorkerGrid.RetryRequested)
    def _retry(self, event: WorkerGrid.RetryRequested) -> None:
        self.retry_worker(event.worker_id)

    def retry_worker(self, worker_id: str) -> None:
        """Run a failed or cancelled worker again (the whole prompt for single-call agents)."""
        live = self.live
        buf = live.buffers.get(worker_id) if live else None
        if buf is None or buf.state not in (WorkerState.FAILED, WorkerState.CANCELLED):
            self.notify("Only a failed or cancelled worker can be retried.")
        elif self.run_in_flight:
            self.notify("Wait for the run to end before retrying one worker.", severity="warning")
        elif isinstance(self.system, _RetriesWorkers):
            self._worker = self.retry_one(self.system, worker_id)
        elif self._last is not None:
            self.start_run(*self._last)

    def _focused_worker(self) -> str | None:
        live = self.live
        if live is None or not live.order:
            return None
        pane = self.query_one(OutputPane)
        return (pane.grid.focused_worker if pane.view == "grid" else None) or live.order[-1]

    def action_cancel_focused(self) -> None:
        worker_id = self._focused_worker()
        if worker_id is not None:
            self.cancel_worker(worker_id)

    def action_retry_focused(self) -> None:
        worker_id = self._focused_worker()
        if worker_id is not None:
            self.retry_worker(worker_id)

    @on(WorkerGrid.ZoomRequested)
    def _zoom(self, event: WorkerGrid.ZoomRequested) -> None:
        self.zoom(event.worker_id)

    def action_zoom(self) -> None:
        worker_id = self._focused_worker()
        if worker_id is None:
            self.notify("Nothing to zoom into yet.")
            return
        self.zoom(worker_id)

    def zoom(self, worker_id: str) -> None:
        from .zoom import ZoomScreen

        if self.live is not None and worker_id in self.live.buffers:
            self.app.push_screen(ZoomScreen(self.live, worker_id))

    # ------------------------------------------------------------------ editing

    def action_attach(self) -> None:
        self.query_one(PromptBox).open_attach()

    def action_cycle_system(self) -> None:
        self.query_one(SystemPicker).cycle_system()

    def action_new_prompt(self) -> None:
        after_typed_keys(self, self._new_prompt)

    def _new_prompt(self) -> None:
        box = self.query_one(PromptBox)
        box.text = ""
        box.focus_prompt()

    def palette_commands(self) -> Iterable[tuple[str, str, Callable[[], object]]]:
        """Every action of this screen for the command palette."""
        yield "Send prompt", "Run the prompt with the chosen system (ctrl+s, F5)", self.action_send
        yield "Attach file", "Attach a context file or long text (ctrl+o)", self.action_attach
        yield "Next system", f"{_systems()} (ctrl+t)", self.action_cycle_system
        yield "Cancel all", "Cancel every worker of the run (ctrl+g)", self.action_cancel_all
        yield "Zoom", "Full-screen transcript of the focused worker (ctrl+f)", self.action_zoom
        yield "New prompt", "Clear the prompt box (ctrl+n)", self.action_new_prompt
        yield (
            "Cancel worker",
            "Cancel the focused worker (c on the grid)",
            self.action_cancel_focused,
        )
        yield (
            "Retry worker",
            "Run a failed or cancelled worker again (r on the grid)",
            self.action_retry_focused,
        )
