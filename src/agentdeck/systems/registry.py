"""The registry of systems: what each one needs, and one way to run any of them.

Each system declares a ``SystemSpec``: its key and label, the inputs it takes (an attachment,
a number of calls, rounds, an aggregation, more options) with their defaults and limits, and a
``make`` that builds it for a ``RunRequest``. Every built system answers ``run_request(request)``
with a ``RunResult``, whatever its seed-style ``run(...)`` looks like. The CLI's commands, the
app's picker and its output view are generated from these declarations, so a new system is one
file and one ``register(spec)``. The built-ins are declared beside their code and load on first
use (``BUILTIN``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .request import RunRequest, RunResult, System, WorkerResult

if TYPE_CHECKING:
    from ..client.model import BaseModel

__all__ = [
    "BUILTIN", "COMMANDS", "CONCURRENCY", "Attachment", "Option", "RunRequest", "RunResult",
    "System", "SystemSpec", "WorkerResult", "find", "get", "register", "specs", "unregister",
]

BUILTIN = ("agents", "chain", "multi", "debate")
"""Modules of ``agentdeck.systems`` whose ``SPECS`` are registered first, in picker order."""
COMMANDS = ("runs", "models", "examples", "sim")
"""The CLI's commands that are not systems: no system may take their names."""


@dataclass(frozen=True)
class Attachment:
    """The text a system reads besides the prompt: a context file, a long text..."""

    need: str = "none"
    """``none``, ``optional`` or ``required``."""
    what: str = ""
    """What the text is to the system, for messages: "a context file"."""
    noun: str = ""
    """The kind of file, for the messages of the file reader: "context file"."""
    flag: str = ""
    """The CLI's flag that names the file: ``--context``."""
    help: str = ""


@dataclass(frozen=True)
class Option:
    """One input of a system, with its default and limits (a calls count, a folder, a switch)."""

    name: str
    """Key in ``RunRequest.options`` (``calls``, ``rounds`` and ``aggregate`` are fields)."""
    flag: str
    """The CLI flag: ``-n``, ``--chunk-size``."""
    help: str = ""
    kind: str = "int"
    """``int``, ``text``, ``switch`` (on/off), ``choice``, ``numbers`` (a comma list of numbers
    >= ``minimum``) or ``folder`` (created if needed, must be writable)."""
    default: Any = None
    """What the system assumes when the request leaves it out."""
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    title: str = ""
    """The name messages use outside the CLI: "number of calls"."""
    required: bool = False
    """The CLI asks for it (no default there)."""
    cli_default: Any = None
    """The CLI's default when it differs from ``default`` (multi's output folder)."""
    metavar: str | None = None

    def check(self, value: Any, name: str | None = None) -> Any:
        """``value`` if it is within the limits, else InputError naming ``name`` (or the title).

        Raises:
            InputError: out of range, not a whole number, or not one of the choices.
        """
        name = name or self.title or self.flag
        if self.kind == "choice":
            if value not in self.choices:
                raise InputError(f"{name} must be one of {', '.join(self.choices)}, got {value!r}")
            return value
        if self.kind != "int":
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{name} must be a whole number, got {value!r}")
        low, high = self.minimum, self.maximum
        if low is not None and high is not None and not low <= value <= high:
            raise InputError(f"{name} must be between {low} and {high}, got {value}")
        if low is not None and value < low:
            raise InputError(f"{name} must be at least {low}, got {value}")
        if high is not None and value > high:
            raise InputError(f"{name} must be at most {high}, got {value}")
        return value


CONCURRENCY = Option("concurrency", "--concurrency", "most calls in flight", minimum=1,
                     title="concurrency", metavar="K")
"""The run's concurrency cap as an option (it lands in ``RunRequest.concurrency``)."""


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
    """Build the system for a prepared request (see ``prepare``)."""
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
    options: tuple[Option, ...] = ()
    view: str = "grid"
    """How the app shows a run: ``stream`` (one answer), ``grid`` (parallel workers), ``chain``."""
    answer_worker: str | None = None
    """The worker whose text is the answer, shown as it streams (None: the answer comes after)."""

    def inputs(self) -> tuple[Option, ...]:
        """Every declared input, in CLI order."""
        found = (self.calls, self.aggregate, self.rounds)
        return tuple(o for o in found if o is not None) + self.options

    def prepare(self, request: RunRequest) -> RunRequest:
        """``request`` checked against this declaration, with the declared defaults filled in.

        Raises:
            InputError: an empty prompt, a missing attachment, an input out of its limits or
                one this system does not take.
        """
        if not isinstance(request.prompt, str) or not request.prompt.strip():
            raise InputError(f"the {self.prompt} is empty")
        need = self.attachment.need
        if need == "required" and not request.attachment:
            raise InputError(f"{self.key} needs {self.attachment.what}")
        options = dict(request.options)
        concurrency = options.pop("concurrency", request.concurrency)
        if concurrency is not None:
            CONCURRENCY.check(concurrency)
        aggregate = None if request.aggregate == "none" else request.aggregate
        return replace(
            request,
            attachment=request.attachment if need != "none" else None,
            calls=self._input("calls", request.calls),
            rounds=self._input("rounds", request.rounds),
            aggregate=self._input("aggregate", aggregate),
            options=self._options(options),
            concurrency=concurrency,
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
        known = {o.name: o for o in self.options if o.name != "concurrency"}
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
        """The one way to run any system: prepare ``request``, build, run.

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
    """Register the built-ins, once and first (deferred: importing this loads no system)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for name in BUILTIN:
            for spec in importlib.import_module(f".{name}", __package__).SPECS:
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
