"""Per-invocation state of a CLI command: settings, output, listeners, the model connection."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

from ..errors import InputError
from .output import EventWriter, Output, Progress, to_jsonable

__all__ = ["Ctx", "check_numbers", "settings_flags"]


def check_numbers(args: argparse.Namespace) -> None:
    """Refuse impossible numbers before anything is sent (one clear line each)."""
    from ..systems.debate import MAX_AGENTS, MAX_ROUNDS
    from ..systems.multi import MAX_CALLS

    temperature = getattr(args, "temperature", None)
    if temperature is not None and temperature < 0:
        raise InputError(f"--temperature must be 0 or more, got {temperature:g}")
    top_p = getattr(args, "top_p", None)
    if top_p is not None and not 0 < top_p <= 1:
        raise InputError(f"--top-p must be in (0, 1], got {top_p:g}")
    for flag, name in (("--max-tokens", "max_tokens"), ("--concurrency", "concurrency"),
                       ("--chunk-size", "chunk_size"), ("--unit-tokens", "unit_tokens")):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise InputError(f"{flag} must be at least 1, got {value}")
    n = getattr(args, "n", None)
    if n is not None and not 1 <= n <= MAX_CALLS:
        raise InputError(f"-n must be between 1 and {MAX_CALLS}, got {n}")
    agents = getattr(args, "agents", None)
    if agents is not None and not 2 <= agents <= MAX_AGENTS:
        raise InputError(f"--agents must be between 2 and {MAX_AGENTS}, got {agents}")
    rounds = getattr(args, "rounds", None)
    if rounds is not None and not 0 <= rounds <= MAX_ROUNDS:
        raise InputError(f"--rounds must be between 0 and {MAX_ROUNDS}, got {rounds}")


def settings_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags ``load_settings`` takes from this command line (None: not given)."""
    flags = {name: getattr(args, name, None) for name in
             ("profile", "base_url", "model", "temperature", "max_tokens", "top_p", "seed",
              "concurrency")}
    env_name = getattr(args, "api_key_env", None)
    if env_name:
        key = os.environ.get(env_name)
        if not key:
            raise InputError(f"--api-key-env {env_name}: that environment variable is not set")
        flags["api_key"] = key
    return flags


class Ctx:
    """Everything one command needs; built by ``main`` after the arguments parsed."""

    def __init__(self, args: argparse.Namespace, out: Output, settings: Any) -> None:
        self.args = args
        self.out = out
        self.settings = settings
        self.demo = bool(getattr(args, "demo", False))
        # A bar redrawn in place would tear text streaming to the same terminal.
        text_on_tty = out.out_tty and self.streams_text and args.command in ("ask", "chain")
        self.progress = Progress(out, enabled=not getattr(args, "quiet", False),
                                 live=out.err_tty and not text_on_tty)
        self.events = EventWriter(out) if getattr(args, "events", False) else None

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

    def run_options(self) -> dict[str, Any]:
        """Keyword options every agent/system takes: listeners, store, concurrency."""
        concurrency = getattr(self.args, "concurrency", None) or self.settings.concurrency
        return {"listeners": self.listeners(),
                "store": False if getattr(self.args, "no_record", False) else None,
                "concurrency": concurrency}

    def params(self) -> dict[str, Any]:
        """Generation params for every request (settings, with the flags applied)."""
        return self.settings.params.to_body()

    def emit_result(self, doc: dict[str, Any]) -> None:
        """With --events, the final result as the last JSON line."""
        if self.events is not None:
            self.out.stdout.write(json.dumps({"event": "Result", **to_jsonable(doc)},
                                             ensure_ascii=False) + "\n")
            self.out.stdout.flush()

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[Any]:
        """The model to use: the configured endpoint, or an in-process simulator."""
        from .connect import open_model

        async with open_model(self.settings, self.out, demo=self.demo) as model:
            yield model
