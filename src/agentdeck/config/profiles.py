"""Endpoint profiles and UI preferences: the immutable pieces ``Settings`` is made of."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import ConfigError
from .file import Checker

__all__ = ["DEMO", "SIM_MODEL", "Profile", "Timeouts", "UIPrefs", "parse_profile", "parse_ui",
           "profile_table"]

SIM_MODEL = "agentdeck-sim"
"""The model name used with the built-in simulator."""


@dataclass(frozen=True)
class Timeouts:
    """Network deadlines in seconds; generous because a busy GPU server queues requests."""

    connect: float = 10.0
    """Opening the TCP (and TLS) connection."""
    first_token: float = 600.0
    """From sending the request to the first content or reasoning token."""
    idle: float = 300.0
    """Longest silence between two chunks before the stream counts as stalled."""


@dataclass(frozen=True)
class Profile:
    """One endpoint: where to send requests, with which model and credentials."""

    name: str
    """The profile's name in ``[profiles.NAME]``."""
    base_url: str | None = None
    """OpenAI-compatible base URL, e.g. ``http://127.0.0.1:8000/v1`` (None: the simulator)."""
    model: str | None = None
    """Model to request; None lets the front end pick the first one the server lists."""
    api_key: str | None = field(default=None, repr=False)
    """The resolved API key (from the file, an env var, or a flag); None when there is none."""
    api_key_env: str | None = None
    """Name of an environment variable holding the key (kept out of the file)."""
    ca_bundle: str | None = None
    """PEM file of extra CA certificates, for servers with a private or self-signed CA."""
    verify_tls: bool = True
    """Verify TLS certificates; false must be set explicitly and warns on every run."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    """Connect, first-token and idle deadlines."""
    max_retries: int = 3
    """Retries of a request that failed before its first byte (429, 5xx, connection)."""
    is_builtin_sim: bool = False
    """True for the built-in simulator profile: front ends start an in-process SimServer."""
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    """Where each field came from ("file", "env NAME", "flag", "default", "ui")."""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Keys of the file's profile table that agentdeck does not know (kept on save)."""

    def masked_key(self) -> str:
        """The key for display: ``sk-…c3d4`` for long keys, ``****`` for short ones."""
        key = self.api_key
        if not key:
            return "(none)"
        return f"{key[:3]}…{key[-4:]}" if len(key) >= 16 else "****"

    def key_source(self) -> str:
        """Where the key came from, for the settings screen ("env VLLM_API_KEY", "file"...)."""
        return self.sources.get("api_key", "ui") if self.api_key else "none"

    def tls_warning(self) -> str:
        """The warning to show on each run when TLS verification is off ('' when it is on)."""
        if self.verify_tls:
            return ""
        return (f"TLS certificate verification is OFF for profile {self.name!r} "
                f"({self.base_url}): anyone on the path can read the traffic and the API key")

    def ssl_verify(self) -> str | bool:
        """The ``verify=`` value for ``VLLMModel``: the ``ca_bundle`` path, or True/False.

        A path, not a loaded context: the client loads a bundle once, not per model.

        Raises:
            ConfigError: ``ca_bundle`` does not exist or is not a file.
        """
        if not self.verify_tls:
            return False
        if not self.ca_bundle:
            return True
        bundle = Path(self.ca_bundle).expanduser()
        if not bundle.is_file():
            raise ConfigError(f"CA bundle {str(bundle)!r} does not exist or is not a file",
                              key=f"profiles.{self.name}.ca_bundle")
        return str(bundle)

    def edited(self, **changes: Any) -> Profile:
        """A copy with ``changes`` made by the user (saved to the file, unlike env values)."""
        sources = {**self.sources, **{k: "ui" for k in changes}}
        return replace(self, **changes, sources=MappingProxyType(sources))


DEMO = Profile(name="demo", model=SIM_MODEL, is_builtin_sim=True,
               sources=MappingProxyType({"base_url": "default", "model": "default"}))
"""The built-in simulator profile, active when nothing else is configured."""


@dataclass(frozen=True)
class UIPrefs:
    """Preferences of the terminal app."""

    theme: str = "textual-dark"
    """Textual theme name."""
    show_reasoning: bool = True
    """Show reasoning text (dimmed) above the answer."""
    show_metrics: bool = True
    """Show TTFT and tokens/s on each worker card."""
    confirm_quit: bool = True
    """Ask before quitting while runs are in flight."""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """Other ``[ui]`` keys, kept as they are."""

    def to_table(self) -> dict[str, Any]:
        """The ``[ui]`` table for the file."""
        table = dict(self.extra)
        table.update({f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"})
        return table


_PROFILE_KINDS = {
    "base_url": "str", "model": "str", "api_key": "str", "api_key_env": "str",
    "ca_bundle": "str", "verify_tls": "bool", "max_retries": "int", "timeouts": "table",
}
_UI_KINDS = {"theme": "str", "show_reasoning": "bool", "show_metrics": "bool",
             "confirm_quit": "bool"}


def parse_profile(name: str, body: Mapping[str, Any], check: Checker,
                  warnings: list[str]) -> Profile:
    """Build a Profile from its ``[profiles.NAME]`` table, checking every type."""
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in body.items():
        kind = _PROFILE_KINDS.get(key)
        if kind is None:
            extra[key] = value
            warnings.append(f"profile {name!r}: unknown key {key!r} (kept, ignored); known "
                            f"keys: {', '.join(_PROFILE_KINDS)}")
            continue
        limits = {"minimum": 0} if key == "max_retries" else {}
        values[key] = check.value(f"profiles.{name}.{key}", value, kind, **limits)
    timeouts = Timeouts()
    for key, value in values.pop("timeouts", {}).items():
        full = f"profiles.{name}.timeouts.{key}"
        if key not in {f.name for f in fields(Timeouts)}:
            raise check.fail(full, "unknown timeout; known: connect, first_token, idle")
        timeouts = replace(timeouts, **{key: check.value(full, value, "float", above=0)})
    sources = {key: "file" for key in values} | {"timeouts": "file"}
    return Profile(name=name, **values, timeouts=timeouts,
                   sources=MappingProxyType(sources), extra=MappingProxyType(extra))


def parse_ui(table: Mapping[str, Any], check: Checker) -> UIPrefs:
    """Build UIPrefs from the ``[ui]`` table; unknown keys are kept for other front ends."""
    known, extra = {}, {}
    for key, value in table.items():
        if key in _UI_KINDS:
            known[key] = check.value(f"ui.{key}", value, _UI_KINDS[key])
        else:
            extra[key] = value
    return UIPrefs(**known, extra=MappingProxyType(extra))


def profile_table(profile: Profile, old: dict[str, Any]) -> dict[str, Any]:
    """The file table for ``profile``, starting from what the file had (``old``).

    Values that came from flags or the environment are not written: the file keeps its own.
    """
    table = dict(old)
    for key, value in profile.extra.items():
        table.setdefault(key, value)
    defaults = Profile(name=profile.name)
    for key in ("base_url", "model", "api_key", "api_key_env", "ca_bundle", "verify_tls",
                "max_retries"):
        src = profile.sources.get(key, "ui")
        if src in ("default",) or src.startswith(("env", "flag")):
            continue
        value = getattr(profile, key)
        if value is None or (value == getattr(defaults, key) and key not in old):
            table.pop(key, None)
        else:
            table[key] = value
    if profile.timeouts != Timeouts() or "timeouts" in old:
        table["timeouts"] = {**dict(old.get("timeouts") or {}), **asdict(profile.timeouts)}
    return table
