"""What the settings screen saves: new ``Settings`` from the form's values, and key notes.

Pure functions (no widgets), so the rules are easy to read and to test: which values count as
changed in the app (source "ui", so ``save_settings`` writes them), where the key comes from.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from agentdeck.errors import ConfigError
from agentdeck.systems.declarations import MULTI_CALLS

if TYPE_CHECKING:
    from agentdeck.config.profiles import Profile
    from agentdeck.config.settings import Settings

__all__ = ["DEFAULT_CALLS", "key_note", "ui_num_calls", "with_form_values"]

DEFAULT_CALLS: int = MULTI_CALLS.default
"""What the settings screen shows while ``[ui] num_calls`` is unset; the picker then fills n
with each system's declared default."""


def ui_num_calls(settings: Settings) -> int:
    """Default calls for Multi-call / seats for Debate, kept in ``[ui] num_calls``."""
    value = settings.ui.extra.get("num_calls", DEFAULT_CALLS)
    usable = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if usable else DEFAULT_CALLS


def _number(key: str, raw: str, kind: Callable[[str], Any], minimum: float) -> Any:
    """``raw`` as a number (None when empty); ConfigError naming ``key`` otherwise."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{raw!r} is not a number", key=key) from None
    if not math.isfinite(value):  # float() reads nan and inf; a request's JSON cannot carry them
        raise ConfigError(f"must be a finite number, got {raw}", key=key)
    if value < minimum:
        raise ConfigError(f"must be at least {minimum}, got {raw}", key=key)
    return value


def with_form_values(
    settings: Settings,
    profile: Profile,
    *,
    temperature: str,
    max_tokens: str,
    num_calls: str,
    concurrency: str,
) -> Settings:
    """``settings`` with ``profile`` stored and made the default, and the run defaults set.

    Raises:
        ConfigError: a field is not a number or is out of range (the key names the field).
    """
    params = replace(
        settings.params,
        temperature=_number("temperature", temperature, float, 0),
        max_tokens=_number("max_tokens", max_tokens, int, 1),
    )
    calls = _number("num_calls", num_calls, int, 1)
    cap = _number("concurrency", concurrency, int, 1) or settings.concurrency
    profiles = dict(settings.profiles)
    profiles[profile.name] = profile
    source = {
        **settings.source,
        "profile": "file",
        "concurrency": "ui",
        "params.temperature": "ui",
        "params.max_tokens": "ui",
    }
    extra = dict(settings.ui.extra)
    if calls is None:  # empty: each system's declared default
        extra.pop("num_calls", None)
    elif "num_calls" in extra or calls != DEFAULT_CALLS:  # the default shown, untouched: unset
        extra["num_calls"] = calls
    ui = replace(settings.ui, extra=MappingProxyType(extra))
    return replace(
        settings,
        profiles=MappingProxyType(profiles),
        params=params,
        concurrency=cap,
        ui=ui,
        default_profile=profile.name,
        source=MappingProxyType(source),
    )


def key_note(profile: Profile | None) -> str:
    """Where the profile's API key comes from, without ever showing it."""
    if profile is None:
        return "Type a key, or name an environment variable that holds it."
    if profile.is_builtin_sim:
        return "The simulator needs no key."
    source = profile.key_source()
    if source == "none":
        return "No key set: type one (saved 0600), or name an environment variable."
    if source.startswith("env"):
        return f"Key set from {source[4:]} (never written to the file). Typing here replaces it."
    return "A key is saved (hidden). Leave empty to keep it; typing replaces it."
