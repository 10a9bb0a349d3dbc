"""``SystemPicker``: which system runs next and with what parameters, one compact row.

The systems, and which fields each shows (calls, rounds, aggregation) with their defaults, come
from the registry of systems: a registered system appears here with the fields it declares.
Each system keeps its own n and rounds: picking one fills them with what was typed for it
last, else with what it declares (Multi-call's n: the user's ``[ui] num_calls``), so a
Multi-call n of 16 never becomes 16 debate seats. Too narrow for one row, the fields wrap
onto a second row (no field is cut off yet focusable). Of its other options
(``SystemSpec.options``) only targets (compare's) have a field, a line of text with ``;``
between targets; runs from the app take the others' defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, HorizontalGroup
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select

from agentdeck.errors import InputError
from agentdeck.systems import registry

from ..runner import RunOptions

__all__ = ["SystemPicker", "targets_option"]

_FIELDS = (
    # (id, label, width, tooltip; None: made from the systems that declare the input)
    ("temperature", "temp", 5, "Sampling temperature (0-2); empty = server default"),
    ("max_tokens", "max", 7, "Max tokens per call; empty = server default"),
    ("num_calls", "n", 4, None),
    ("concurrency", "conc", 4, "Concurrency cap: most requests in flight at once; empty = all"),
    ("rounds", "rounds", 3, None),
)
_KEPT = ("num_calls", "rounds")
"""Fields each system keeps for itself (the others are shared: a temperature is a temperature)."""
_DECLARED = {"num_calls": "calls", "rounds": "rounds", "aggregate": "aggregate"}
"""Picker field -> the spec input that shows it."""
TARGETS_HINT = "temperature=0.2; temperature=0.8"
"""The targets field's placeholder: two targets on the current model."""


def targets_option(system: str) -> Any:
    """The system's option of kind "targets" (compare's), or None."""
    spec = registry.find(system)
    return next((o for o in spec.options if o.kind == "targets"), None) if spec else None


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
    SystemPicker.-wrap { layout: vertical; }
    SystemPicker > Horizontal { width: auto; height: 1; }
    SystemPicker > #row-fields { width: 1fr; }
    SystemPicker HorizontalGroup { width: auto; height: 1; margin-right: 1; }
    SystemPicker Label { padding: 0 1 0 0; color: $text-muted; }
    SystemPicker Select { width: 16; }
    SystemPicker #aggregate { width: 20; }
    SystemPicker Input { width: auto; }
    SystemPicker #group-targets { width: 1fr; min-width: 24; }
    SystemPicker #targets { width: 1fr; }
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
        self._kept: dict[str, dict[str, str]] = {}
        """System -> the n and rounds last typed for it."""

    def compose(self) -> ComposeResult:
        d = self._defaults
        counts = self._counts(d.system)
        with Horizontal(id="row-system"):
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
        with Horizontal(id="row-fields"):
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
                        valid_empty=True,  # empty: the server's (or system's) default
                    )
                    field.styles.width = width
                    yield field
            with HorizontalGroup(id="group-targets"):
                yield Label("targets")
                yield Input(id="targets", compact=True, placeholder=TARGETS_HINT,
                            tooltip="Targets to compare, ';' between them: profile=NAME, "
                                    "url=URL, model=NAME and params, joined by commas "
                                    "(model=a,temperature=0.2; model=b)")

    def on_mount(self) -> None:
        self._show_fields(self._defaults.system)
        self._shown = self._defaults.system

    def on_resize(self) -> None:
        self._wrap()

    def _wrap(self) -> None:
        """Two rows when the shown fields do not fit in one."""
        needed = self.styles.gutter.width
        for row in self.query("#row-system, #row-fields"):
            for group in row.children:
                width, least = group.styles.width, group.styles.min_width
                if group.display:  # a stretching group (targets) counts its least width
                    flexible = width is not None and width.is_fraction and least is not None
                    needed += int(least.value) + 1 if flexible else group.outer_size.width
        self.set_class(needed > self.size.width, "-wrap")

    def load(self, options: RunOptions) -> None:
        """Show ``options`` (a past run's, to run again): its system and every field."""
        self.system = options.system
        self.query_one("#aggregate", Select).value = options.aggregate
        values = {"temperature": options.temperature, "max_tokens": options.max_tokens,
                  "num_calls": options.num_calls, "concurrency": options.concurrency,
                  "rounds": options.rounds}
        for name, value in values.items():
            self.query_one(f"#{name}", Input).value = _fmt(value)
        option = targets_option(options.system)
        targets = options.options.get(option.name) if option is not None else None
        if targets:
            self.query_one("#targets", Input).value = "; ".join(t.text() for t in targets)

    def focus_first(self) -> None:
        """Focus the system picker (the first field)."""
        self.query_one("#system", Select).focus()

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
        self.query_one("#group-targets").display = targets_option(system) is not None
        self.call_after_refresh(self._wrap)

    def _switch(self, system: str) -> None:
        """Show ``system``'s fields and fill n and rounds with its own (once per change)."""
        if system == self._shown:
            return
        if self._shown:
            self._kept[self._shown] = {name: self.query_one(f"#{name}", Input).value
                                       for name in _KEPT}
        self._shown = system
        self._show_fields(system)
        kept = self._kept.get(system)
        for name, value in self._counts(system).items():
            self.query_one(f"#{name}", Input).value = kept[name] if kept else _fmt(value)

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

        chosen = {}
        option = targets_option(self.system)
        if option is not None:
            value = option.parse(self.query_one("#targets", Input).value)
            if value is not None:
                chosen[option.name] = value
        return RunOptions(
            system=self.system,
            temperature=number("temperature", float),
            max_tokens=number("max_tokens", int),
            num_calls=number("num_calls", int),  # empty: the system's declared default
            concurrency=number("concurrency", int),
            aggregate=str(self.query_one("#aggregate", Select).value),
            rounds=number("rounds", int),
            options=chosen,
        )
