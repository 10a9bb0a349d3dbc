"""Settings: endpoint profiles, default generation params, concurrency and UI preferences.

Precedence, highest first: flags > environment > ``config.toml`` > built-in defaults.

Environment: ``AGENTDECK_PROFILE``, ``AGENTDECK_BASE_URL``, ``AGENTDECK_MODEL``,
``AGENTDECK_API_KEY``, ``AGENTDECK_CA_BUNDLE``, ``AGENTDECK_CONCURRENCY``,
``AGENTDECK_TEMPERATURE``, ``AGENTDECK_MAX_TOKENS``; then ``VLLM_API_URL``/``VLLM_API_KEY`` (the
original scripts), then ``OPENAI_BASE_URL``/``OPENAI_API_KEY``. Empty variables count as unset.

An API key follows its endpoint, so a key is never sent to a server it was not meant for:
``VLLM_API_KEY`` is used with ``VLLM_API_URL`` and ``OPENAI_API_KEY`` with ``OPENAI_BASE_URL``;
a profile's own key (``api_key`` or the variable named by ``api_key_env``) is used with the
profile's URL or a URL given by flag or ``AGENTDECK_BASE_URL``; a flag or ``AGENTDECK_API_KEY``
applies to whatever endpoint is active. With no config file and no endpoint in the environment,
the active profile is the built-in simulator ("demo").

The file format (every key optional)::

    default_profile = "local"
    concurrency = 16
    record = false              # true: agents and systems called from Python keep their runs
    [params]                    # temperature, max_tokens, top_p, stop, seed, n, penalties;
    temperature = 0.7           # other keys (top_k, min_p, ...) are passed to the server as is
    [ui]
    theme = "textual-dark"
    [profiles.local]
    base_url = "http://127.0.0.1:8000/v1"
    model = "Qwen/Qwen3-0.6B"
    api_key_env = "VLLM_API_KEY"  # or api_key = "..." (the file is 0600)
    verify_tls = true             # false must be explicit; a warning is shown each run
    ca_bundle = "/etc/ssl/my-ca.pem"
    max_retries = 3
    [profiles.local.timeouts]
    connect = 10.0
    first_token = 600.0
    idle = 300.0
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .. import paths
from ..errors import ConfigError, ProfileNotFoundError
from ..types import GenerationParams
from . import precedence
from .file import Checker, bare_message, check_base_url, read_doc, write_doc
from .profiles import (
    DEMO,
    SIM_MODEL,
    Profile,
    Timeouts,
    UIPrefs,
    parse_profile,
    parse_ui,
    profile_table,
)

__all__ = [
    "DEMO",
    "SIM_MODEL",
    "Profile",
    "Settings",
    "Timeouts",
    "UIPrefs",
    "delete_profile",
    "load_settings",
    "records_library_runs",
    "save_settings",
    "save_ui",
    "set_profile",
]

DEFAULT_CONCURRENCY = precedence.DEFAULT_CONCURRENCY
log = logging.getLogger("agentdeck.config")
_TOP_KEYS = {"default_profile", "concurrency", "record", "params", "ui", "profiles"}


@dataclass(frozen=True)
class Settings:
    """Everything the app and the CLI need, resolved once; immutable."""

    profile: Profile
    """The active endpoint profile, with flag and environment overrides applied."""
    profiles: Mapping[str, Profile]
    """Profiles as the file defines them (no overrides), plus the built-in "demo"."""
    params: GenerationParams = field(default_factory=GenerationParams)
    """Default generation params for every request (None fields: server default)."""
    concurrency: int = DEFAULT_CONCURRENCY
    """Most requests in flight at once for one run."""
    ui: UIPrefs = field(default_factory=UIPrefs)
    """Preferences of the terminal app."""
    default_profile: str | None = None
    """The file's ``default_profile`` (None when unset)."""
    path: Path = field(default_factory=paths.config_file)
    """The settings file these came from (it may not exist)."""
    source: Mapping[str, str] = field(default_factory=dict)
    """Where each value came from: key -> "flag", "env NAME", "file" or "default"."""
    warnings: tuple[str, ...] = ()
    """One-line notices to show the user (TLS off, unknown keys, loose file mode, ...)."""
    record: bool = False
    """The file's ``record``: whether agents and systems called from Python keep their runs
    without ``store=`` (library calls read it with ``records_library_runs``)."""

    def explain(self) -> list[str]:
        """Lines like ``base_url = http://... (env VLLM_API_URL)`` for ``--verbose`` output."""
        prof = self.profile
        shown = {
            "profile": prof.name, "base_url": prof.base_url or "(built-in simulator)",
            "model": prof.model, "api_key": prof.masked_key(), "concurrency": self.concurrency,
            "record": self.record,
        }
        shown.update({f"params.{k}": v for k, v in self.params.to_body().items()})
        return [f"{k} = {v} ({self.source.get(k, 'default')})" for k, v in shown.items()]


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Settings:
    """Resolve settings from flags, environment, the config file and defaults.

    Args:
        flags: command-line values; None values are ignored. Keys: profile, base_url, model,
            api_key, ca_bundle, verify_tls, concurrency, params (a dict) and any
            GenerationParams field (temperature, max_tokens, ...).
        env: the environment (default ``os.environ``).
        path: the config file (default ``paths.config_file()``).
    Raises:
        ConfigError: malformed TOML, a wrong type or value, a bad base URL (in the file or the
            environment).
        ProfileNotFoundError: the requested profile is not defined.
        InputError: a flag's value is wrong (``--temperature -1``, ``--base-url foo``).
    """
    env = os.environ if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    cfg = Path(path).expanduser() if path is not None else paths.config_file()
    doc, text = read_doc(cfg)
    check = Checker(cfg, text)
    warnings: list[str] = []
    source: dict[str, str] = {}

    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        warnings.append(f"{cfg}: unknown settings {', '.join(unknown)} (kept, ignored)")
    tables = {k: check.value(k, doc[k], "table") for k in ("profiles", "params", "ui") if k in doc}
    profiles = precedence.file_profiles(tables.get("profiles", {}), check, env, warnings)
    if any(p.api_key and p.sources.get("api_key") == "file" for p in profiles.values()):
        precedence.warn_if_readable(cfg, warnings)
    all_profiles = {DEMO.name: DEMO, **profiles}

    default_profile = None
    if "default_profile" in doc:
        default_profile = check.value("default_profile", doc["default_profile"], "str")
    profile = precedence.active_profile(flags, env, all_profiles, default_profile, check, source)
    if not profile.verify_tls:
        warnings.append(profile.tls_warning())
    params = precedence.params(tables.get("params", {}), check, flags, env, source)
    concurrency = precedence.concurrency(doc, check, flags, env, source)
    record = _record(doc, check)  # a wrong value: refused here, skipped by library calls
    if "record" in doc:
        source["record"] = "file"
    ui = parse_ui(tables.get("ui", {}), check)

    return Settings(
        profile=profile, profiles=MappingProxyType(all_profiles), params=params,
        concurrency=concurrency, ui=ui, record=record,
        default_profile=default_profile, path=cfg,
        source=MappingProxyType(source), warnings=tuple(warnings),
    )


