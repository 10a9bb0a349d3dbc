"""Generation params of a run: the settings' params with the app's form fields laid over them.

One function for both front ends, so the app and the CLI send the same body for the same
settings. The CLI's flags (``--temperature``, ``--max-tokens``, ``--top-p``, ``--seed``) are in
the settings already: ``load_settings`` lays them over the environment and the file. Everything
in ``[params]`` is kept, named fields and vLLM extras (``top_k``, ``min_p``...) alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

from ..types import GenerationParams

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["run_params"]

_NAMED = frozenset(f.name for f in fields(GenerationParams)) - {"extra"}


def run_params(settings: Settings, form: Mapping[str, Any] | None = None) -> GenerationParams:
    """The params every request of a run sends.

    Args:
        settings: resolved settings (flags > environment > file > defaults).
        form: the app's fields by param name; None is an empty field, the server's default,
            so the setting is not sent either.
    """
    params = settings.params
    if not form:
        return params
    named = {k: v for k, v in form.items() if k in _NAMED}
    extra = dict(params.extra)
    for key, value in form.items():
        if key in _NAMED:
            continue
        if value is None:
            extra.pop(key, None)
        else:
            extra[key] = value
    return replace(params, **named, extra=extra)
