"""Checking the command line's input before any request is sent: prompts, files, numbers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

__all__ = ["MAX_FILE_BYTES", "TextFile", "check_prompt", "read_text_file"]

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Input files above this are refused: a long-text chain over more is hours of requests."""
_SNIFF = 8192


@dataclass(frozen=True)
class TextFile:
    """A text file read for a command; ``replaced`` counts undecodable bytes turned into U+FFFD."""

    path: Path
    text: str
    replaced: int = 0

    @property
    def warning(self) -> str | None:
        """The note to print when the file was not valid UTF-8."""
        if not self.replaced:
            return None
        return (f"{self.path} is not valid UTF-8: {self.replaced} undecodable byte sequence(s) "
                "were replaced with U+FFFD")


def human_size(n: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    units = ("bytes", "KiB", "MiB", "GiB", "TiB")
    size, i = float(n), 0
    while size >= 1024 and i < len(units) - 1:
        size, i = size / 1024, i + 1
    return f"{n} bytes" if i == 0 else f"{size:.1f} {units[i]}"


def read_text_file(path: str, what: str = "file", limit: int = MAX_FILE_BYTES) -> TextFile:
    """Read a user-named text file, refusing what cannot be a useful text input.

    Raises:
        InputError: missing, a folder, unreadable, binary, empty or larger than ``limit``.
    """
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{what} {p} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {p}: {exc.strerror}") from None
    if p.is_dir():
        raise InputError(f"{what} {p} is a folder; give a text file")
    if st.st_size > limit:
        raise InputError(f"{what} {p} is {human_size(st.st_size)}, above the "
                         f"{human_size(limit)} limit for input files")
    try:
        with open(p, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {p}: {exc.strerror}") from None
    if len(data) > limit:  # a pipe or special file that stat() could not size
        raise InputError(f"{what} {p} is above the {human_size(limit)} limit for input files")
    if b"\x00" in data[:_SNIFF]:
        raise InputError(f"{what} {p} looks binary (it contains NUL bytes); give a text file")
    if not data.strip():
        raise InputError(f"{what} {p} is empty")
    try:
        return TextFile(p, data.decode("utf-8"))
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        strict = data.decode("utf-8", errors="ignore")
        replaced = text.count("\ufffd") - strict.count("\ufffd")
        return TextFile(p, text, max(replaced, 1))


def check_prompt(prompt: str | None, what: str = "prompt") -> str:
    """Refuse an empty or blank prompt."""
    if prompt is None or not prompt.strip():
        raise InputError(f"the {what} is empty")
    return prompt


def check_output_dir(path: str) -> Path:
    """An output folder that exists or can be created, and is writable."""
    from ..systems.multi import prepare_output_dir

    return prepare_output_dir(path)


def is_tty(stream: object) -> bool:
    """True when ``stream`` is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False
