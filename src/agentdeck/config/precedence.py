"""The precedence rules: which profile is active and where each value comes from.

flags > environment > config file > built-in defaults, field by field, with one exception that
keeps keys safe: an API key follows its endpoint (see ``agentdeck.config``). Each resolved value
records its source ("flag", "env NAME", "file", "default") for the UI and ``--verbose``.
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import ConfigError, InputError, ProfileNotFoundError, register_secret
from ..types import GenerationParams, non_finite
from .file import Checker, bare_message, check_base_url
from .profiles import DEMO, Profile, parse_profile

__all__ = ["PARAM_NAMES", "active_profile", "concurrency", "file_profiles", "params",
           "warn_if_readable"]

DEFAULT_CONCURRENCY = 16

_PARAM_KINDS = {
    "temperature": ("float", {"minimum": 0}),
    "max_tokens": ("int", {"minimum": 1}),
    "top_p": ("float", {"above": 0, "maximum": 1}),
    "stop": ("stop", {}),
    "seed": ("int", {}),
    "n": ("int", {"minimum": 1}),
    "presence_penalty": ("float", {"minimum": -2, "maximum": 2}),
    "frequency_penalty": ("float", {"minimum": -2, "maximum": 2}),
}
PARAM_NAMES = tuple(_PARAM_KINDS)
"""The GenerationParams fields the file may set by name (others go to ``extra``)."""
_ENV_PARAMS = {"AGENTDECK_TEMPERATURE": "temperature", "AGENTDECK_MAX_TOKENS": "max_tokens"}


def file_profiles(table: dict[str, Any], check: Checker, env: Mapping[str, str],
                  warnings: list[str]) -> dict[str, Profile]:
    """The file's profiles, each key resolved from ``api_key_env`` or ``api_key``."""
    profiles = {}
    for name, body in table.items():
        body = check.value(f"profiles.{name}", body, "table")
        profile = parse_profile(name, body, check, warnings)
        if profile.api_key_env:
            value = env.get(profile.api_key_env) or None
            if value:
                profile = _with(profile, api_key=value, src=f"env {profile.api_key_env}")
            elif not profile.api_key:
                warnings.append(f"profile {name!r}: api_key_env names {profile.api_key_env}, "
                                "which is not set")
        register_secret(profile.api_key)
        profiles[name] = profile
    return profiles


def _with(profile: Profile, *, src: str, **changes: Any) -> Profile:
    """A copy with ``changes`` applied and their source recorded."""
    sources = {**profile.sources, **{k: src for k in changes}}
    return replace(profile, **changes, sources=MappingProxyType(sources))


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value else None


def active_profile(flags: Mapping[str, Any], env: Mapping[str, str],
                   profiles: dict[str, Profile], default: str | None, check: Checker,
                   source: dict[str, str]) -> Profile:
    """Pick the profile, then lay flags and environment over it (see ``agentdeck.config``)."""
    name, name_src = _profile_name(flags, env, profiles, default, check)
    explicit_demo = name is not None and name_src != "file" and profiles[name].is_builtin_sim
    url, url_src, url_key = _endpoint(flags, env, skip_env=explicit_demo)
    if name is None:
        if url is not None or not (set(profiles) - {DEMO.name}):
            name, name_src = DEMO.name, "default"
        else:
            name, name_src = next(n for n in profiles if n != DEMO.name), "file (first profile)"
    profile = profiles[name]
    source["profile"] = name_src

    if url is not None:
        url = (_flag_checked(check_base_url, str(url), key=url_key) if url_src == "flag"
               else check_base_url(str(url), key=url_key))
        if profile.is_builtin_sim:  # an ad hoc endpoint, not the simulator any more
            profile = Profile(name="custom")
        elif profile.model and url != profile.base_url:
            # Another server than the profile's: its model may not be served there, so the
            # server's first model is used (--model or AGENTDECK_MODEL, below, still win).
            profile = _with(profile, model=None, src="default")
        profile = _with(profile, base_url=url, src=url_src)
        if url_src in _FOREIGN:  # the profile's own key stays with the profile's server
            profile = _with(profile, api_key=None, src="default")
    elif not profile.is_builtin_sim:
        if not profile.base_url:
            raise check.fail(f"profiles.{profile.name}",
                             'has no base_url; add base_url = "http://HOST:8000/v1"')
        profile = replace(profile, base_url=check_base_url(
            profile.base_url, key=f"profiles.{profile.name}.base_url", checker=check))

    for value, src in _key_tiers(flags, env, url_src, has_own_key=bool(profile.api_key)):
        if value:
            profile = _with(profile, api_key=str(value), src=src)
            break
    for attr, env_name in (("model", "AGENTDECK_MODEL"), ("ca_bundle", "AGENTDECK_CA_BUNDLE")):
        if attr in flags:
            profile = _with(profile, **{attr: str(flags[attr])}, src="flag")
        elif _env(env, env_name) and not profile.is_builtin_sim:
            profile = _with(profile, **{attr: env[env_name]}, src=f"env {env_name}")
    if "verify_tls" in flags:
        profile = _with(profile, verify_tls=bool(flags["verify_tls"]), src="flag")
    if flags.get("timeouts"):  # {"connect": s, "first_token": s, "idle": s}, any of them
        profile = _with(profile, timeouts=replace(profile.timeouts, **flags["timeouts"]),
                        src="flag")

    register_secret(profile.api_key)
    for env_name in ("AGENTDECK_API_KEY", "VLLM_API_KEY", "OPENAI_API_KEY"):
        register_secret(_env(env, env_name))  # masked in messages even when not used
    for key in ("base_url", "model", "api_key"):
        source[key] = profile.sources.get(key, "default")
    return profile