# ---------------------------------------------------------------------------- saving


def _read_for_save(path: Path) -> dict[str, Any]:
    """The document on disk; refuse to touch a file that does not parse."""
    try:
        doc, text = read_doc(path)
        _validate(doc, Checker(path, text))
        return doc
    except ConfigError as exc:
        raise ConfigError(
            f"{bare_message(exc)}; not saving over it: fix or move the file first",
            path=exc.path, line=exc.line, column=exc.column, key=exc.key) from None


def _validate(doc: Mapping[str, Any], check: Checker | None = None) -> None:
    """Refuse a document that would not load (wrong types, bad URLs)."""
    check = check or Checker(None, "")
    for key in ("profiles", "params", "ui"):
        if key in doc:
            check.value(key, doc[key], "table")
    for name, body in dict(doc.get("profiles") or {}).items():
        profile = parse_profile(name, check.value(f"profiles.{name}", body, "table"), check, [])
        if profile.base_url:
            check_base_url(profile.base_url, key=f"profiles.{name}.base_url", checker=check)
    precedence.params(dict(doc.get("params") or {}), check, {}, {}, {})
    parse_ui(dict(doc.get("ui") or {}), check)
    if "concurrency" in doc:
        check.value("concurrency", doc["concurrency"], "int", minimum=1)
    if "default_profile" in doc:
        check.value("default_profile", doc["default_profile"], "str")
    _record(doc, check)


def _record(doc: Mapping[str, Any], check: Checker) -> bool:
    return check.value("record", doc["record"], "bool") if "record" in doc else False


