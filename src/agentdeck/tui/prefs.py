"""What the app keeps for the user: the theme picked in the palette (``config.toml``), the
prompts sent and the last system with its fields (the data folder, ``store.app_state``)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agentdeck.errors import AgentDeckError
from agentdeck.store.app_state import load_picks, save_picks
from agentdeck.systems import registry

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.theme import Theme

    from .app import AgentDeckApp

__all__ = ["follow_theme", "remember_picks", "restore_picks"]

_KEPT_FIELDS = ("temperature", "max_tokens", "num_calls", "concurrency", "rounds", "aggregate")


def follow_theme(app: AgentDeckApp) -> None:
    """From now on, write the theme the user picks into ``[ui] theme`` of the config file.

    Called once the app set its starting theme: that one (the file's, or ``ansi-dark`` on a
    16-colour terminal) is not a choice and is not written.
    """
    start = app.theme

    def changed(theme: Theme) -> None:
        nonlocal start
        if theme.name == start:
            start = ""  # the starting theme's own change notice; a later pick of it saves
            return
        start = ""
        settings = app.settings
        if theme.name == settings.ui.theme:
            return
        from agentdeck.config.settings import save_ui

        try:
            path = save_ui({"theme": theme.name}, settings.path)
        except AgentDeckError as exc:
            app.notify(str(exc), title="Theme not saved", severity="warning", markup=False)
            return
        app.settings = replace(settings, ui=replace(settings.ui, theme=theme.name))
        app.notify(f"Theme {theme.name} saved to {path}", title="Theme", markup=False,
                   timeout=4)

    app.theme_changed_signal.subscribe(app, changed)


def _fields(screen: Screen[Any]) -> tuple[str, dict[str, str]]:
    from textual.widgets import Input, Select

    from .widgets.system_picker import SystemPicker

    picker = screen.query_one(SystemPicker)
    values: dict[str, str] = {}
    for name in _KEPT_FIELDS:
        for widget in picker.query(f"#{name}"):
            if isinstance(widget, Input):
                values[name] = widget.value
            elif isinstance(widget, Select):
                values[name] = str(widget.value)
    return picker.system, values


def remember_picks(screen: Screen[Any]) -> None:
    """Save the system and its fields as the last used (called when a prompt is sent)."""
    system, values = _fields(screen)
    save_picks(system, values)


def restore_picks(screen: Screen[Any]) -> None:
    """Pick the last used system with its fields, as saved by ``remember_picks``."""
    from textual.widgets import Input, Select
    from textual.widgets.select import InvalidSelectValueError

    from .widgets.system_picker import SystemPicker

    doc = load_picks()
    system = doc.get("system")
    if not isinstance(system, str) or registry.find(system) is None:
        return
    picker = screen.query_one(SystemPicker)
    picker.system = system
    saved = (doc.get("fields") or {}).get(system)
    if not isinstance(saved, dict):
        return
    for name, value in saved.items():
        if name not in _KEPT_FIELDS or not isinstance(value, str):
            continue
        for widget in picker.query(f"#{name}"):
            if isinstance(widget, Input):
                widget.value = value
            elif isinstance(widget, Select) and value:
                with contextlib.suppress(InvalidSelectValueError):  # a mode no longer offered
                    widget.value = value
