"""The registry of systems: what each one needs, and the one entry point every system answers.

Each system declares a ``SystemSpec``: its key and label, the inputs it takes (an attachment,
a number of calls, rounds, an aggregation, more options) with their defaults and limits, and a
``make`` that builds it for a ``RunRequest``. Every built system answers ``run_request(request)``
with a ``RunResult``, whatever its seed-style ``run(...)`` looks like. The CLI's commands (every
input, with its flag, checks and parsing) are generated from these declarations; so are the
app's picker (its systems, the fields for calls, rounds and aggregation where declared) and its
output view. The other options (``SystemSpec.options``) are the CLI's and the library's: the app
leaves them at their defaults. A new system is one file and one ``register(spec)``. The
built-ins are declared in ``systems.declarations``, apart from their code, and registered on
first use: importing this, or listing the systems, loads no system. Plugins (installed
packages, files in the user's folder) are found by ``systems.plugins`` and registered here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .inputs import CONCURRENCY, Attachment, Option
from .request import RunRequest, RunResult, System, WorkerResult

if TYPE_CHECKING:
    from ..client.model import BaseModel

__all__ = [
    "COMMANDS", "CONCURRENCY", "Attachment", "Option", "RunRequest", "RunResult",
    "System", "SystemSpec", "WorkerResult", "find", "get", "register", "specs", "unregister",
]

COMMANDS = ("runs", "models", "examples", "sim", "systems", "run")
"""The CLI's commands that are not systems: no system may take their names."""


@dataclass(frozen=True)
class SystemSpec:
    """One system's declaration: what it is, what it needs, how to build it."""

    key: str
    """Its name: the CLI command (unless ``command`` says otherwise) and the manifest's system."""
    label: str
    """Its name in the app: "Multi-call"."""
    summary: str
    """One line: the CLI's command list, the picker's tooltip."""
    make: Callable[[BaseModel, RunRequest], System]
    """Build the system for a request (``prepare`` it first: ``make`` checks nothing)."""
    description: str = ""
    """The CLI command's ``--help`` text (default: the summary)."""
    command: str = ""
    """The CLI command (default: the key). Systems sharing one differ by their attachment:
    the file flag given picks the one that needs it (``ask`` and ``ask --context``)."""
    prompt: str = "prompt"
    """What the prompt is to the system ("question"), for messages."""
    prompt_help: str = "the prompt"
    attachment: Attachment = Attachment()
    calls: Option | None = None
    rounds: Option | None = None
    aggregate: Option | None = None
    concurrency: Option | None = None
    """Declared (``CONCURRENCY``) by a system that runs calls in parallel: the CLI offers the
    flag. Every system takes a request's concurrency, checked against ``CONCURRENCY``."""
    options: tuple[Option, ...] = ()
    view: str = "grid"
    """How the app shows a run: ``stream`` (one answer), ``grid`` (parallel workers), ``chain``."""
    answer_worker: str | None = None
    """The worker whose text is the answer, shown as it streams (None: the answer comes after)."""

    def inputs(self) -> tuple[Option, ...]:
        """Every declared input, in CLI order."""
        found = (self.calls, self.aggregate, self.rounds, self.concurrency)
        return tuple(o for o in found if o is not None) + self.options

    def prepare(self, request: RunRequest, *, how_to_attach: str = "") -> RunRequest:
        """``request`` checked against this declaration, with the declared defaults filled in.

        Args:
            request: what the caller asks for.
            how_to_attach: how the caller's user attaches a file ("attach one with ctrl+o"),
                added to the message when a required attachment is missing.

        Raises:
            InputError: an empty prompt, a missing attachment, an input out of its limits or
                one this system does not take.
        """
        if not isinstance(request.prompt, str) or not request.prompt.strip():
            raise InputError(f"the {self.prompt} is empty")
        need = self.attachment.need
        if need == "required" and not request.attachment:
            hint = f": {how_to_attach}" if how_to_attach else ""
            raise InputError(f"{self.key} needs {self.attachment.what}{hint}")
        if request.concurrency is not None:
            (self.concurrency or CONCURRENCY).check(request.concurrency)
        aggregate = None if request.aggregate == "none" else request.aggregate
        return replace(
            request,
            attachment=request.attachment if need != "none" else None,
            calls=self._input("calls", request.calls),
            rounds=self._input("rounds", request.rounds),
            aggregate=self._input("aggregate", aggregate),
            options=self._options(dict(request.options)),
        )

    def _input(self, name: str, value: Any) -> Any:
        """One of the standard inputs: checked, or its default; refused when not declared."""
        declared: Option | None = getattr(self, name)
        if declared is None:
            if value is not None:
                raise InputError(f"{self.key} takes no {name}")
            return None
        return declared.default if value is None else declared.check(value)

    def _options(self, given: dict[str, Any]) -> dict[str, Any]:
        """The other options: checked, defaults filled in, unknown names refused."""
        known = {o.name: o for o in self.options}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise InputError(f"{self.key} takes no option {', '.join(unknown)}")
        found = {}
        for name, option in known.items():
            value = given.get(name)
            value = option.default if value is None else option.check(value)
            if value is not None:
                found[name] = value
        return found

    async def run(self, model: BaseModel, request: RunRequest) -> RunResult:
        """Prepare ``request``, build the system and run it, in one call.

        For a caller that needs no hold on the running system. The front ends take the same
        steps one by one: ``prepare`` before connecting (bad input is refused before anything
        is sent), ``make``, then ``run_request`` on the system they keep, to cancel it.

        Raises:
            InputError: see ``prepare``.
            AgentDeckError: the run failed as a whole (a single answer's request failed).
            asyncio.CancelledError: the run was cancelled.
        """
        request = self.prepare(request)
        return await self.make(model, request).run_request(request)


