"""``MainScreen``: prompt, system picker, live output and status; it owns the run in flight."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.worker import Worker

from agentdeck.errors import AgentDeckError
from agentdeck.events import ParamsFitted, RunEvent
from agentdeck.events import WorkerFailed as WorkerFailedEvent
from agentdeck.state import WorkerState
from agentdeck.systems import registry
from agentdeck.systems.registry import RunRequest, System

from ..app import AgentDeckApp
from ..keyorder import after_typed_keys
from ..live import LiveRun
from ..messages import ConnectionChanged
from ..prefs import remember_picks, restore_picks
from ..runner import RunOptions, make_system, run_request
from ..widgets.key_footer import KeyFooter
from ..widgets.more_params import MoreParams
from ..widgets.output_pane import OutputPane
from ..widgets.prompt_box import Attachment, PromptBox
from ..widgets.stats_panel import BESIDE, StatsPanel
from ..widgets.status_line import StatusLine, endpoint_text
from ..widgets.system_picker import SystemPicker
from .main_workers import WorkerActions
from .switch import pick_model, pick_profile

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
    "ctrl+t picks the system ({systems}), ctrl+o attaches a text file (a context or a long "
    "text), F2 opens settings, F3 the history of past runs, F1 or ? every key."
)
"""The empty output pane's text; ``{systems}`` lists the registry's systems."""


def _systems() -> str:
    """The systems' labels, in picker order: "Basic, Context, ..."."""
    return ", ".join(spec.label for spec in registry.specs())


def _group_summary(system: System) -> Callable[[str], dict[str, Any] | None]:
    """Each target's live run summary (compare's ``target_summaries``), as the headers ask."""

    def snapshot(key: str) -> dict[str, Any] | None:
        summary = (getattr(system, "target_summaries", None) or {}).get(key)
        return summary.snapshot() if summary is not None else None

    return snapshot


