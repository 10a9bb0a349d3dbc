"""Append-only text files for many streaming workers: handles kept open, files made off the loop.

A run with hundreds of workers flushes hundreds of files twice a second. Reopening each file
per flush costs an open and a close per worker; creating it costs far more on some file systems
(a third of a millisecond per file measured on our VMs), which at the first flush of a 256-worker
run stalled the event loop for tens of milliseconds. So handles stay open between flushes (at
most ``max_open``, least recently used closed first: sockets need descriptors too), and a run's
files are created up front in a worker thread when an event loop is running.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

from ..fsutil import FILE_MODE, touch_private

__all__ = ["AppendFiles", "create_soon", "default_max_open"]


def default_max_open() -> int:
    """A quarter of the descriptor limit, between 16 and 512 (sockets need the rest)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 64
    if soft == resource.RLIM_INFINITY:
        return 512
    return max(16, min(512, soft // 4))


class AppendFiles:
    """Owner-only (0600) files opened for appending, created on first write, kept open."""

    def __init__(self, max_open: int | None = None) -> None:
        self.max_open = max_open if max_open is not None else default_max_open()
        self._fds: OrderedDict[Path, int] = OrderedDict()

    def append(self, path: Path, data: bytes) -> None:
        """Append all of ``data`` to ``path`` (raises ``OSError``; the handle is then dropped)."""
        fds = self._fds
        fd = fds.get(path)
        if fd is None:
            while len(fds) >= self.max_open:
                os.close(fds.popitem(last=False)[1])
            fd = fds[path] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        else:
            fds.move_to_end(path)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except OSError:
            self.close(path)
            raise

    def close(self, path: Path | None = None) -> None:
        """Close the handle of ``path`` (before moving the file), or of every file."""
        paths = [path] if path is not None else list(self._fds)
        for p in paths:
            fd = self._fds.pop(p, None)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass  # nothing buffered here: os.write already handed the data over

    def __len__(self) -> int:
        return len(self._fds)


def create_soon(paths: Iterable[Path], mode: int = FILE_MODE) -> None:
    """Create the missing files among ``paths`` (empty, ``mode``) in a thread, if a loop runs.

    Never truncates, so it is harmless when the owner writes a file before the thread gets to
    it. Without a running loop it does nothing: the files are then made by their first write.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    todo = list(paths)
    if todo:
        loop.run_in_executor(None, _create_all, todo, mode)


def _create_all(paths: list[Path], mode: int) -> None:
    for path in paths:
        try:
            touch_private(path, mode)
        except OSError:
            pass  # the first real write reports the problem on the loop
