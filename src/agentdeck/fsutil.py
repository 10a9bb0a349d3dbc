"""Small, careful file operations shared by the settings, the run store and the front ends.

Atomic replacement (temporary file in the same folder, fsync, ``os.replace``, fsync of the
folder) so a crash never leaves a truncated file, and owner-only modes (0600 files, 0700
folders) because transcripts and settings can hold private text and keys. ``read_text_file`` reads a
user-named input file, refusing what cannot be useful text (the CLI's ``--file``, the app's
attachment).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

__all__ = ["MAX_FILE_BYTES", "TextFile", "atomic_write", "fsync_dir", "human_size", "private_dir",
           "read_text_file", "touch_private"]

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` owner-only (0700) if missing, with any missing parents; return it.

    ``Path.mkdir(parents=True)`` gives parents the default mode, so each missing level is
    created here one by one with 0700.
    """
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=DIR_MODE)
    return path


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a mix.

    The temporary file lives in the same folder (``os.replace`` is atomic only within one file
    system) and is removed if anything fails. ``durable`` adds the fsyncs that make the result
    survive a power cut, not only a crash of this process.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def touch_private(path: Path, mode: int = FILE_MODE) -> None:
    """Create an empty file (0600 unless ``mode`` says otherwise) if it does not exist."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, mode))


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
