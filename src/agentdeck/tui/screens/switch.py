"""Quick switches from the main screen: another endpoint profile, another served model.

``pick_profile`` lists the profiles of the settings (and the built-in simulator);
``pick_model`` asks the connected server which models it serves. Either way the app
reconnects with the choice for this session; F2 saves a profile for good.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from agentdeck.errors import AgentDeckError

if TYPE_CHECKING:
    from ..app import AgentDeckApp

__all__ = ["ChoiceScreen", "pick_model", "pick_profile"]


class ChoiceScreen(ModalScreen[str | None]):
    """A titled list; Enter picks (dismisses with the choice), Esc keeps the current one."""

    CSS_PATH = "switch.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Keep")]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str | None,
                 note: str = "") -> None:
        super().__init__()
        self.title_text, self.choices, self.current, self.note = title, choices, current, note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="question", markup=False)
            options = [Option(("● " if key == self.current else "  ") + label, id=key)
                       for key, label in self.choices]
            yield OptionList(*options, id="choices", markup=False)
            if self.note:
                yield Label(self.note, classes="note", markup=False)

    def on_mount(self) -> None:
        choices = self.query_one(OptionList)
        keys = [key for key, _ in self.choices]
        if self.current in keys:
            choices.highlighted = keys.index(self.current)
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _busy(app: AgentDeckApp) -> bool:
    if app.run_in_flight:  # reconnecting closes the connections the run streams through
        app.notify("A run is in flight: wait for it or cancel it (ctrl+g) first.",
                   severity="warning")
        return True
    return False


def pick_profile(app: AgentDeckApp) -> None:
    """Choose the endpoint profile for this session."""
    from agentdeck.config.settings import load_settings

    if _busy(app):
        return
    settings = app.settings
    names = list(settings.profiles)
    choices = [(name, f"{name}  ·  {profile.base_url or 'built-in simulator'}"
                      + (f"  ·  {profile.model}" if profile.model else ""))
               for name, profile in settings.profiles.items()]

    def chosen(name: str | None) -> None:
        if name is None or name not in names:
            return
        try:
            new = load_settings({"profile": name})
        except AgentDeckError as exc:
            app.notify(str(exc), title="Cannot use that profile", severity="error",
                       markup=False)
            return
        app.reconnect(new)
        app.notify(f"Connecting with profile {name}; F2 makes it the default.",
                   title="Profile", markup=False)

    app.push_screen(ChoiceScreen("Endpoint profile", choices, app.connection.profile_name,
                                 "F2 adds or edits profiles."), chosen)


def pick_model(app: AgentDeckApp) -> None:
    """Choose one of the models the connected server lists (asked in the background)."""
    if _busy(app):
        return
    model = app.model
    if model is None:
        app.notify("Not connected yet: check the profile in settings (F2).", severity="error")
        return

    async def listed() -> None:
        from agentdeck.connect import model_ids

        try:
            names = model_ids(await model.list_models())
        except AgentDeckError as exc:
            app.notify(str(exc), title="Cannot list the models", severity="error",
                       markup=False)
            return
        if not names:
            app.notify("The server lists no models.", severity="warning")
            return

        def chosen(name: str | None) -> None:
            if name is None or name == model.model_name:
                return
            settings = app.settings
            app.reconnect(replace(settings, profile=replace(settings.profile, model=name)))
            app.notify(f"Connecting with model {name}.", title="Model", markup=False)

        app.push_screen(ChoiceScreen("Model", [(n, n) for n in names], model.model_name,
                                     f"Served by {getattr(model, 'base_url', 'the server')}"),
                        chosen)

    app.run_worker(listed(), group="list-models", exclusive=True)

