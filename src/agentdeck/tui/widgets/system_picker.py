"""``SystemPicker``: which system runs next and with what parameters, one compact row.

The systems, and which fields each shows (calls, rounds, aggregation) with their defaults, come
from the registry of systems: a registered system appears here with the fields it declares.
Picking a system fills n and rounds with what it declares (n: the user's ``[ui] num_calls``
when its limits take it). Its other options (``SystemSpec.options``) have no field here: runs
from the app take their defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select

from agentdeck.errors import InputError
from agentdeck.systems import registry

from ..runner import RunOptions

__all__ = ["SystemPicker"]

_FIELDS = (
    # (id, label, width, tooltip; None: made from the systems that declare the input)
    ("temperature", "temp", 5, "Sampling temperature (0-2); empty = server default"),
    ("max_tokens", "max", 7, "Max tokens per call; empty = server default"),
    ("num_calls", "n", 4, None),
    ("concurrency", "conc", 4, "Concurrency cap: most requests in flight at once; empty = all"),
    ("rounds", "rounds", 3, None),
)
_DECLARED = {"num_calls": "calls", "rounds": "rounds", "aggregate": "aggregate"}
"""Picker field -> the spec input that shows it."""


def _tooltip(name: str) -> str:
    """What a declared field means to each system that has it: "Multi-call: number of calls"."""
    attr = _DECLARED[name]
    return "; ".join(f"{spec.label}: {getattr(spec, attr).title}" for spec in registry.specs()
                     if getattr(spec, attr) is not None)


def _aggregations() -> list[tuple[str, str]]:
    modes = dict.fromkeys(m for spec in registry.specs() if spec.aggregate
                          for m in spec.aggregate.choices)
    return [("no aggregation", "none")] + [(mode, mode) for mode in modes]


def _aggregate_tooltip() -> str:
    labels = [spec.label for spec in registry.specs() if spec.aggregate is not None]
    verb = "combines its" if len(labels) == 1 else "combine their"
    return f"How {' and '.join(labels)} {verb} answers"


def _fmt(value: object) -> str:
    return "" if value is None else str(value)


def _system_tooltip() -> str:
    lines = [f"{spec.label}: {spec.summary}" for spec in registry.specs()]
    return "\n".join(["System to run (ctrl+t or F4 picks the next one)", *lines])


class SystemPicker(Widget):
    """System, aggregation and parameters; ``options()`` validates and returns a RunOptions."""

    DEFAULT_CSS = """
    SystemPicker { height: auto; layout: horizontal; }
    SystemPicker HorizontalGroup { width: auto; height: 1; margin-right: 1; }
    SystemPicker Label { padding: 0 1 0 0; color: $text-muted; }
    SystemPicker Select { width: 16; }
    SystemPicker #aggregate { width: 20; }
    SystemPicker Input { width: auto; }
    """

    class Changed(Message):
        """The system changed; the screen switches its output view."""

        def __init__(self, system: str) -> None:
            self.system = system
            super().__init__()

    def __init__(self, defaults: RunOptions, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._defaults = defaults
        self._shown = ""
        """The system whose fields are shown and filled."""

    def compose(self) -> ComposeResult:
        d = self._defaults
        counts = self._counts(d.system)
        with HorizontalGroup(id="group-system"):
            yield Select(
                [(spec.label, spec.key) for spec in registry.specs()],
                value=d.system,
                allow_blank=False,
                compact=True,
                id="system",
                tooltip=_system_tooltip(),
            )
        with HorizontalGroup(id="group-aggregate"):
            yield Select(
                _aggregations(),
                value=d.aggregate,
                allow_blank=False,
                compact=True,
                id="aggregate",
                tooltip=_aggregate_tooltip(),
            )
        values = {
            "temperature": d.temperature,
            "max_tokens": d.max_tokens,
            "concurrency": d.concurrency,
            **counts,
        }
        for name, label, width, tip in _FIELDS:
            with HorizontalGroup(id=f"group-{name}"):
                yield Label(label)
                field = Input(
                    _fmt(values[name]),
                    id=name,
                    type="number" if name == "temperature" else "integer",
                    compact=True,
                    tooltip=tip or _tooltip(name),
                    select_on_focus=True,
                )
                field.styles.width = width
                yield field

    def on_mount(self) -> None:
        self._show_fields(self._defaults.system)
        self._shown = self._defaults.system

    @property
    def system(self) -> str:
        return str(self.query_one("#system", Select).value)

    @system.setter
    def system(self, key: str) -> None:
        """Pick ``key``; its fields show, filled, at once (not when the change message lands)."""
        self.query_one("#system", Select).value = key
        self._switch(key)

    def cycle_system(self) -> None:
        """Select the next system (wraps)."""
        keys = [spec.key for spec in registry.specs()]
        self.system = keys[(keys.index(self.system) + 1) % len(keys)]

    def _counts(self, system: str) -> dict[str, int | None]:
        """n and rounds for ``system``: what it declares (see ``RunOptions.calls_for``)."""
        spec = registry.find(system)
        if spec is None:
            return {"num_calls": None, "rounds": None}
        return {"num_calls": self._defaults.calls_for(spec),
                "rounds": spec.rounds.default if spec.rounds is not None else None}

    def _show_fields(self, system: str) -> None:
        # ``display`` rather than classes: a class change restyles the whole subtree.
        spec = registry.find(system)
        for name, attr in _DECLARED.items():
            self.query_one(f"#group-{name}").display = getattr(spec, attr, None) is not None

    def _switch(self, system: str) -> None:
        """Show ``system``'s fields and fill n and rounds with its own (once per change)."""
        if system == self._shown:
            return
        self._shown = system
        self._show_fields(system)
        for name, value in self._counts(system).items():
            self.query_one(f"#{name}", Input).value = _fmt(value)

    @on(Select.Changed, "#system")
    def _system_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._switch(str(event.value))
        self.post_message(self.Changed(str(event.value)))

    def options(self) -> RunOptions:
        """The current choices.

        Raises:
            InputError: a field holds something unusable (named in the message).
        """

        def number(name: str, kind: Callable[[str], Any]) -> Any:
            raw = self.query_one(f"#{name}", Input).value.strip()
            if not raw:
                return None
            try:
                return kind(raw)
            except ValueError:
                raise InputError(f"{name.replace('_', ' ')}: {raw!r} is not a number") from None

        return RunOptions(
            system=self.system,
            temperature=number("temperature", float),
            max_tokens=number("max_tokens", int),
            num_calls=number("num_calls", int),  # empty: the system's declared default
            concurrency=number("concurrency", int),
            aggregate=str(self.query_one("#aggregate", Select).value),
            rounds=number("rounds", int),
        )
