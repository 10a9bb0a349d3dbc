"""Small, careful file operations shared by the settings and the run store.

Atomic replacement (temporary file in the same folder, fsync, ``os.replace``, fsync of the
folder) so a crash never leaves a truncated file, and owner-only modes (0600 files, 0700
folders) because transcripts and settings can hold private text and keys.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "fsync_dir", "private_dir", "touch_private"]

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
