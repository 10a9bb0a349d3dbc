"""Compare's targets: one side of a comparison, written ``KEY=VALUE,KEY=VALUE``.

A target names at most one endpoint (``profile=NAME`` or ``url=URL``; neither: the current
one), optionally a served ``model=NAME`` on it, and any request params (``temperature=0.2``,
``top_k=20``). Every part is ``KEY=VALUE`` and parts are joined by ``,``, which model names
(``Qwen/Qwen2.5-1.5B-Instruct``, ``llama3:8b-fp8``, LoRA names) never contain; only the first
``=`` of a part splits it, so a URL's query keeps its own. A value is JSON when it parses
(``top_k=20``, ``ignore_eos=true``), else text; known params are range-checked as the config
file's ``[params]`` are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError, InputError, register_secret
from .file import Checker, bare_message, check_base_url
from .params import CLIENT_KEYS, param_value, read_pair

__all__ = ["ENDPOINT_KEYS", "Target", "parse_target", "public_url", "to_target"]

ENDPOINT_KEYS = ("profile", "url", "model")
"""The keys that say where a target's requests go; every other key is a request param."""


@dataclass(frozen=True)
class Target:
    """One side of a comparison: where its requests go and the params they carry."""

    profile: str | None = None
    """An endpoint profile's name (its URL, key, TLS and timeouts)."""
    url: str | None = None
    """A base URL; it gets a key only when it is the current profile's URL."""
    model: str | None = None
    """A served model on that endpoint (default: the profile's, the current one, or the
    first the server lists)."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Request params laid over the run's (``temperature``, ``seed``, vLLM extras)."""

    def __post_init__(self) -> None:
        if self.profile is not None and self.url is not None:
            raise InputError("a target names one endpoint: profile= or url=, not both")
        if not (self.profile or self.url or self.model or self.params):
            raise InputError("a target is empty: give profile=, url=, model= or a param")
        if self.url is not None:
            register_secret(urlsplit(self.url).password)  # never echoed by any message
            try:
                object.__setattr__(self, "url", check_base_url(self.url, key="url"))
            except ConfigError as exc:
                raise InputError(f"a target's url: {bare_message(exc)}") from None
        object.__setattr__(self, "params", _checked(dict(self.params)))

    def __repr__(self) -> str:
        return f"Target({self.text()!r})"

    @property
    def label(self) -> str:
        """A short human name: ``local a/b:1 temperature=0.2`` (never a URL's password)."""
        parts = [self.profile or "", _host(self.url) if self.url else "", self.model or ""]
        parts += [f"{k}={_text(v)}" for k, v in self.params.items()]
        return " ".join(p for p in parts if p)

    def text(self) -> str:
        """The command-line form, without credentials: ``model=a/b:1,temperature=0.2``."""
        parts = [f"{k}={public_url(v) if k == 'url' else v}"
                 for k, v in (("profile", self.profile), ("url", self.url), ("model", self.model))
                 if v is not None]
        return ",".join(parts + [f"{k}={_text(v)}" for k, v in self.params.items()])


def parse_target(text: str) -> Target:
    """``profile=local,model=x,temperature=0.2`` as a ``Target``.

    Raises:
        InputError: a part without ``=``, an empty or repeated key, a bad URL or param.
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError("a target is empty: give profile=, url=, model= or a param")
    found: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for part in text.split(","):
        key, value = read_pair(part, "a target's parts are KEY=VALUE joined by commas "
                                     "(model=NAME,temperature=0.2)")
        if key in found or key in params:
            raise InputError(f"a target gives {key}= twice")
        if key in ENDPOINT_KEYS:
            value = value.strip()
            if not value:
                raise InputError(f"a target's {key}= is empty")
            found[key] = value
        else:
            params[key] = param_value(value, "a target's params")
    return Target(**found, params=params)


def to_target(value: Any) -> Target:
    """A target as a caller gives it: a ``Target``, its text, or a mapping of its parts."""
    if isinstance(value, Target):
        return value
    if isinstance(value, str):
        return parse_target(value)
    if isinstance(value, Mapping):
        parts = {k: v for k, v in value.items() if k in ENDPOINT_KEYS}
        params = {**dict(value.get("params") or {}),
                  **{k: v for k, v in value.items() if k not in ENDPOINT_KEYS + ("params",)}}
        return Target(**parts, params=params)
    raise InputError(f"a target is a Target, its text (model=NAME) or a mapping, got {value!r}")


def _checked(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` range-checked as ``[params]`` in the config file is; the body they make."""
    from .precedence import params as read_params

    for key in params:
        if key in CLIENT_KEYS or key == "model":
            raise InputError(f"a target cannot set {key}: the client sends it itself")
    try:
        body = read_params(params, Checker(None, ""), {}, {}, {}).to_body()
    except ConfigError as exc:
        name = (exc.key or "").removeprefix("params.")
        raise InputError(f"a target's {name or 'params'}: {bare_message(exc)}") from None
    return {k: body[k] for k in params if k in body}  # in the order given


def public_url(url: str) -> str:
    """``url`` without a ``user:password@`` part (for run.json and the labels)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{host}:{parts.port}" if parts.port else host


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
