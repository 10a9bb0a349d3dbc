"""Small checks of the command line's own: an empty prompt, a folder to write in, a terminal.

A system's inputs are read and checked by their declarations (``Option.parse``, see
``context.check_inputs``); files by ``fsutil.read_text_file``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

__all__ = ["check_output_dir", "check_prompt", "is_tty"]


def check_prompt(prompt: str | None, what: str = "prompt") -> str:
    """Refuse an empty or blank prompt."""
    if prompt is None or not prompt.strip():
        raise InputError(f"the {what} is empty")
    return prompt


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
