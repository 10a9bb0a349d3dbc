"""What a system takes besides the prompt: an ``Attachment`` and its ``Option`` inputs.

An option declares its kind, default and limits once; ``check`` (a value from a caller) and
``parse`` (the text of a flag or a form field) read it, so no front end and no system repeats
a limit or re-implements parsing.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from ..errors import InputError

__all__ = ["CONCURRENCY", "KINDS", "Attachment", "Option"]

KINDS = ("int", "number", "text", "switch", "choice", "numbers", "folder", "targets")
"""The kinds of ``Option``."""
_ON, _OFF = ("on", "yes", "true", "1"), ("off", "no", "false", "0")


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
    """One input of a system, with its default and limits (a calls count, a folder, a switch).

    ``check`` takes a value as a caller passes it, ``parse`` the text of a flag or a field:
    a front end reads every input through them and never re-implements either.
    """

    name: str
    """Key in ``RunRequest.options`` (``calls``, ``rounds``, ``aggregate`` and ``concurrency``
    are fields of the request)."""
    flag: str
    """The CLI flag: ``-n``, ``--chunk-size``."""
    help: str = ""
    kind: str = "int"
    """``int``, ``number`` (finite, within the limits: a temperature), ``text``, ``switch``
    (on/off), ``choice``, ``numbers`` (a list of numbers within the limits; as text,
    comma-separated), ``folder`` (created if needed, must be writable) or ``targets`` (compare's
    targets, ``minimum`` to ``maximum`` of them: see ``config.targets``; the CLI's flag is given
    once per target, a form field's text separates them with ``;`` or new lines)."""
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

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"option {self.name}: kind must be one of {', '.join(KINDS)}, "
                             f"got {self.kind!r}")

    @property
    def many(self) -> bool:
        """The CLI's flag is given once per value (``--target A --target B``)."""
        return self.kind == "targets"

    def or_default(self, value: Any) -> Any:
        """``value``, or the declared default when it is None."""
        return self.default if value is None else value

    def fits(self, value: Any) -> bool:
        """Whether ``check`` takes ``value`` (a folder is created, as ``check`` does)."""
        try:
            self.check(value)
        except InputError:
            return False
        return True

    def check(self, value: Any, name: str | None = None) -> Any:
        """``value`` as the system takes it, if it fits this declaration.

        An int within the limits; a finite number within the limits; one of the choices; a
        string for text; True or False for a switch; a non-empty list of numbers within the
        limits (returned as a list); a path for a folder (created if needed and writable;
        returned as a string).

        Raises:
            InputError: it does not fit, in a message naming ``name`` (default: the title).
        """
        name = name or self.title or self.flag
        kind = self.kind
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"{name} must be a whole number, got {value!r}")
            self._within(value, name)
        elif kind == "number":
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not math.isfinite(value)):
                raise InputError(f"{name} must be a finite number, got {value!r}")
            self._within(value, name)
        elif kind == "choice":
            if value not in self.choices:
                raise InputError(f"{name} must be one of {', '.join(self.choices)}, got {value!r}")
        elif kind == "text":
            if not isinstance(value, str):
                raise InputError(f"{name} must be text, got {value!r}")
        elif kind == "switch":
            if not isinstance(value, bool):
                raise InputError(f"{name} must be True or False, got {value!r}")
        elif kind == "numbers":
            return self._numbers(value, name)
        elif kind == "targets":
            return self._targets(value, name)
        else:  # folder
            if not isinstance(value, (str, os.PathLike)):
                raise InputError(f"{name} must be a folder path, got {value!r}")
            from .output_files import prepare_output_dir

            return str(prepare_output_dir(value))
        return value

    def parse(self, text: str, name: str | None = None) -> Any:
        """``text`` (a flag's or a form field's) read as this kind, then checked.

        Blank text is no value: None, so the declared default applies.

        Raises:
            InputError: the text does not read as this kind, or the value does not fit.
        """
        name = name or self.title or self.flag
        if not text.strip():
            return None
        if self.kind == "int":
            try:
                value: Any = int(text)
            except ValueError:
                raise InputError(f"{name} must be a whole number, got {text!r}") from None
        elif self.kind == "number":
            try:
                value = float(text)
            except ValueError:
                raise InputError(f"{name} must be a number, got {text!r}") from None
        elif self.kind == "switch":
            word = text.strip().lower()
            if word not in _ON + _OFF:
                raise InputError(f"{name} must be on or off, got {text!r}")
            value = word in _ON
        elif self.kind == "numbers":
            try:
                value = [float(part) for part in text.split(",") if part.strip()]
            except ValueError:
                raise InputError(f"{name} must be numbers separated by commas, got {text!r}") \
                    from None
        elif self.kind == "targets":  # one text, several targets: ';' or a new line between
            value = [part for part in text.replace("\n", ";").split(";") if part.strip()]
        else:
            value = text.strip() if self.kind == "choice" else text
        return self.check(value, name)

    def _within(self, value: float, name: str) -> None:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None and not low <= value <= high:
            raise InputError(f"{name} must be between {low} and {high}, got {value}")
        if low is not None and value < low:
            raise InputError(f"{name} must be at least {low}, got {value}")
        if high is not None and value > high:
            raise InputError(f"{name} must be at most {high}, got {value}")

    def _targets(self, value: Any, name: str) -> list[Any]:
        """A list of ``config.targets.Target`` (each given as one, as its text or a mapping)."""
        from ..config.targets import to_target

        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise InputError(f"{name} must be a list of targets, got {value!r}")
        targets = []
        for i, item in enumerate(value, 1):
            try:
                targets.append(to_target(item))
            except InputError as exc:
                raise InputError(f"{name} #{i}: {exc.message}") from None
        self._within_count(len(targets), name)
        return targets

    def _within_count(self, count: int, name: str) -> None:
        low, high = self.minimum or 0, self.maximum
        if count < low or (high is not None and count > high):
            limits = f"{low} to {high}" if high is not None else f"at least {low}"
            raise InputError(f"{name}: give {limits} targets, got {count}")

    def _numbers(self, value: Any, name: str) -> list[float]:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise InputError(f"{name} must be a list of numbers, got {value!r}")
        values = list(value)
        if not values:
            raise InputError(f"{name} is an empty list")
        low, high = self.minimum, self.maximum
        bounds = (f" between {low} and {high}" if low is not None and high is not None
                  else f" >= {low}" if low is not None
                  else f" <= {high}" if high is not None else "")
        for v in values:
            if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                    or (low is not None and v < low) or (high is not None and v > high)):
                raise InputError(f"{name} must be numbers{bounds}, got {v!r}")
        return values


CONCURRENCY = Option("concurrency", "--concurrency", "most calls in flight", minimum=1,
                     title="concurrency", metavar="K")
"""The run's concurrency cap (``RunRequest.concurrency``): every system takes one."""
