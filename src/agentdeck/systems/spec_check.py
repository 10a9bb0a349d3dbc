"""Whether a plugin's ``SystemSpec`` makes sense before it is registered.

A built-in's declaration is checked by its tests; a plugin's is checked here, so that a typo in
someone's file becomes one line in ``agentdeck systems`` rather than a parser that cannot be
built (two options on one flag, a flag the CLI already has) or a field the app cannot fill.
"""

from __future__ import annotations

from .declarations import COMMAND_OPTIONS
from .inputs import Attachment, Option
from .registry import SystemSpec

__all__ = ["CLI_FLAGS", "COMMON_FLAGS", "RESERVED_NAMES", "check_spec"]

COMMON_FLAGS = frozenset({
    "-h", "--help", "--profile", "--base-url", "--model", "--api-key-env", "--demo", "--timeout",
    "--connect-timeout", "--first-token-timeout", "--idle-timeout", "--temperature",
    "--max-tokens", "--top-p", "--seed", "-o", "--option", "--no-record", "-q", "--quiet",
    "--json", "--events", "--raw",
})
"""The flags every run command has (``cli``'s common flags; a test keeps the two equal)."""
CLI_FLAGS = COMMON_FLAGS | {o.flag for o in COMMAND_OPTIONS}
"""Every flag of a run command that is not a system's own: the common ones and those the CLI
adds per command (``declarations.COMMAND_OPTIONS``, which its parser is built from)."""
RESERVED_NAMES = frozenset(
    {f.lstrip("-").replace("-", "_") for f in CLI_FLAGS if f.startswith("--")}
    | {o.name for o in COMMAND_OPTIONS}
    | {"options", "prompt", "attachment", "specs", "inputs", "handler", "streams", "command",
       "system", "takes"}
)
"""Option names the CLI's parsed arguments already use."""
VIEWS = ("stream", "grid", "chain")
_SLOTS = {"calls": "int", "rounds": "int", "aggregate": "choice", "concurrency": "int"}
"""The standard inputs: the spec's field, which is also the option's name, and its kind."""


def check_spec(spec: SystemSpec) -> str:
    """What is wrong with ``spec`` as a plugin's declaration ('' when nothing is)."""
    for field in ("key", "label", "summary"):
        value = getattr(spec, field)
        if not isinstance(value, str) or not value.strip():
            return f"its {field} must be some text, got {value!r}"
    if not callable(spec.make):
        return f"make must be a callable (model, request) -> system, got {spec.make!r}"
    if spec.view not in VIEWS:
        return f"view must be one of {', '.join(VIEWS)}, got {spec.view!r}"
    if spec.answer_worker is not None and not isinstance(spec.answer_worker, str):
        return f"answer_worker must be a worker id or None, got {spec.answer_worker!r}"
    attachment = spec.attachment
    if not isinstance(attachment, Attachment):
        return f"attachment must be an Attachment, got {attachment!r}"
    if attachment.need not in ("none", "optional", "required"):
        return f"attachment need must be none, optional or required, got {attachment.need!r}"
    flags: set[str] = set()
    if attachment.need != "none":
        problem = _flag(attachment.flag, "the attachment's", flags)
        if problem:
            return problem
    for slot, kind in _SLOTS.items():
        option = getattr(spec, slot)
        if option is not None and (not isinstance(option, Option) or option.name != slot
                                   or option.kind != kind):
            return f"its {slot} must be an Option named {slot!r} of kind {kind!r}"
    names: set[str] = set()
    for option in spec.options:
        if not isinstance(option, Option):
            return f"options must be Option declarations, got {option!r}"
        if option.name in _SLOTS:
            return f"option {option.name!r} is a standard input: declare it as the spec's " \
                   f"{option.name}"
    for option in spec.inputs():
        problem = _option(option, flags, names)
        if problem:
            return f"option {option.name!r}: {problem}"
    return ""


def _flag(flag: object, whose: str, taken: set[str]) -> str:
    if not isinstance(flag, str) or not flag.startswith("-") or len(flag) < 2 or " " in flag:
        return f"{whose} flag must be one such as --file, got {flag!r}"
    if flag in CLI_FLAGS:
        return f"{whose} flag {flag} is one of agentdeck's own: choose another"
    if flag in taken:
        return f"{whose} flag {flag} is declared twice"
    taken.add(flag)
    return ""


def _option(option: Option, flags: set[str], names: set[str]) -> str:
    if not isinstance(option.name, str) or not option.name.isidentifier():
        return "its name must be a Python identifier"
    if option.name in RESERVED_NAMES and option.name not in _SLOTS:
        return "that name is one of the command line's own: choose another"
    if option.name in names:
        return "declared twice"
    names.add(option.name)
    problem = _flag(option.flag, "its", flags)
    if problem:
        return problem
    if option.kind == "choice" and not option.choices:
        return "a choice needs its choices"
    low, high = option.minimum, option.maximum
    if low is not None and high is not None and low > high:
        return f"its minimum {low} is above its maximum {high}"
    for what, value in (("default", option.default), ("cli_default", option.cli_default)):
        if value is not None and option.kind != "folder" and not option.fits(value):
            return f"its {what} {value!r} does not fit its own declaration"
    return ""
