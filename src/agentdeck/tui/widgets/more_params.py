"""``MoreParams``: the collapsible "more" row: system prompt, top_p, seed and stop.

Closed it is one line that says what is set; F7 (or a click) opens it. Its values go
into the run as the picker's do: top_p, seed and stop through ``config.params.run_params``
(the CLI's ``--top-p``, ``--seed`` and ``--stop``), the system prompt as the CLI's ``--system``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.widget import Widget
from textual.widgets import Collapsible, Input, Label

from agentdeck.errors import InputError

if TYPE_CHECKING:
    from ..runner import RunOptions

__all__ = ["MoreParams"]

_FIELDS = (
    # (id, label, width, tooltip)
    ("top_p", "top_p", 6, "Nucleus sampling (0-1]; empty = server default"),
    ("seed", "seed", 8, "Sampling seed (an integer); empty = server default"),
    ("stop", "stop", 16, 'A stop sequence, or a JSON list of them: ["###", "END"]'),
)


def _stop(raw: str) -> str | list[str] | None:
    if not raw:
        return None
    if raw.startswith("["):
        try:
            value = json.loads(raw)
        except ValueError:
            raise InputError(f"stop: {raw!r} is not a JSON list of strings") from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"stop: {raw!r} is not a JSON list of strings")
        return value
    return raw


def _text(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)


class MoreParams(Widget):
    """System prompt and the less used sampling params, folded away until needed."""

    DEFAULT_CSS = """
    MoreParams { height: auto; padding: 0 1; }
    MoreParams Collapsible { border-top: none; padding: 0; margin: 0; background: $surface 0%; }
    MoreParams Collapsible > Contents { padding: 0 0 0 2; height: auto; }
    MoreParams HorizontalGroup { height: 1; width: auto; margin-right: 1; }
    MoreParams #row { height: auto; width: 1fr; layout: horizontal; }
    MoreParams Label { padding: 0 1 0 0; color: $text-muted; }
    MoreParams #system_prompt { width: 1fr; }
    MoreParams #group-system_prompt { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with Collapsible(title="more: system prompt, top_p, seed, stop", collapsed=True,
                         id="more-row"):
            with HorizontalGroup(id="group-system_prompt"):
                yield Label("system")
                yield Input(id="system_prompt", compact=True,
                            placeholder="a system prompt, sent first in every request",
                            tooltip="The CLI's --system: a system message first in every "
                                    "request of the run")
            with HorizontalGroup(id="row"):
                for name, label, width, tip in _FIELDS:
                    with HorizontalGroup(id=f"group-{name}"):
                        yield Label(label)
                        field = Input(id=name, compact=True, tooltip=tip, select_on_focus=True,
                                      type="number" if name == "top_p" else
                                      "integer" if name == "seed" else "text")
                        field.styles.width = width
                        yield field

    def on_mount(self) -> None:
        """Start from the settings' params (``[params]`` in config.toml, the CLI's flags)."""
        settings = getattr(self.app, "settings", None)
        if settings is not None:
            params = settings.params
            self.load({"top_p": _text(params.top_p), "seed": _text(params.seed),
                       "stop": _text(params.stop)})

    @property
    def opened(self) -> bool:
        return not self.query_one(Collapsible).collapsed

    def toggle(self) -> None:
        """Open or close the row; opening focuses the system prompt."""
        row = self.query_one(Collapsible)
        row.collapsed = not row.collapsed
        if not row.collapsed:
            self.query_one("#system_prompt", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._retitle()

    def _retitle(self) -> None:
        shown = []
        for name in ("system_prompt", "top_p", "seed", "stop"):
            value = self.query_one(f"#{name}", Input).value.strip()
            if value:
                shown.append("system prompt" if name == "system_prompt" else f"{name} {value}")
        title = "more: " + (", ".join(shown) if shown else "system prompt, top_p, seed, stop")
        self.query_one(Collapsible).title = title

    def load(self, values: Mapping[str, str]) -> None:
        """Fill the fields (run again); missing ones are cleared."""
        for name in ("system_prompt", "top_p", "seed", "stop"):
            self.query_one(f"#{name}", Input).value = values.get(name, "")
        self._retitle()

    def load_options(self, options: RunOptions) -> None:
        """Show the "more" choices of ``options`` (a past run's, to run again)."""
        more = options.more
        self.load({"system_prompt": options.system_prompt or "",
                   **{name: _text(more.get(name)) for name in ("top_p", "seed", "stop")}})

    def apply(self, options: RunOptions) -> RunOptions:
        """``options`` with this row's params and system prompt.

        Raises:
            InputError: a field holds something unusable (named in the message).
        """
        return replace(options, more=self.params(), system_prompt=self.system_prompt)

    def values(self) -> dict[str, str]:
        """The fields as typed, by id."""
        return {name: self.query_one(f"#{name}", Input).value
                for name in ("system_prompt", "top_p", "seed", "stop")}

    @property
    def system_prompt(self) -> str | None:
        return self.query_one("#system_prompt", Input).value.strip() or None

    def params(self) -> dict[str, Any]:
        """top_p, seed and stop for ``run_params``'s form (None: not sent).

        Raises:
            InputError: a field holds something unusable (named in the message).
        """
        raw = {name: self.query_one(f"#{name}", Input).value.strip()
               for name in ("top_p", "seed", "stop")}
        top_p = seed = None
        if raw["top_p"]:
            try:
                top_p = float(raw["top_p"])
            except ValueError:
                raise InputError(f"top_p: {raw['top_p']!r} is not a number") from None
            if not math.isfinite(top_p) or not 0 < top_p <= 1:
                raise InputError(f"top_p must be above 0 and at most 1, got {raw['top_p']}")
        if raw["seed"]:
            try:
                seed = int(raw["seed"])
            except ValueError:
                raise InputError(f"seed: {raw['seed']!r} is not an integer") from None
        return {"top_p": top_p, "seed": seed, "stop": _stop(raw["stop"])}
