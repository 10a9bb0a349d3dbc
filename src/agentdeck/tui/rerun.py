"""Run again: a past run's prompt, system and settings loaded into the main screen.

The one way in for every "run again" (the past run's screen, the history list): they call
``run_again(app, info)``, which reads the run's manifest into picker choices and a prompt,
brings the main screen up and fills it. Nothing is sent: the user looks, edits, and sends.
An attachment is not reloaded (the manifest keeps only its head): the user attaches it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentdeck.errors import InputError
from agentdeck.systems import registry

from .runner import RunOptions

if TYPE_CHECKING:
    from agentdeck.store.run_info import RunInfo

    from .app import AgentDeckApp

__all__ = ["Rerun", "rerun_of", "run_again"]

_CALLS = ("num_calls", "agents", "proposers", "calls", "calls_per_target")
"""Manifest params that hold a system's count, by system (multi, debate, MoA, compare)."""
_CONCURRENCY = ("concurrency", "concurrency_per_target")
_ROUNDS = ("rounds", "layers")


@dataclass(frozen=True)
class Rerun:
    """What the main screen is filled with."""

    options: RunOptions
    prompt: str
    attachment_name: str | None
    """What the run read besides the prompt (to attach again), when it read something."""


def _first(params: dict[str, Any], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _more(params: dict[str, Any]) -> dict[str, Any]:
    """The "more" row's params. Multi-call records a seed as "seeds": its base (call i gets
    seed + i - 1) runs again; a list of seeds, one a call, has no field and is left out."""
    more = {name: params[name] for name in ("top_p", "seed", "stop")
            if isinstance(params.get(name), (int, float, str, list))}
    seeds = params.get("seeds")
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        more["seed"] = seeds
    return more


def _options(system: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """The system's options with a field (compare's targets, as they were typed)."""
    from .widgets.system_picker import targets_option

    option = targets_option(system)
    texts = [t.get("target") for t in manifest.get("targets") or () if isinstance(t, dict)]
    if option is None or not texts or not all(isinstance(t, str) for t in texts):
        return {}
    try:
        value = option.parse("; ".join(texts))
    except InputError:
        return {}  # a target this version no longer reads: the field stays as it was
    return {option.name: value} if value is not None else {}


def rerun_of(info: RunInfo) -> Rerun:
    """The picker choices and the prompt of the past run ``info``.

    Raises:
        InputError: the run's system is not one the app runs (a plugin no longer installed),
            or the manifest keeps no prompt.
    """
    spec = registry.find(info.system)
    if spec is None:
        raise InputError(f"{info.system!r} is not a system of this app (a plugin not installed?)")
    params = info.manifest.get("params") or {}
    prompts = info.prompts or {}
    prompt = prompts.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise InputError(f"run {info.run_id} kept no prompt to run again")
    temperature = _number(params.get("temperature"))
    max_tokens = params.get("max_tokens")
    concurrency = _first(params, _CONCURRENCY)
    aggregate = params.get("aggregate")
    options = RunOptions(
        system=spec.key,
        temperature=temperature,
        max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
        num_calls=_first(params, _CALLS) if spec.calls else None,
        concurrency=concurrency if isinstance(concurrency, int) and concurrency > 0 else None,
        aggregate=aggregate if spec.aggregate and isinstance(aggregate, str) else "none",
        rounds=_first(params, _ROUNDS) if spec.rounds else None,
        more=_more(params),
        options=_options(spec.key, info.manifest),
        system_prompt=prompts.get("system") if isinstance(prompts.get("system"), str) else None,
    )
    read = "context" if "context" in prompts else "long_text" if "long_text" in prompts else None
    return Rerun(options, prompt, read and spec.attachment.what)


def run_again(app: AgentDeckApp, info: RunInfo) -> None:
    """Close the screens above the main screen and fill it with ``info``'s choices.

    A run in flight on the main screen is left alone: its picker and prompt are filled, and
    sending waits for that run as always.
    """
    from .screens.main import MainScreen

    try:
        rerun = rerun_of(info)
    except InputError as exc:
        app.notify(str(exc), title="Cannot run again", severity="error", markup=False)
        return
    while not isinstance(app.screen, MainScreen) and len(app.screen_stack) > 1:
        app.pop_screen()
    screen = app.screen
    if isinstance(screen, MainScreen):
        screen.load_choices(rerun.options, rerun.prompt)
        note = f"; attach {rerun.attachment_name} again (ctrl+o)" if rerun.attachment_name else ""
        app.notify(f"Loaded run {info.run_id}: edit and send (ctrl+s){note}.",
                   title="Run again", markup=False)
