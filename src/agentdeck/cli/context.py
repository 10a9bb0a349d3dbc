"""Per-invocation state of a CLI command: settings, output, listeners, the model connection."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from ..errors import InputError
from ..events import SCHEMA, iso_time
from ..types import GenerationParams, now
from .inputs import check_timeout, parse_options
from .output import EventWriter, Output, json_line
from .progress import Progress

__all__ = ["Ctx", "check_flags", "check_inputs", "load", "settings_flags"]


def check_flags(args: argparse.Namespace) -> None:
    """Read the flags the settings take: the timeouts and ``-o KEY=VALUE`` (one line each).

    The generation params' ranges (``--temperature``, ``-o top_p=``) are checked once, where
    the settings are resolved (``config.precedence.params``), with the config file's.
    """
    for name in TIMEOUTS:
        check_timeout(getattr(args, name, None), f"--{name.replace('_', '-')}")
    args.options = parse_options(getattr(args, "options", None))


def check_inputs(args: argparse.Namespace, folders: bool = False) -> None:
    """Read and check a command's own inputs before anything is sent (one clear line each).

    Its inputs (``args.inputs``, from the registry of systems) are read from their text by
    their declarations (``Option.parse``), checked, named by their flags, and put back in
    ``args`` as the system takes them. ``main`` reads the folders last (``folders=True``),
    after the settings: one is created only when everything else is right.
    """
    inputs = {o.name: o for o in getattr(args, "inputs", ())}  # commands may share one
    for option in inputs.values():
        if (option.kind == "folder") is not folders:
            continue
        value = getattr(args, option.name, None)
        if isinstance(value, str):
            value = option.parse(value, option.flag)
        elif value is not None:
            value = option.check(value, option.flag)
        setattr(args, option.name, value)


TIMEOUTS = ("timeout", "connect_timeout", "first_token_timeout", "idle_timeout")
"""The timeout flags' dests: ``--timeout`` sets the three, each of the others one."""


def settings_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags ``load_settings`` takes from this command line (None: not given)."""
    flags = {name: getattr(args, name, None) for name in
             ("profile", "base_url", "model", "temperature", "max_tokens", "top_p", "seed",
              "concurrency")}
    flags["params"] = getattr(args, "options", None) or None
    every = getattr(args, "timeout", None)
    timeouts = {name: every for name in ("connect", "first_token", "idle")} if every else {}
    for name in ("connect", "first_token", "idle"):
        value = getattr(args, f"{name}_timeout", None)
        if value is not None:  # one given by itself wins over --timeout
            timeouts[name] = value
    flags["timeouts"] = timeouts or None
    env_name = getattr(args, "api_key_env", None)
    if env_name:
        key = os.environ.get(env_name)
        if not key:
            raise InputError(f"--api-key-env {env_name}: that environment variable is not set")
        flags["api_key"] = key
    return flags


def load(args: argparse.Namespace) -> Any:
    """The settings for this command line.

    Raises:
        InputError: a flag's value the settings refuse (``-o temperature=-1``, ``--base-url
            foo``): bad input, exit 2.
        ConfigError: the config file or an environment variable is wrong, or no such profile.
    """
    from ..config.settings import load_settings

    return load_settings(settings_flags(args))


class Ctx:
    """Everything one command needs; built by ``main`` after the arguments parsed."""

    def __init__(self, args: argparse.Namespace, out: Output, settings: Any) -> None:
        self.args = args
        self.out = out
        self.settings = settings
        self.demo = bool(getattr(args, "demo", False))
        # A bar redrawn in place would tear text streaming to the same terminal.
        text_on_tty = out.out_tty and self.streams_text and getattr(args, "streams", False)
        self.progress = Progress(out, enabled=not getattr(args, "quiet", False),
                                 live=out.err_tty and not text_on_tty)
        self.events = (EventWriter(out, recorded=self.recorded)
                       if getattr(args, "events", False) else None)

    @property
    def streams_text(self) -> bool:
        """Model text goes to stdout as it arrives (not with --json or --events)."""
        return not (self.args.json or self.args.events)

    def listeners(self) -> list[Any]:
        """Progress on stderr, plus JSON lines of every event with --events."""
        found: list[Any] = [self.progress]
        if self.events is not None:
            found.append(self.events)
        return found

    @property
    def recorded(self) -> bool:
        """The run is kept in the run store (no --no-record)."""
        return not getattr(self.args, "no_record", False)

    def run_options(self) -> dict[str, Any]:
        """Keyword options every agent/system takes: listeners, store, concurrency."""
        concurrency = getattr(self.args, "concurrency", None) or self.settings.concurrency
        return {"listeners": self.listeners(),
                "store": self.recorded,  # True: the default store
                "concurrency": concurrency}

    def params(self) -> GenerationParams:
        """Generation params for every request: the settings' (flags and -o applied)."""
        from ..config.params import run_params

        return run_params(self.settings)

    def emit_result(self, doc: dict[str, Any]) -> None:
        """With --events, the final document as the last JSON line (``"event": "Result"``)."""
        if self.events is not None:
            self.out.write(json_line({"schema": SCHEMA, "event": "Result",
                                      "time": iso_time(now()), **doc}))

    @contextlib.asynccontextmanager
    async def connect(self, check: bool = True) -> AsyncIterator[Any]:
        """The model to use: the configured endpoint, or an in-process simulator; with
        ``check``, a model the server does not list is refused here, once, before any request
        (``connect.check_model``)."""
        from .connect import open_model

        async with open_model(self.settings, self.out, demo=self.demo, check=check) as model:
            yield model
