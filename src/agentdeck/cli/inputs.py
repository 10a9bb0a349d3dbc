"""The command line's own inputs: the prompt (argument or stdin), ``-o KEY=VALUE``, timeouts.

A system's inputs are read and checked by their declarations (``Option.parse``, see
``context.check_inputs``); files by ``fsutil.read_text_file``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import InputError
from ..fsutil import MAX_FILE_BYTES, human_size

__all__ = ["STDIN", "check_output_dir", "check_prompt", "check_timeout", "is_tty",
           "parse_options", "prompt_text", "read_stdin"]

STDIN = "-"
"""The prompt (or file) argument that means: read standard input."""
RESERVED = {"model": "--model", "messages": "the prompt", "stream": None}
"""Body keys ``-o`` cannot set: the client sends them itself (with the flag that sets one)."""


def check_prompt(prompt: str | None, what: str = "prompt") -> str:
    """Refuse an empty or blank prompt."""
    if prompt is None or not prompt.strip():
        raise InputError(f"the {what} is empty")
    return prompt


def read_stdin(what: str, stdin: Any = None) -> str:
    """All of standard input as text, refused as ``read_text_file`` refuses a file.

    Raises:
        InputError: more than ``MAX_FILE_BYTES``, NUL bytes (binary), or nothing but blanks.
    """
    stream = stdin or sys.stdin
    raw: BinaryIO | None = getattr(stream, "buffer", None)
    data = raw.read(MAX_FILE_BYTES + 1) if raw is not None else stream.read().encode()
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"the {what} on stdin is above the {human_size(MAX_FILE_BYTES)} limit")
    if b"\x00" in data:
        raise InputError(f"the {what} on stdin looks binary (it contains NUL bytes)")
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise InputError(f"the {what} is empty (stdin gave no text)")
    return text


def prompt_text(arg: str | None, what: str = "prompt", stdin: Any = None) -> str:
    """The prompt: the argument, or stdin when the argument is ``-`` or missing and stdin is
    not a terminal.

    Raises:
        InputError: no argument with stdin a terminal, or an empty prompt.
    """
    stream = stdin or sys.stdin
    if arg == STDIN or (arg is None and stream is not None and not is_tty(stream)):
        return read_stdin(what, stream)
    if arg is None:
        raise InputError(f"give the {what} as an argument, or pipe it on stdin "
                         f"(`{STDIN}` reads stdin)")
    return check_prompt(arg, what)


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """``-o KEY=VALUE`` pairs as request params: a value is JSON when it parses, else text.

    ``-o top_k=20 -o ignore_eos=true -o 'stop=["\\n\\n"]' -o 'stop=END'``. Ranges of known
    params are checked with the settings (``config.precedence.params``).

    Raises:
        InputError: no ``=``, an empty key, a key the client sets itself, nan or infinity.
    """
    found: dict[str, Any] = {}
    for pair in pairs or ():
        key, eq, text = pair.partition("=")
        key = key.strip()
        if not eq or not key:
            raise InputError(f"-o takes KEY=VALUE (e.g. -o top_k=20), got {pair!r}")
        if key in RESERVED:
            how = f": use {RESERVED[key]}" if RESERVED[key] else ""
            raise InputError(f"-o {key} cannot be set, the client sends it itself{how}")
        try:
            value = json.loads(text, parse_constant=_no_constant)
        except ValueError:
            value = text
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    """JSON's ``NaN`` and ``Infinity`` are no request value: refused, not read as text."""
    raise InputError(f"-o values must be finite: a request's JSON cannot carry {name}")


def check_timeout(value: float | None, flag: str) -> float | None:
    """A timeout flag's seconds: a finite number above 0 (None: not given)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InputError(f"{flag} must be a number of seconds above 0, got {value:g}")
    return value


def check_output_dir(path: str) -> Path:
    """An output folder that exists or can be created, and is writable."""
    from ..systems.output_files import prepare_output_dir

    return prepare_output_dir(path)


def is_tty(stream: object) -> bool:
    """True when ``stream`` is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False
