"""Seed-style output files: one call's text streamed into its file, and the folder they go in."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from ..errors import InputError
from ..store.flush_timer import FlushTimer
from ..types import now

__all__ = ["FileSink", "prepare_output_dir"]


class FileSink:
    """Streams one call's text into its output file, opened on first flush.

    Text is kept pending and written at most every ``FLUSH_INTERVAL`` seconds (one system call
    per flush, not per token) and at once when the call ends, fails or is cancelled, so the
    file grows as the text arrives and holds exactly the call's text once it ended. Opening
    lazily keeps at most ``concurrency`` files open; reasoning is wrapped in ``<think>`` tags
    exactly as the seed's ``call_stream`` text was.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._thinking = False
        self._pending: list[str] = []
        self._timer = FlushTimer(self.flush)
        self._error: OSError | None = None
        self._closed = False

    def write(self, content: str, reasoning: str) -> None:
        """Queue text; raises the ``OSError`` of a failed earlier flush."""
        if self._error is not None:
            raise self._error
        pending = self._pending
        if reasoning:
            if not self._thinking:
                self._thinking = True
                pending.append("<think>")
            pending.append(reasoning)
        if content:
            if self._thinking:
                self._thinking = False
                pending.append("</think>")
            pending.append(content)
        if self._timer.armed is None:
            self._timer.poke()

    def flush(self) -> None:
        """Write pending text to the file (the flush timer calls this; errors wait for write)."""
        try:
            self._flush()
        except OSError as exc:
            self._error = exc

    def _flush(self) -> None:
        self._timer.last = now()
        if self._file is None:
            self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - lives across flushes
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._file.write(text)
        self._file.flush()

    def close(self) -> None:
        """Write the rest and close; a call with no text still leaves its (empty) file."""
        if self._closed:
            return
        self._closed = True
        self._timer.stopped = True
        self._timer.cancel()
        if self._thinking:
            self._thinking = False
            self._pending.append("</think>")
        try:
            if self._error is not None:
                raise self._error
            self._flush()
        finally:
            if self._file is not None:
                try:
                    self._file.close()
                except OSError:
                    pass  # the flush above already reported the failure


def prepare_output_dir(output_dir: str | os.PathLike[str]) -> Path:
    """Create ``output_dir`` if needed and make sure files can be written in it."""
    folder = Path(output_dir).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"output folder {folder} exists and is not a folder") from None
    except OSError as exc:
        raise InputError(f"cannot create output folder {folder}: {exc.strerror}") from None
    if not folder.is_dir():
        raise InputError(f"output folder {folder} exists and is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"output folder {folder} is not writable")
    return folder