class MainScreen(WorkerActions):
    """The screen the app opens on."""

    CSS_PATH = "main.tcss"
    app = getters.app(AgentDeckApp)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s,f5", "send", "Send", priority=True, key_display="^s"),
        Binding("ctrl+o", "attach", "Attach", priority=True, key_display="^o"),
        Binding("ctrl+t,f4", "cycle_system", "System", priority=True, key_display="^t"),
        Binding("ctrl+g", "cancel_all", "Cancel run", priority=True, key_display="^g"),
        Binding("ctrl+f", "zoom", "Zoom", priority=True, show=False),
        Binding("ctrl+n", "new_prompt", "New prompt", priority=True, show=False),
        Binding("f2", "app.settings", "Settings"),
        Binding("f3", "app.history", "History"),
        # F6 goes round the panes from anywhere (a text field too), the convention of
        # browsers and file managers: prompt, fields, output. Esc in the output returns to the
        # prompt. (Not alt+digits: Textual reads ESC 1 as "¡", a macOS option character.)
        Binding("f6", "next_pane(1)", "Next pane", show=False, priority=True),
        Binding("shift+f6", "next_pane(-1)", "Previous pane", show=False, priority=True),
        Binding("escape", "back_to_prompt", "Prompt", show=False, priority=True),
        # Quick switches (issue 15): the "more" row, the model, the endpoint profile. Function
        # keys, not alt+letters: a terminal sends alt+p as ESC p, so Esc (back to the prompt)
        # typed just before p read as alt+p and opened a switcher.
        Binding("f7", "toggle_more", "More", show=False, priority=True),
        Binding("f9", "pick_model", "Model", show=False, priority=True),
        Binding("shift+f9", "pick_profile", "Profile", show=False, priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.live: LiveRun | None = None
        """The current (or last) run's buffers."""
        self.system: System | None = None
        """The current (or last) agent or system; kept after the run for retries."""
        self._worker: Worker[None] | None = None
        self._frames = 0
        self._frame_timer: Timer | None = None
        self._last: tuple[RunOptions, str, Attachment | None] | None = None
        self._failures: list[str] = []
        self._reported: set[int] = set()  # ids of errors already shown, so none shows twice

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        yield StatusLine(id="status")
        yield PromptBox(id="prompt")
        yield SystemPicker(RunOptions.from_settings(settings), id="picker")
        yield MoreParams(id="more")
        with Horizontal(id="body"):
            yield OutputPane(id="output", empty_text=EMPTY.format(systems=_systems()))
            yield StatsPanel(id="stats")
        yield KeyFooter()

    def on_mount(self) -> None:
        # The ~100k objects the app is made of (modules, classes, widgets) live as long as it
        # does; frozen, the collector stops walking them on every full collection (measured
        # while one answer streamed: pauses of 60-120 ms, the key-to-paint p99, gone).
        gc.freeze()
        self.set_interval(POLL, self.poll_server)
        self._show_connection()
        restore_picks(self)
        self.query_one(PromptBox).focus_prompt()

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "-wide")
        self.set_class(self.size.width >= BESIDE, "-roomy")  # room for the stats beside

    # ------------------------------------------------------------------ frame + poll

    def _frame(self) -> None:
        """The frame timer: flush, then wait one frame interval (longer under heavy load).
        It sleeps once the run has ended and its last change is shown (nothing to recompute
        20 times a second); a run or a retry starting wakes it (``wake_frames``)."""
        self._frame_timer = None
        try:
            self.flush_frame()
        finally:
            live = self.live
            if live is not None and (self.run_in_flight or live.dirty):
                self._frame_timer = self.set_timer(self._frame_interval(), self._frame)
            elif live is not None and self.is_attached:
                self._show_status(live)  # the last word before sleeping

    def wake_frames(self) -> None:
        """Start the frame timer again (a run or a retry started)."""
        if self._frame_timer is None:
            self._frame_timer = self.set_timer(FRAME, self._frame)

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
            self._show_status(live)
        if self._failures:
            failures, self._failures = self._failures, []
            title = "A worker failed" if len(failures) == 1 else f"{len(failures)} workers failed"
            self.notify(
                "\n".join(failures[:3]), title=title, severity="error", markup=False, timeout=8
            )

    def _show_status(self, live: LiveRun) -> None:
        status = self.query_one(StatusLine)
        status.run_state = live.state_text()
        status.figures = live.figures()

    @work(exclusive=True, group="poll")
    async def poll_server(self) -> None:
        """Health and vLLM gauges for the status line; a failing server only turns it red."""
        status = await self.app.connection.poll()
        for line in self.query(StatusLine):  # none when the app closed meanwhile
            line.server = status
            self.query_one(StatsPanel).add_gauges(status)

    @on(ConnectionChanged)
    def _show_connection(self) -> None:
        connection = self.app.connection
        status = self.query_one(StatusLine)
        status.profile = connection.profile_name
        status.model = connection.model.model_name if connection.model is not None else "(no model)"
        status.endpoint = endpoint_text(connection)
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
            options = self.query_one(MoreParams).apply(self.query_one(SystemPicker).options())
        except AgentDeckError as exc:
            self.notify(str(exc), title="Check the parameters", severity="error", markup=False)
            return
        self.start_run(options, event.text, event.attachment)
        if self.run_in_flight:
            remember_picks(self)
        if self.run_in_flight:  # its keys (t, c, r, Enter) work at once; Esc returns here
            self.query_one(OutputPane).focus_output()

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
            system = make_system(options, model, request)
        except AgentDeckError as exc:
            self.notify(str(exc), title="Cannot run", severity="error", markup=False)
            return
        self._last = (options, prompt, attachment)
        if attachment is not None and options.spec.attachment.need == "none":
            self.notify(f"{options.spec.label} does not read the attached file "
                        f"{attachment.path.name}: it gets the prompt only.",
                        title="Attachment not used", severity="warning", markup=False)
        tls = self.app.settings.profile.tls_warning()
        if tls and not self.app.connection.uses_sim:
            self.notify(tls, title="TLS", severity="warning", markup=False)
        self.live, self.system = live, system
        self.query_one(StatsPanel).system = system
        self.query_one(OutputPane).show(live, options.system, _group_summary(system))
        status = self.query_one(StatusLine)
        status.run_state, status.figures = "starting", ""  # nothing of the last run stays
        self._worker = self.run_prompt(system, request)
        self.wake_frames()

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

    def _collect_failures(self, event: RunEvent) -> None:
        # Collected here, shown once per frame: 64 failing workers make one notification.
        if type(event) is WorkerFailedEvent and not event.cancelled:
            self._failures.append(f"{event.worker_id}: {event.reason}")
            self._reported.add(id(event.error))
        elif type(event) is ParamsFitted:  # sent once per run
            self.notify(event.note, title="Fitted to the window", markup=False)

    # ------------------------------------------------------------------ editing

    def action_attach(self) -> None:
        self.query_one(PromptBox).open_attach()

    def action_cycle_system(self) -> None:
        self.query_one(SystemPicker).cycle_system()

    @on(SystemPicker.Changed)
    def _system_changed(self, event: SystemPicker.Changed) -> None:
        spec = registry.find(event.system)
        ignores = spec is not None and spec.attachment.need == "none"
        self.query_one(PromptBox).ignored_by = spec.label if spec is not None and ignores else ""

    def action_focus_pane(self, pane: str) -> None:
        """Move focus to the prompt, the first field or the output.

        At once (a priority key): keys read before it are queued in the widget they were
        typed into already, and the keys read after it go to the pane it moved to.
        """
        output = self.query_one(OutputPane)
        if pane == "prompt":
            box = self.query_one(PromptBox)
            box.focus_prompt()
            target = box.query_one("#prompt-input")
        elif pane == "picker":
            target = self.query_one("#system")
        elif output.view == "empty":
            self.notify("Nothing to show yet: send a prompt first.")
            return
        else:
            target = output.stream if output.view == "stream" else output.query_one(
                f"#{output.view}")
        # Not ``focus()``: it moves focus a loop turn later, after the keys read with this one.
        self.set_focus(target)

    def action_new_prompt(self) -> None:
        after_typed_keys(self, self._new_prompt)

    def load_choices(self, options: RunOptions, prompt: str) -> None:
        """Fill the picker and the prompt (a past run's, to run again); nothing is sent."""
        self.query_one(SystemPicker).load(options)
        self.query_one(MoreParams).load_options(options)
        box = self.query_one(PromptBox)
        box.text = prompt
        box.focus_prompt()

    def _new_prompt(self) -> None:
        box = self.query_one(PromptBox)
        box.text = ""
        box.focus_prompt()

    def action_toggle_more(self) -> None:
        self.query_one(MoreParams).toggle()

    def action_pick_profile(self) -> None:
        pick_profile(self.app)

    def action_pick_model(self) -> None:
        pick_model(self.app)

    def action_next_pane(self, step: int) -> None:
        panes = ["prompt", "picker"]
        if self.query_one(OutputPane).view != "empty":
            panes.append("output")
        around = self.focused.ancestors_with_self if self.focused is not None else []
        at = next((i for i, pane in enumerate((PromptBox, SystemPicker, OutputPane))
                   if any(isinstance(node, pane) for node in around)), -1)
        self.action_focus_pane(panes[(at + step) % len(panes)] if at >= 0 else "prompt")

    def action_back_to_prompt(self) -> None:
        self.action_focus_pane("prompt")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back_to_prompt":  # Esc elsewhere keeps its own meaning (close a list)
            return self.query_one(OutputPane).has_focus_within
        return True

    def palette_commands(self) -> Iterable[tuple[str, str, Callable[[], object]]]:
        """Every action of this screen for the command palette."""
        yield "More parameters", "System prompt, top_p, seed, stop (F7)", \
            self.action_toggle_more
        yield "Switch profile", "Connect with another endpoint profile (shift+F9)", \
            self.action_pick_profile
        yield "Switch model", "Use another model the server serves (F9)", \
            self.action_pick_model
        yield "Send prompt", "Run the prompt with the chosen system (ctrl+s, F5)", self.action_send
        yield "Attach file", "Attach a text file by its path: a context or a long text (ctrl+o)", self.action_attach
        yield "Next system", f"{_systems()} (ctrl+t)", self.action_cycle_system
        yield "Cancel all", "Cancel every worker of the run (ctrl+g)", self.action_cancel_all
        yield "Zoom", "Full-screen transcript of the focused worker (ctrl+f)", self.action_zoom
        yield "New prompt", "Clear the prompt box (ctrl+n)", self.action_new_prompt
        yield "Go to prompt", "Focus the prompt (F6 goes round; Esc from the output)", \
            lambda: self.action_focus_pane("prompt")
        yield "Go to fields", "Focus the system and its fields (F6 goes round)", \
            lambda: self.action_focus_pane("picker")
        yield "Go to output", "Focus the output: cards, table, stream (F6 goes round)", \
            lambda: self.action_focus_pane("output")
        yield ("Cancel worker", "Cancel the focused worker (c on the grid)",
               self.action_cancel_focused)
        yield ("Retry worker", "Run a failed or cancelled worker again (r on the grid)",
               self.action_retry_focused)
