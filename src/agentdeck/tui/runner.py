"""Turns the main screen's choices (system, fields, prompt, attachment) into one core run.

Kept apart from the screen so the screen only deals with widgets, and so tests can check the
mapping without a terminal. What a system needs and its limits come from the registry of
systems; the params come from ``config.params``, as the CLI's do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentdeck.config.params import run_params
from agentdeck.errors import InputError
from agentdeck.events import EventListener
from agentdeck.systems import registry
from agentdeck.systems.declarations import MULTI_CALLS
from agentdeck.systems.registry import CONCURRENCY, RunRequest, SystemSpec

from .settings_form import ui_num_calls

if TYPE_CHECKING:
    from agentdeck.client.model import BaseModel
    from agentdeck.config.settings import Settings
    from agentdeck.store.runs import RunStore

__all__ = ["RunOptions", "make_system", "run_request"]

ATTACH = "attach one with ctrl+o"
"""How the app's user attaches a file, for the message when a system needs one."""
FORM_EXAMPLES = {"targets": "two or more, ';' between them: temperature=0.2; temperature=0.8"}
"""What a form field of a kind holds, for the message when a required one is empty."""


@dataclass(frozen=True)
class RunOptions:
    """What the picker says about the next run; checked on construction."""

    system: str = "basic"
    temperature: float | None = None
    max_tokens: int | None = None
    num_calls: int | None = None
    """Calls, or seats: the "n" field, for the systems that declare a count (None: the
    system's declared default)."""
    concurrency: int | None = None
    aggregate: str = "none"
    rounds: int | None = None
    """None: the system's declared default."""
    options: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """The system's other options read from their fields (compare's ``targets``), checked."""
    more: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """The "more" row's params by name (top_p, seed, stop); None: the server's default."""
    system_prompt: str | None = None
    """Sent first in every request (the CLI's ``--system``)."""

    def __post_init__(self) -> None:
        spec = registry.get(self.system)  # an unknown system is an InputError
        # The CLI's and the config file's limit (vLLM takes any temperature >= 0): an app that
        # refused more would not start on a config.toml the CLI accepts.
        if self.temperature is not None and not math.isfinite(self.temperature):
            raise InputError(f"temperature must be a finite number, got {self.temperature:g}")
        if self.temperature is not None and self.temperature < 0:
            raise InputError(f"temperature must be 0 or more, got {self.temperature:g}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise InputError(f"max tokens must be at least 1, got {self.max_tokens}")
        if self.concurrency is not None:
            CONCURRENCY.check(self.concurrency)
        for declared, value in ((spec.calls, self.num_calls), (spec.rounds, self.rounds)):
            if declared is not None and value is not None:
                declared.check(value)
        if spec.aggregate is not None and self.aggregate != "none":
            spec.aggregate.check(self.aggregate)

    @classmethod
    def from_settings(cls, settings: Settings) -> RunOptions:
        """The picker's starting values: the settings' defaults.

        ``num_calls`` is ``[ui] num_calls`` when the user set it (in config.toml or the
        settings screen) to a usable count, else None: each system's declared default (see
        ``calls_for``).
        """
        chosen = ui_num_calls(settings)
        return cls(
            temperature=settings.params.temperature,
            max_tokens=settings.params.max_tokens,
            num_calls=chosen if settings.ui.extra.get("num_calls") == chosen else None,
            concurrency=settings.concurrency,
        )

    def calls_for(self, spec: SystemSpec) -> int | None:
        """The n the picker shows for ``spec``: ``num_calls`` (``[ui] num_calls``, Multi-call's
        default) for Multi-call, else its declared default (None when it declares no count):
        debate seats or MoA proposers are not a number of calls."""
        declared = spec.calls
        if declared is None:
            return None
        if declared is MULTI_CALLS and self.num_calls is not None and declared.fits(self.num_calls):
            return self.num_calls
        return declared.default

    @property
    def spec(self) -> SystemSpec:
        """The chosen system's declaration."""
        return registry.get(self.system)


def run_request(
    options: RunOptions,
    settings: Settings,
    prompt: str,
    attachment: str | None,
    *,
    listeners: Iterable[EventListener],
    store: RunStore | bool | None,
) -> RunRequest:
    """The request ``options`` make, with the settings' params under the picker's fields.

    Raises:
        InputError: the system needs an attachment and none was given, or the request does
            not fit the system's declaration.
    """
    spec = options.spec
    for option in spec.options:
        if option.required and options.options.get(option.name) is None:
            example = f" ({FORM_EXAMPLES[option.kind]})" if option.kind in FORM_EXAMPLES else ""
            raise InputError(f"{spec.label} needs {option.title or option.name}: type them in "
                             f"its field{example}")
    form = {"temperature": options.temperature, "max_tokens": options.max_tokens,
            **options.more}
    named = {option.name for option in spec.options}
    prompt_option = ({"system_prompt": options.system_prompt}
                     if options.system_prompt and "system_prompt" in named else {})
    return spec.prepare(RunRequest(
        prompt,
        attachment,
        run_params(settings, form),
        calls=options.num_calls if spec.calls else None,
        rounds=options.rounds if spec.rounds else None,
        aggregate=options.aggregate if spec.aggregate else None,
        listeners=tuple(listeners),
        store=store,
        concurrency=options.concurrency,
        options={**prompt_option, **options.options},
        settings=settings,
        system_prompt=options.system_prompt,
    ), how_to_attach=ATTACH)


def make_system(options: RunOptions, model: BaseModel, request: RunRequest) -> Any:
    """The system for ``request`` (its system prompt is the request's, as the CLI's)."""
    return options.spec.make(model, request)