_FOREIGN = {"env VLLM_API_URL": "VLLM_API_KEY", "env OPENAI_BASE_URL": "OPENAI_API_KEY"}
"""Endpoint variables of other tools, each paired with the key variable that goes with it."""


def _profile_name(flags: Mapping[str, Any], env: Mapping[str, str],
                  profiles: dict[str, Profile], default: str | None,
                  check: Checker) -> tuple[str | None, str]:
    """The requested profile name and where the request came from (None: nobody asked)."""
    for value, src in ((flags.get("profile"), "flag"),
                       (_env(env, "AGENTDECK_PROFILE"), "env AGENTDECK_PROFILE"),
                       (default, "file")):
        if not value:
            continue
        name = str(value)
        if name not in profiles:
            defined = ", ".join(repr(n) for n in profiles)
            message = f"no profile named {name!r}; defined profiles: {defined}"
            if src == "file":
                raise check.fail("default_profile", message, error=ProfileNotFoundError)
            key = "--profile" if src == "flag" else "AGENTDECK_PROFILE"
            raise ProfileNotFoundError(message, key=key)
        return name, src
    return None, "default"


def _endpoint(flags: Mapping[str, Any], env: Mapping[str, str],
              skip_env: bool) -> tuple[str | None, str, str]:
    """(url, source, key name) of the highest tier that gives a base URL."""
    tiers = [("flag", flags.get("base_url"), "--base-url")]
    if not skip_env:  # an explicit --profile demo means the simulator, whatever the env says
        tiers += [(f"env {name}", _env(env, name), name)
                  for name in ("AGENTDECK_BASE_URL", "VLLM_API_URL", "OPENAI_BASE_URL")]
    for src, value, key in tiers:
        if value:
            return value, src, key
    return None, "default", "base_url"


def _key_tiers(flags: Mapping[str, Any], env: Mapping[str, str], url_src: str,
               has_own_key: bool) -> list[tuple[Any, str]]:
    """Candidate keys, highest first: a key follows its endpoint."""
    tiers = [(flags.get("api_key"), "flag"),
             (_env(env, "AGENTDECK_API_KEY"), "env AGENTDECK_API_KEY")]
    if url_src in _FOREIGN:
        tiers.append((_env(env, _FOREIGN[url_src]), f"env {_FOREIGN[url_src]}"))
    elif url_src in ("flag", "env AGENTDECK_BASE_URL") and not has_own_key:
        tiers += [(_env(env, name), f"env {name}") for name in _FOREIGN.values()]
    return tiers