_SPECS: dict[str, SystemSpec] = {}
_loaded = False


def _load_builtins() -> None:
    """Register the built-ins, once and first (their declarations only: no system's code)."""
    global _loaded
    if not _loaded:
        _loaded = True
        from .declarations import SPECS

        for spec in SPECS:
            _SPECS[spec.key] = spec


def register(spec: SystemSpec) -> SystemSpec:
    """Add ``spec`` (or replace the one with its key); returns it, so it can decorate a spec.

    Raises:
        InputError: the key or command is not a usable command name, or the command is one of
            agentdeck's own (``COMMANDS``) or another system's.
    """
    command = spec.command or spec.key
    for what, name in (("key", spec.key), ("command", command)):
        if name[:1] in ("", "-") or not name.replace("-", "").replace("_", "").isalnum():
            raise InputError(f"a system {what} must be letters, digits, - and _, not starting "
                             f"with -: got {name!r}")
    if command in COMMANDS:
        raise InputError(f"system {spec.key!r} cannot be a command: {command!r} is "
                         "agentdeck's own command; set the spec's command to another name")
    _load_builtins()
    replaced = _SPECS.get(spec.key)
    if replaced is None or command != (replaced.command or replaced.key):
        owner = next((s.key for s in _SPECS.values()
                      if s.key != spec.key and (s.command or s.key) == command), None)
        if owner is not None:
            raise InputError(f"system {spec.key!r} cannot be a command: command {command!r} "
                             f"belongs to system {owner!r}; set the spec's command to another "
                             "name")
    _SPECS[spec.key] = spec
    return spec


def unregister(key: str) -> None:
    """Remove the system ``key`` (a no-op when there is none)."""
    _load_builtins()
    _SPECS.pop(key, None)


def specs() -> tuple[SystemSpec, ...]:
    """Every registered system, built-ins first."""
    _load_builtins()
    return tuple(_SPECS.values())


def find(key: str) -> SystemSpec | None:
    """The system ``key``, or None."""
    _load_builtins()
    return _SPECS.get(key)


def get(key: str) -> SystemSpec:
    """The system ``key``.

    Raises:
        InputError: no system has that key.
    """
    _load_builtins()
    spec = _SPECS.get(key)
    if spec is None:
        raise InputError(f"unknown system {key!r}; known: {', '.join(_SPECS)}")
    return spec
