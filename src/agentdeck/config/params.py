"""Generation params of a run: ``KEY=VALUE`` text read as params, and the settings' params
with the app's form fields laid over them.

One reading of ``KEY=VALUE`` for ``-o`` and compare's targets, and one ``run_params`` for both
front ends, so the app and the CLI send the same body for the same settings. The CLI's flags (``--temperature``, ``--max-tokens``, ``--top-p``, ``--seed``) are in
the settings already: ``load_settings`` lays them over the environment and the file. Everything
in ``[params]`` is kept, named fields and vLLM extras (``top_k``, ``min_p``...) alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..types import GenerationParams

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["CLIENT_KEYS", "param_value", "read_pair", "run_params"]

CLIENT_KEYS = ("messages", "stream")
"""Body keys the client always sends itself: no param may set them (``model`` has its own
setting)."""

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


def read_pair(pair: str, usage: str) -> tuple[str, str]:
    """``KEY=VALUE`` as ``(key, value text)``: only the first ``=`` splits, the key is stripped.

    Raises:
        InputError: no ``=`` or an empty key (``usage`` says how to write one).
    """
    key, eq, text = pair.partition("=")
    key = key.strip()
    if not eq or not key:
        raise InputError(f"{usage}; got {pair.strip()!r}")
    return key, text


def param_value(text: str, what: str) -> Any:
    """A param's value: JSON when it parses (``20``, ``true``, ``["END"]``), else the text.

    Raises:
        InputError: JSON's ``NaN`` or ``Infinity`` (``what`` names where): refused, not read as
            text, since a request's JSON cannot carry them.
    """
    def refuse(name: str) -> Any:
        raise InputError(f"{what} must be finite: a request's JSON cannot carry {name}")

    try:
        return json.loads(text, parse_constant=refuse)
    except ValueError:
        return text