def params(table: dict[str, Any], check: Checker, flags: Mapping[str, Any],
           env: Mapping[str, str], source: dict[str, str]) -> GenerationParams:
    """Default generation params: flags > AGENTDECK_TEMPERATURE/MAX_TOKENS > [params]."""
    known, extra = {}, {}
    for key, value in table.items():
        if key in _PARAM_KINDS:
            kind, limits = _PARAM_KINDS[key]
            known[key] = check.value(f"params.{key}", value, kind, **limits)
        else:
            found = non_finite(value, key)
            if found is not None:  # TOML reads nan and inf; a request's JSON cannot carry them
                where = "" if found[0] == key else f" (at {found[0]})"
                raise check.fail(f"params.{key}",
                                 f"must be a finite number, found {found[1]!r}{where}")
            extra[key] = value
        source[f"params.{key}"] = "file"
    params = GenerationParams(**known, extra=extra)
    for env_name, key in _ENV_PARAMS.items():
        if _env(env, env_name):
            kind, limits = _PARAM_KINDS[key]
            value = env_number(env, env_name, int if kind == "int" else float, **limits)
            params = params.merged(**{key: value})
            source[f"params.{key}"] = f"env {env_name}"
    # Named flags (--temperature) win over the same key given as -o KEY=VALUE ("params").
    from_flags = {k: (v, f"-o {k}") for k, v in (flags.get("params") or {}).items()}
    names = {f.name for f in fields(GenerationParams)} - {"extra"}
    from_flags.update({k: (v, f"--{k.replace('_', '-')}") for k, v in flags.items()
                       if k in names})
    for key, (value, flag) in from_flags.items():
        if key in _PARAM_KINDS and _PARAM_KINDS[key][0] in ("int", "float"):
            kind, limits = _PARAM_KINDS[key]
            value = _flag_checked(_number, value, int if kind == "int" else float, flag,
                                  **limits)
        elif non_finite(value, key) is not None:
            raise InputError(f"{flag}: must be finite: a request's JSON cannot carry nan or inf")
        params = params.merged(**{key: value})
        source[f"params.{key}"] = "flag"
    return params


def _number(raw: Any, cast: type, key: str, **limits: float) -> Any:
    """Parse a flag or environment value as int or float, range-checked, naming ``key``."""
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = cast(raw)
        if cast is int and isinstance(raw, float) and raw != value:
            raise ValueError
    except (TypeError, ValueError):
        kind = "a whole number" if cast is int else "a number"
        raise ConfigError(f"expected {kind}, found {raw!r}", key=key) from None
    return Checker(None, "").value(key, value, "int" if cast is int else "float", **limits)


def env_number(env: Mapping[str, str], name: str, cast: type, **limits: float) -> Any:
    """The number in environment variable ``name``."""
    return _number(env[name].strip(), cast, name, **limits)


def flag_number(raw: Any, name: str, cast: type, **limits: float) -> Any:
    """The number given as flag ``--name``.

    Raises:
        InputError: not such a number, or out of range.
    """
    return _flag_checked(_number, raw, cast, f"--{name.replace('_', '-')}", **limits)


def _flag_checked(check: Any, *args: Any, **kwargs: Any) -> Any:
    """``check(*args, **kwargs)``, its ConfigError about a command-line value as the bad input
    it is: ``--temperature: must be at least 0, found -1.0`` (exit 2, not a config error)."""
    try:
        return check(*args, **kwargs)
    except ConfigError as exc:
        raise InputError(f"{exc.key}: {bare_message(exc)}") from None


def warn_if_readable(path: Path, warnings: list[str]) -> None:
    """Warn when a file holding a key can be read by group or others."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return
    if mode & 0o077:
        warnings.append(f"{path} holds an API key and is readable by others (mode {mode:o}); "
                        f"run: chmod 600 {path}")


def concurrency(doc: Mapping[str, Any], check: Checker, flags: Mapping[str, Any],
                env: Mapping[str, str], source: dict[str, str]) -> int:
    """Requests in flight per run: flag > AGENTDECK_CONCURRENCY > file > 16."""
    value, source["concurrency"] = DEFAULT_CONCURRENCY, "default"
    if "concurrency" in doc:
        value = check.value("concurrency", doc["concurrency"], "int", minimum=1)
        source["concurrency"] = "file"
    if _env(env, "AGENTDECK_CONCURRENCY"):
        value = env_number(env, "AGENTDECK_CONCURRENCY", int, minimum=1)
        source["concurrency"] = "env AGENTDECK_CONCURRENCY"
    if "concurrency" in flags:
        value = flag_number(flags["concurrency"], "concurrency", int, minimum=1)
        source["concurrency"] = "flag"
    return value
