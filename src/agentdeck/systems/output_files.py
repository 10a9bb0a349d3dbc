"""Seed-style output files: one call's text streamed into its file, the folder they go in, and
the folder's ``manifest.json`` saying which run wrote which file."""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .. import fsutil
from ..errors import InputError
from ..store.flush_timer import FlushTimer
from ..types import now

if TYPE_CHECKING:
    from .run import WorkerOutcome

__all__ = ["OUTPUT_MANIFEST", "FileSink", "OutputSet", "outcome_state", "partial_note",
           "prepare_output_dir"]

log = logging.getLogger("agentdeck.systems")

OUTPUT_MANIFEST = "manifest.json"


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


def _chars(path: Path) -> int:
    try:
        return len(path.read_text("utf-8", errors="replace"))
    except OSError:
        return 0


def outcome_state(outcome: WorkerOutcome) -> str:
    """``done``, ``cancelled`` or ``failed``: how a call ended, in the run's words."""
    return "done" if outcome.ok else "cancelled" if outcome.cancelled else "failed"


def partial_note(chars: int, path: str) -> str:
    """What a failed call left: ``1,234 characters of partial text kept in PATH``."""
    if not chars:
        return "no text received"
    return f"{chars:,} character{'s' if chars != 1 else ''} of partial text kept in {path}"


class OutputSet:
    """One multi-call run's answer files ``<base>_<i>.txt`` in an output folder.

    The folder's ``manifest.json`` maps each call (by worker id) to its file and status, with
    the run id, under the base name (a folder may hold several sets)::

        {"schema": 1, "sets": {"output": {"run_id": ..., "system": "multi", "status": "done",
         "updated": "2026-01-02T03:04:05Z", "calls": {"call-01": {"file": "output_1.txt",
         "status": "done", "chars": 812}}}}}

    A new run replaces the set of its base name whole: files of an earlier run under that
    name (listed in the manifest, or named ``<base>_<i>.txt`` by a run before manifests) that
    it does not write are removed, and named in ``replaced``, so the folder never mixes runs.
    """

    def __init__(self, folder: Path, base: str, files: Mapping[str, Path],
                 system: str = "multi") -> None:
        self.folder = folder
        self.system = system
        """The system of the run that writes the set (``multi``, a plugin's key...)."""
        self.base = base
        self.files = dict(files)
        """Worker id -> its answer file."""
        self.replaced: list[str] = []
        """Names of the earlier run's files that were removed."""
        self.path = folder / OUTPUT_MANIFEST

    def replace_stale(self) -> list[str]:
        """Remove the files of an earlier run under this base name that this run will not
        write; return their names (in call order). A file that cannot be removed is kept."""
        keep = {path.name for path in self.files.values()}
        listed = self._read().get("sets", {}).get(self.base, {}).get("calls", {})
        names = {Path(str(call.get("file", ""))).name for call in listed.values()
                 if isinstance(call, dict)}
        pattern = re.compile(rf"{re.escape(self.base)}_(\d+)\.txt")
        try:
            names.update(p.name for p in self.folder.iterdir() if pattern.fullmatch(p.name))
        except OSError:
            pass
        removed = []
        for name in names - keep - {"", OUTPUT_MANIFEST}:
            path = self.folder / name
            try:
                if path.is_file():
                    path.unlink()
                    removed.append(name)
            except OSError as exc:
                log.warning("cannot remove %s: %s", path, exc.strerror or exc)
        number = re.compile(r"_(\d+)\.txt$")
        removed.sort(key=lambda n: (int(m.group(1)) if (m := number.search(n)) else 0, n))
        self.replaced = removed
        return removed

    def write(self, run: Any, status: str, outcomes: Iterable[WorkerOutcome] = (),
              pending: str = "running") -> None:
        """Record this set in ``manifest.json``: the run, and how each call ended (a call with
        no outcome is ``pending``: ``running``, or ``cancelled`` when the run was, its
        characters read from its file). A ``manifest.json`` not agentdeck's is left alone.
        ``run`` (a ``Run``) is named by its id only when the run store keeps it: a
        ``--no-record`` run's id names no run anyone can look up."""
        run_id = run.run_id if run.recorder is not None else None
        doc = self._read()
        if doc.get("foreign"):
            return
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        ended = {o.worker_id: o for o in outcomes}
        entries = {}
        for wid, path in self.files.items():
            outcome = ended.get(wid)
            if outcome is not None:
                state, chars = outcome_state(outcome), len(outcome.text)
            else:
                state, chars = pending, 0 if pending == "running" else _chars(path)
            entries[wid] = {"file": path.name, "status": state, "chars": chars}
        sets = doc.get("sets", {})
        sets[self.base] = {"run_id": run_id, "system": self.system, "status": status,
                           "updated": stamp, "calls": entries}
        data = json.dumps({"schema": 1, "sets": sets}, indent=2, ensure_ascii=False) + "\n"
        try:
            fsutil.atomic_write(self.path, data.encode("utf-8"), durable=False)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.path, exc.strerror or exc)

    def notes(self) -> tuple[str, ...]:
        """The line saying which files of an earlier run were replaced, if any were."""
        names = self.replaced
        if not names:
            return ()
        shown = ", ".join(names) if len(names) <= 4 else f"{names[0]} ... {names[-1]}"
        files = f"{len(names)} file{'s' if len(names) > 1 else ''}"
        return (f"removed {files} of an earlier run from {self.folder}: {shown} "
                f"(see {OUTPUT_MANIFEST})"),

    def owner(self) -> str | None:
        """The run id the manifest names for this base name (None: none or not agentdeck's)."""
        found = self._read().get("sets", {}).get(self.base, {}).get("run_id")
        return found if isinstance(found, str) else None

    def _read(self) -> dict[str, Any]:
        """The manifest as JSON; ``{"foreign": True}`` for a file that is not agentdeck's."""
        try:
            doc = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {"foreign": True}
        if not isinstance(doc, dict) or not isinstance(doc.get("sets"), dict):
            return {"foreign": True}
        doc["sets"] = {k: v for k, v in doc["sets"].items() if isinstance(v, dict)}
        return doc
