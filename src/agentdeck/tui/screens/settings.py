"""``SettingsScreen``: endpoint profiles, a connection test, and the defaults of every run.

The API key is never displayed: the key field starts empty (typing replaces the saved key) and
the label says where the current key comes from. A key that came from the environment is never
written to the file (``config.save_settings`` keeps env and flag values out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static

from agentdeck.errors import AgentDeckError, ConfigError

from ..app import AgentDeckApp
from ..keyorder import after_typed_keys
from ..settings_form import key_note, ui_num_calls, with_form_values
from ..widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from agentdeck.client.model import BaseModel
    from agentdeck.config.profiles import Profile
    from agentdeck.config.settings import Settings

__all__ = ["SettingsScreen"]

NEW = "\x00new"
"""Select value of the "new profile" entry (cannot clash with a profile name)."""


def _row(label: str, *widgets: Widget, id: str | None = None) -> Horizontal:
    return Horizontal(Label(label, classes="field-label"), *widgets, classes="field", id=id)


def _input_row(label: str, id: str, value: str = "", **options: Any) -> Horizontal:
    """A labelled compact ``Input`` whose id is ``id``."""
    return _row(label, Input(value, id=id, compact=True, **options))


class SettingsScreen(Screen[None]):
    """Edit a profile and the defaults; ctrl+s saves to the config file and reconnects."""

    CSS_PATH = "settings.tcss"
    app = getters.app(AgentDeckApp)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "save", "Save", priority=True),
        # Not ctrl+t: that is "next system" on the main screen (one key, one meaning).
        Binding("ctrl+y", "test_connection", "Test connection", priority=True),
        Binding("ctrl+l", "load_models", "Load models", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._saved_form: dict[str, str] = {}
        """The form as it opened (or last filled): what "modified" compares against."""
        self._warned = False
        """Esc was pressed once with unsaved edits (the next Esc leaves)."""

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        names = [
            (name + (" (built-in simulator)" if p.is_builtin_sim else ""), name)
            for name, p in settings.profiles.items()
        ]
        active = settings.profile
        if active.name not in settings.profiles:  # an endpoint given as --base-url or env
            names.insert(0, (f"{active.name} (from {_url_source(settings)})", active.name))
        names.append(("+ new profile", NEW))
        params = settings.params
        with VerticalScroll(id="form"):
            yield Static("Settings · endpoint profile", classes="section", id="heading")
            yield Static(_in_use(self.app), id="in_use", classes="note", markup=False)
            yield _row(
                "Profile",
                Select(
                    names,
                    compact=True,
                    value=active.name
                    if active.name in settings.profiles or active.name == names[0][1]
                    else names[0][1],
                    allow_blank=False,
                    id="profile",
                ),
            )
            yield _input_row("Name", "name", placeholder="a short name, e.g. gpu1")
            yield _input_row("Base URL", "base_url", placeholder="http://127.0.0.1:8000/v1")
            yield _input_row("Model", "model", placeholder="empty: the server's first model")
            yield _row(
                "",
                Select(
                    [],
                    compact=True,
                    prompt="models on the server (ctrl+l loads them)",
                    id="models",
                ),
            )
            yield _input_row("API key", "api_key", password=True)
            yield Static("", id="key_note", classes="note", markup=False)
            yield _input_row(
                "Key env var", "api_key_env", placeholder="e.g. VLLM_API_KEY (read at start)"
            )
            with Horizontal(classes="buttons"):
                yield Button("Test connection (ctrl+y)", id="test", compact=True)
                yield Button("Load models (ctrl+l)", id="load", compact=True)
            yield Static("", id="test_result", classes="note", markup=False)
            yield Static("Defaults for every run", classes="section")
            yield _input_row(
                "Temperature", "temperature", _fmt(params.temperature),
                type="number", placeholder="server default",
            )
            yield _input_row(
                "Max tokens", "max_tokens", _fmt(params.max_tokens),
                type="integer", placeholder="server default",
            )
            yield _input_row(
                "Multi-call n", "num_calls", str(ui_num_calls(settings)), type="integer"
            )
            yield _input_row("Concurrency", "concurrency", str(settings.concurrency), type="integer")
            with Horizontal(classes="buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="save", compact=True)
                yield Button("Back (Esc)", id="back", compact=True)
            yield Static(_file_note(settings.path), id="file_note", classes="note", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._fill(str(self.query_one("#profile", Select).value))
        self.query_one("#profile", Select).focus()
        self.call_after_refresh(self._remember_form)

    # ------------------------------------------------------------------ modified

    def _form(self) -> dict[str, str]:
        return {str(field.id): field.value for field in self.query(Input)}

    def _remember_form(self) -> None:
        self._saved_form = self._form()
        self._show_modified()

    @property
    def modified(self) -> bool:
        """The form holds edits that are not saved."""
        return bool(self._saved_form) and self._form() != self._saved_form

    @on(Input.Changed)
    def _show_modified(self) -> None:
        self._warned = False
        heading = "Settings · endpoint profile" + (" · modified (ctrl+s saves)"
                                                   if self.modified else "")
        self.query_one("#heading", Static).update(heading)

    def action_back(self) -> None:
        """Leave; with unsaved edits, say so first (a second Esc leaves without saving)."""
        if self.modified and not self._warned:
            self._warned = True
            self.notify("Unsaved changes: ctrl+s saves them, Esc again leaves without saving.",
                        title="Not saved", severity="warning")
            return
        self.app.pop_screen()

    # ------------------------------------------------------------------ form <-> profile

    def _profile(self, name: str) -> Profile | None:
        """The profile ``name``; the active one as in use (flags and environment laid over)."""
        settings = self.app.settings
        return settings.profile if name == settings.profile.name else settings.profiles.get(name)

    def _fill(self, name: str) -> None:
        profile = self._profile(name)
        builtin = profile is not None and profile.is_builtin_sim
        values = {
            "name": "" if profile is None else profile.name,
            "base_url": (profile.base_url or "") if profile else "",
            "model": (profile.model or "") if profile else "",
            "api_key_env": (profile.api_key_env or "") if profile else "",
        }
        for key, value in values.items():
            field = self.query_one(f"#{key}", Input)
            field.value = value
            field.disabled = builtin
        key_field = self.query_one("#api_key", Input)
        key_field.value = ""
        key_field.disabled = builtin
        self.query_one("#name", Input).disabled = builtin or profile is not None
        self.query_one("#key_note", Static).update(key_note(profile))
        self.query_one("#test_result", Static).update(
            "The built-in simulator runs inside the app; add a profile for a real server."
            if builtin
            else ""
        )

    @on(Select.Changed, "#profile")
    def _profile_changed(self, event: Select.Changed) -> None:
        self._fill(str(event.value))
        self.call_after_refresh(self._remember_form)  # another profile is not an edit

    @on(Select.Changed, "#models")
    def _model_picked(self, event: Select.Changed) -> None:
        if not event.select.is_blank():
            self.query_one("#model", Input).value = str(event.value)

    def _field(self, key: str) -> str:
        return self.query_one(f"#{key}", Input).value.strip()

    def _edited_profile(self) -> Profile:
        """The profile as the form describes it, or None for the built-in simulator."""
        from agentdeck.config.settings import Profile

        chosen = str(self.query_one("#profile", Select).value)
        old = self._profile(chosen)
        if old is not None and old.is_builtin_sim:
            return old
        name = self._field("name")
        if not name:
            raise ConfigError("give the new profile a name", key="name")
        if old is None and name in self.app.settings.profiles:
            raise ConfigError(f"a profile named {name!r} exists already", key="name")
        changes: dict[str, str | None] = {
            "base_url": self._field("base_url") or None,
            "model": self._field("model") or None,
            "api_key_env": self._field("api_key_env") or None,
        }
        if not changes["base_url"]:
            raise ConfigError(
                "a profile needs a base URL, e.g. http://127.0.0.1:8000/v1", key="base_url"
            )
        typed_key = self.query_one("#api_key", Input).value
        if typed_key:
            changes["api_key"] = typed_key
        base = old if old is not None else Profile(name=name)
        changed = {k: v for k, v in changes.items() if v != getattr(base, k)}
        return base.edited(**changed) if changed else base

    # ------------------------------------------------------------------ actions

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "test": self.action_test_connection,
            "load": self.action_load_models,
            "save": self.action_save,
            "back": self.action_back,
        }
        actions[str(event.button.id)]()

    def action_test_connection(self) -> None:
        after_typed_keys(self, lambda: self.test_connection(load_only=False))

    def action_load_models(self) -> None:
        after_typed_keys(self, lambda: self.test_connection(load_only=True))

    @work(exclusive=True, group="settings-test")
    async def test_connection(self, load_only: bool) -> None:
        """Health, latency and the served models of the profile in the form."""
        from agentdeck.connect import connect

        result = self.query_one("#test_result", Static)
        try:
            profile = self._edited_profile()
        except AgentDeckError as exc:
            result.update(f"✕ {exc}")
            return
        result.update("testing…")
        running = self.app.model if self.app.connection.uses_sim else None
        try:
            if profile.is_builtin_sim and running is not None:  # the one the app runs
                latency, names = await _probe(running)
            else:  # as a run would connect: the profile's timeouts, retries, TLS and key
                settings = replace(self.app.settings, profile=profile)
                async with connect(settings) as conn:
                    latency, names = await _probe(conn.model)
        except AgentDeckError as exc:
            result.update(f"✕ {exc.kind}: {exc}")
            return
        models = self.query_one("#models", Select)
        models.set_options([(name, name) for name in names])
        listed = f"{len(names)} model{'s' if len(names) != 1 else ''}: {', '.join(names[:5])}"
        health = f"✓ healthy · {latency * 1000:.0f} ms · "
        result.update(f"✓ {listed}" if load_only else health + listed)

    def action_save(self) -> None:
        after_typed_keys(self, self._save)

    def _save(self) -> None:
        """Write the file, read it back and reconnect with what it now says."""
        from agentdeck.config.file import backup_path, hand_edited
        from agentdeck.config.settings import load_settings, save_settings

        settings = self.app.settings
        if self.app.run_in_flight:
            # Reconnecting closes the connections the run streams through.
            self.notify(
                "A run is in flight: wait for it or cancel it (ctrl+g) before saving.",
                severity="warning",
            )
            return
        try:
            profile = self._edited_profile()
            updated = with_form_values(
                settings,
                profile,
                temperature=self._field("temperature"),
                max_tokens=self._field("max_tokens"),
                num_calls=self._field("num_calls"),
                concurrency=self._field("concurrency"),
            )
            edited = hand_edited(Path(updated.path))
            path = save_settings(updated)
            reloaded = load_settings(path=path)
        except AgentDeckError as exc:
            self.notify(str(exc), title="Not saved", severity="error", markup=False, timeout=10)
            self.query_one("#file_note", Static).update(f"Not saved: {exc}")
            return
        self._saved_form = self._form()
        kept = f"\nYour comments and layout are kept in {backup_path(path)}" if edited else ""
        self.notify(f"Saved to {path}{kept}", title="Settings", markup=False, timeout=8)
        if reloaded.profile.name != profile.name:
            self.notify(
                f"The environment or flags select profile {reloaded.profile.name!r}; "
                "it stays active",
                severity="warning",
                markup=False,
            )
        self.app.reconnect(reloaded)
        self.app.pop_screen()

    def palette_commands(self) -> Iterable[tuple[str, str, Callable[[], object]]]:
        yield "Save settings", "Write the config file and reconnect (ctrl+s)", self.action_save
        yield "Test connection", "Health, latency and models (ctrl+y)", self.action_test_connection
        yield (
            "Load models",
            "Fill the model list from the server (ctrl+l)",
            self.action_load_models,
        )
        yield "Back", "Leave (Esc; asks first when the form has unsaved edits)", self.action_back


async def _probe(model: BaseModel) -> tuple[float, list[str]]:
    """Seconds of a health check and the names of the models ``model``'s server lists."""
    from agentdeck.connect import measure_latency, model_ids

    return await measure_latency(model), model_ids(await model.list_models())


def _fmt(value: object) -> str:
    return "" if value is None else str(value)


def _file_note(path: Path | str) -> str:
    """Where ctrl+s writes, said truthfully before anything is saved."""
    path = Path(path)
    return f"ctrl+s saves to {path}" + ("" if path.exists() else " (not written yet)")


def _url_source(settings: Settings) -> str:
    source = settings.source.get("base_url", "")
    return "--base-url" if source == "flag" else source.removeprefix("env ") or "the command line"


def _in_use(app: AgentDeckApp) -> str:
    """The endpoint and model the app talks to now, and where the URL came from."""
    from ..widgets.status_line import endpoint_text

    connection = app.connection
    model = connection.model.model_name if connection.model is not None else "not connected"
    how = " (the server's first)" if connection.picked_first else ""
    source = app.settings.source.get("base_url", "")
    came = f" (from {_url_source(app.settings)})" if source == "flag" or source.startswith(
        "env") else ""
    return f"In use: {endpoint_text(connection)}{came} · model {model}{how}"
