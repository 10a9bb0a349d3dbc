"""``AgentDeckApp``: owns the settings, the connection and the run store; screens do the rest."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from agentdeck.connect import Connection
from agentdeck.errors import AgentDeckError

from .messages import ConnectionChanged

if TYPE_CHECKING:
    from agentdeck.client.model import BaseModel
    from agentdeck.config.settings import Settings
    from agentdeck.sim import SimConfig
    from agentdeck.store.runs import RunStore

__all__ = ["AgentDeckApp"]


def _lay_out(screen: Screen) -> Screen:
    """``screen`` with its layout brought up to date now.

    Textual orders the focus chain by where widgets are drawn: a field shown by a key read in
    the same burst (ctrl+t to Multi-call shows n) has no place yet until the next layout, and
    Tab would skip it.
    """
    screen._refresh_layout()
    return screen


def _keeps_tab(screen: Screen) -> bool:
    """True on Textual's own modal screens (the command palette), which handle Tab."""
    return type(screen).__module__.startswith("textual.")


class AgentDeckApp(App[int]):
    """The agentdeck terminal app. ``run_app`` is the way in."""

    CSS_PATH = "app.tcss"
    TITLE = "agentdeck"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "toggle_help", "Help", priority=True),
        # Not a priority binding: typed into a text field, "?" is text.
        Binding("question_mark", "toggle_help", "Help", show=False),
        Binding("escape", "hide_help", "Close help", show=False, priority=True),
        # Priority: focus moves when the key is read, so the keys read after it in one burst
        # (a paste, a slow SSH link: "64", Tab, "32") go to the field it moved to.
        Binding("tab", "focus_next_now", "Next field", show=False, priority=True),
        Binding("shift+tab", "focus_previous_now", "Previous field", show=False,
                priority=True),
        Binding("f8", "stats", "Stats"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        demo: bool = False,
        store: RunStore | None = None,
        sim_config: SimConfig | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        """The settings in force; replaced (never mutated) when the settings screen saves."""
        self.connection = Connection(settings, demo=demo, sim_config=sim_config)
        """The model (and the simulator in demo mode) for the settings in force."""
        if store is None:
            from agentdeck.store.runs import RunStore

            store = RunStore()
        self.store = store
        """Where every run is recorded; the history screen reads it."""

    @property
    def model(self) -> BaseModel | None:
        """The connected model; None before the first connection and after a failed one."""
        return self.connection.model

    async def on_mount(self) -> None:
        from agentdeck.systems.plugins import discover

        from .screens.main import MainScreen

        problems = discover()  # before the picker is built: it lists the plugins too

        sixteen = not self.is_headless and self.console.color_system in ("standard", "windows")
        if self.ansi_color or sixteen:
            # A 16-colour terminal: draw with its own palette instead of approximating RGB.
            self.theme = "ansi-dark"
        elif self.settings.ui.theme in self.available_themes:
            self.theme = self.settings.ui.theme
        from .prefs import follow_theme

        follow_theme(self)  # a theme picked from now on is saved to config.toml
        await self.push_screen(MainScreen())
        for warning in self.settings.warnings:
            self.notify(warning, title="Settings", severity="warning", markup=False, timeout=10)
        for problem in problems:
            self.notify(str(problem), title="Plugin not loaded", severity="warning", markup=False,
                        timeout=10)
        self.reconnect()

    def reconnect(self, settings: Settings | None = None) -> None:
        """Connect (again) in the background; the main screen shows progress in its status.

        New ``settings`` come from the settings screen: the user chose a profile, so demo mode
        (``--demo``) ends and the profile's server is used (the simulator, if that profile is).
        """
        if settings is not None:
            self.connection.demo = False
        self.run_worker(self._connect(settings), group="connect", exclusive=True)

    async def _connect(self, settings: Settings | None) -> None:
        try:
            await self.connection.open(settings)
        except AgentDeckError as exc:
            self.notify(
                str(exc),
                title=f"Cannot connect: {exc.kind}",
                severity="error",
                markup=False,
                timeout=10,
            )
        if settings is not None:
            self.settings = settings
        for screen in self.screen_stack:
            screen.post_message(ConnectionChanged())

    async def on_unmount(self) -> None:
        await self.connection.close()

    @property
    def run_in_flight(self) -> bool:
        """True while the main screen drives a run."""
        from .screens.main import MainScreen

        return any(s.run_in_flight for s in self.screen_stack if isinstance(s, MainScreen))

    # ------------------------------------------------------------------ quitting

    async def action_quit(self) -> None:
        """Quit; with runs in flight ask first, then cancel them (partial text is kept)."""
        from .screens.main import MainScreen
        from .screens.quit import QuitScreen

        main = next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)
        if isinstance(self.screen, QuitScreen):
            return
        if main is None or not main.run_in_flight or not self.settings.ui.confirm_quit:
            if main is not None:
                await main.cancel_and_wait()
            self.exit(0)
            return

        async def decided(confirmed: bool | None) -> None:
            if confirmed:
                await main.cancel_and_wait()
                self.exit(0)

        self.push_screen(QuitScreen(main.in_flight_summary(), main.cancel_now), decided)

    # ------------------------------------------------------------------ screens + palette

    def action_settings(self) -> None:
        from .screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

    def action_stats(self) -> None:
        """Open or close the stats panel of the screen on top (the main screen, a past run)."""
        from .widgets.output_pane import OutputPane
        from .widgets.stats_panel import BESIDE, StatsPanel

        screen = self.screen
        for panel in screen.query(StatsPanel):
            panel.shown = not panel.shown
            screen.set_class(panel.shown, "-stats")
            focused = screen.focused
            if panel.shown:
                # Below BESIDE columns the panel takes the output's place: focus goes with it
                # (it was left on a hidden widget), and comes back when it closes.
                hidden = focused is None or any(isinstance(w, OutputPane)
                                                for w in focused.ancestors_with_self)
                if hidden and screen.size.width < BESIDE:
                    panel.focus_back = focused
                    panel.focus()
            elif panel.has_focus:
                back, panel.focus_back = panel.focus_back, None
                if back is not None and back.is_attached:
                    back.focus()
                else:
                    screen.focus_next()

    # ------------------------------------------------------------------ keys + help

    def action_focus_next_now(self) -> None:
        _lay_out(self.screen).focus_next()

    def action_focus_previous_now(self) -> None:
        _lay_out(self.screen).focus_previous()

    def action_toggle_help(self) -> None:
        """F1 (anywhere) or ? (outside a text field) opens the key panel, and closes it."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_hide_help(self) -> None:
        self.action_hide_help_panel()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "hide_help":  # Esc closes the panel; without one it keeps its meaning
            return bool(self.screen.query("HelpPanel"))
        if action in ("focus_next_now", "focus_previous_now"):
            # A screen whose widget takes Tab itself (the command palette's list) keeps it.
            return not _keeps_tab(self.screen)
        if action == "stats":  # only where there is a panel (hidden from other footers)
            from .widgets.stats_panel import StatsPanel

            return bool(self.screen.query(StatsPanel))
        return True

    def action_history(self) -> None:
        from .screens.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action of the current screen plus the app's, so the palette lists them all."""
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Settings", "Endpoint profiles and defaults (F2)", self.action_settings
        )
        yield SystemCommand("History", "Past runs from the run store (F3)", self.action_history)
        if self.check_action("stats", ()):
            yield SystemCommand("Stats", "Show or hide the run's figures and live charts (F8)",
                                self.action_stats)
        commands = getattr(screen, "palette_commands", None)
        if commands is not None:
            for title, help_text, callback in commands():
                yield SystemCommand(title, help_text, callback)
