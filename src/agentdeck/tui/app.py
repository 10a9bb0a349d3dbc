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


class AgentDeckApp(App[int]):
    """The agentdeck terminal app. ``run_app`` is the way in."""

    CSS_PATH = "app.tcss"
    TITLE = "agentdeck"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "show_help_panel", "Keys", show=False),
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
        from .screens.main import MainScreen

        sixteen = not self.is_headless and self.console.color_system in ("standard", "windows")
        if self.ansi_color or sixteen:
            # A 16-colour terminal: draw with its own palette instead of approximating RGB.
            self.theme = "ansi-dark"
        elif self.settings.ui.theme in self.available_themes:
            self.theme = self.settings.ui.theme
        await self.push_screen(MainScreen())
        for warning in self.settings.warnings:
            self.notify(warning, title="Settings", severity="warning", markup=False, timeout=10)
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

        self.push_screen(QuitScreen(main.in_flight_summary()), decided)

    # ------------------------------------------------------------------ screens + palette

    def action_settings(self) -> None:
        from .screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

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
        commands = getattr(screen, "palette_commands", None)
        if commands is not None:
            for title, help_text, callback in commands():
                yield SystemCommand(title, help_text, callback)