def records_library_runs(path: str | os.PathLike[str] | None = None) -> bool:
    """The file's ``record``: whether agents and systems called from Python keep their runs.

    Only that key is read: a script must not fail on a profile it never uses, nor on a file it
    never asked for. A broken file (not TOML, ``record`` not true or false) records nothing and
    logs one warning naming the file and line; the file is left as it is. The answer is kept
    per version of the file (its mtime and size), so a script's many calls read it once.
    """
    cfg = Path(path).expanduser() if path is not None else paths.config_file()
    try:
        stat = cfg.stat()
        version = (stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        return False
    except OSError:
        version = (-1, -1)  # unreadable: read_doc says why, once
    return _record_in(cfg, *version)


@functools.lru_cache(maxsize=8)
def _record_in(path: Path, mtime_ns: int, size: int) -> bool:
    """``record`` in one version of the file; the version only keys the cache."""
    try:
        doc, text = read_doc(path)
        return _record(doc, Checker(path, text))
    except ConfigError as exc:
        where = f"{path}:{exc.line}" if exc.line is not None else str(path)
        log.warning("%s: %s; agents and systems called from Python record no runs until it is "
                    "fixed", where, bare_message(exc))
        return False


def save_settings(settings_or_doc: Settings | Mapping[str, Any],
                  path: str | os.PathLike[str] | None = None) -> Path:
    """Write settings to the config file atomically (0600) and return its path.

    A ``Settings`` is merged into what is on disk: other profiles, unknown keys and values
    that came from flags or the environment (keys above all) are kept as the file has them.
    A mapping is written as the whole document. Nothing is written when the file on disk does
    not parse or the result would not load.

    Raises:
        ConfigError: the file on disk is broken, or the new content is invalid.
    """
    if isinstance(settings_or_doc, Settings):
        target = Path(path) if path is not None else settings_or_doc.path
        doc = _read_for_save(target)
        _merge_settings(doc, settings_or_doc)
    else:
        target = Path(path) if path is not None else paths.config_file()
        _read_for_save(target)
        doc = dict(settings_or_doc)
    _validate(doc)
    write_doc(target, doc)
    return target


def save_ui(changes: Mapping[str, Any], path: str | os.PathLike[str] | None = None) -> Path:
    """Set keys of the file's ``[ui]`` table (the theme picked in the app), keeping the rest
    of the file; a hand-edited file is kept as ``config.toml.bak`` first (``write_doc``).

    Raises:
        ConfigError: the file on disk is broken, or a value is not valid there.
    """
    target = Path(path) if path is not None else paths.config_file()
    doc = _read_for_save(target)
    doc["ui"] = {**dict(doc.get("ui") or {}), **changes}
    _validate(doc)
    write_doc(target, doc)
    return target


def _overridden(source: str) -> bool:
    """True for values from flags or the environment: those never go into the file."""
    return source.startswith(("flag", "env"))


def _merge_settings(doc: dict[str, Any], settings: Settings) -> None:
    profiles = doc.setdefault("profiles", {})
    for name, profile in settings.profiles.items():
        if not profile.is_builtin_sim:
            profiles[name] = profile_table(profile, dict(profiles.get(name) or {}))
    if not profiles:
        del doc["profiles"]
    if settings.default_profile:
        doc["default_profile"] = settings.default_profile
    if not _overridden(settings.source.get("concurrency", "ui")) and (
        "concurrency" in doc or settings.concurrency != DEFAULT_CONCURRENCY
    ):
        doc["concurrency"] = settings.concurrency
    params = dict(doc.get("params") or {})
    for key, value in settings.params.to_body().items():
        if not _overridden(settings.source.get(f"params.{key}", "ui")):
            params[key] = value
    for key in precedence.PARAM_NAMES:  # a field cleared in the app leaves the file too
        if getattr(settings.params, key) is None and settings.source.get(f"params.{key}") == "ui":
            params.pop(key, None)
    if params:
        doc["params"] = params
    else:
        doc.pop("params", None)
    old_ui = dict(doc.get("ui") or {})
    defaults = UIPrefs().to_table()
    ui = {k: v for k, v in settings.ui.to_table().items() if k in old_ui or defaults.get(k) != v}
    if old_ui or ui:
        doc["ui"] = {**old_ui, **ui}


def set_profile(profile: Profile, *, make_default: bool = False,
                path: str | os.PathLike[str] | None = None) -> Path:
    """Add or update one profile in the file, keeping everything else; return the path."""
    if profile.is_builtin_sim:
        raise ConfigError("the built-in simulator profile is not stored in the file",
                          key=f"profiles.{profile.name}")
    target = Path(path) if path is not None else paths.config_file()
    doc = _read_for_save(target)
    profiles = doc.setdefault("profiles", {})
    profiles[profile.name] = profile_table(profile, dict(profiles.get(profile.name) or {}))
    if make_default:
        doc["default_profile"] = profile.name
    _validate(doc)
    write_doc(target, doc)
    return target


def delete_profile(name: str, path: str | os.PathLike[str] | None = None) -> Path:
    """Remove a profile (and ``default_profile`` if it named it); return the path."""
    target = Path(path) if path is not None else paths.config_file()
    doc = _read_for_save(target)
    profiles = doc.get("profiles") or {}
    if name not in profiles:
        raise ProfileNotFoundError(
            f"no profile named {name!r}; defined profiles: {', '.join(map(repr, profiles))}",
            path=str(target))
    del profiles[name]
    if doc.get("default_profile") == name:
        del doc["default_profile"]
    write_doc(target, doc)
    return target
