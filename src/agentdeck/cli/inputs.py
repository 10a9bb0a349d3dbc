"""The command line's own inputs: the prompt (argument or stdin), ``-o KEY=VALUE``, timeouts.

A system's inputs are read and checked by their declarations (``Option.parse``, see
``context.check_inputs``); files by ``fsutil.read_text_file``.
"""

from __future__ import annotations

import math
import sys
from typing import Any, BinaryIO

from ..errors import InputError
from ..fsutil import MAX_FILE_BYTES, human_size

__all__ = ["STDIN", "check_prompt", "check_timeout", "is_tty",
           "parse_options", "prompt_text", "read_stdin"]

STDIN = "-"
"""The prompt (or file) argument that means: read standard input."""


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
    """``-o KEY=VALUE`` pairs as request params (``config.params.read_pair``, ``param_value``).

    ``-o top_k=20 -o ignore_eos=true -o 'stop=["\\n\\n"]' -o 'stop=END'``. Ranges of known
    params are checked with the settings (``config.precedence.params``).

    Raises:
        InputError: no ``=``, an empty key, a key the client sets itself, nan or infinity.
    """
    from ..config.params import CLIENT_KEYS, param_value, read_pair

    found: dict[str, Any] = {}
    for pair in pairs or ():
        key, text = read_pair(pair, "-o takes KEY=VALUE (e.g. -o top_k=20)")
        if key == "model" or key in CLIENT_KEYS:
            how = {"model": ": use --model", "messages": ": use the prompt"}.get(key, "")
            raise InputError(f"-o {key} cannot be set, the client sends it itself{how}")
        found[key] = param_value(text, "-o values")
    return found


def check_timeout(value: float | None, flag: str) -> float | None:
    """A timeout flag's seconds: a finite number above 0 (None: not given)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InputError(f"{flag} must be a number of seconds above 0, got {value:g}")
    return value


def is_tty(stream: object) -> bool:
    """True when ``stream`` is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False
