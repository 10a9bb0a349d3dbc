"""The run store: every run gets a folder of plain files under ``<data dir>/runs/``.

    <runs>/<run-id>/run.json                   manifest (system, params, prompts, endpoint URL
                                               and model, every worker's status and metrics)
    <runs>/<run-id>/<worker>.md                the worker's text, appended as it streams
    <runs>/<run-id>/<worker>.reasoning.md      its reasoning, only when the server sends some
    <runs>/<run-id>/step-NN.md                 what step NN handed on (chains, debates)

Run ids are ``YYYYMMDD-HHMMSS-<system>-<6 hex>`` (local time); the folder is created with
``exist_ok=False``, so two processes can never share one. Files are 0600, folders 0700. The API
key is never stored; credentials inside the endpoint URL are removed.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import orjson

from .. import fsutil, paths
from ..errors import ConfigError, InputError
from ..sanitize import is_safe_filename, safe_filename
from ..state import RunStatus, StepInfo, WorkerState, read_state
from .manifest import MANIFEST, RecordedWorker, new_manifest
from .recorder import RunRecorder, Snapshots
from .run_info import RunInfo

__all__ = ["LATEST", "Restored", "RunInfo", "RunRecorder", "RunStore", "new_run_id"]

LATEST = "latest"
"""The run id that names the newest run."""

log = logging.getLogger("agentdeck.store")

def new_run_id(system: str = "") -> str:
    """A fresh run id: local timestamp, the system name (file-safe) and 6 random hex digits."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    tag = safe_filename(system, default="", max_len=24) if system else ""
    middle = f"-{tag}" if tag else ""
    return f"{stamp}{middle}-{secrets.token_hex(3)}"


class RunStore:
    """Creates, lists and loads runs under ``root`` (default ``paths.runs_dir()``)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self._root = Path(root).expanduser() if root is not None else None

    @property
    def root(self) -> Path:
        """The folder holding one sub-folder per run (resolved when used, not at creation)."""
        return self._root if self._root is not None else paths.runs_dir()

    def _ensure_root(self) -> Path:
        root = self.root
        if self._root is None:
            fsutil.private_dir(paths.data_dir())
        return fsutil.private_dir(root)

    def create_run(
        self,
        system: str,
        run_id: str | None = None,
        params: Any = None,
        prompts: Mapping[str, Any] | None = None,
        endpoint: str | None = None,
        model: str | None = None,
        label: str = "",
        summary: Snapshots | None = None,
        **extra: Any,
    ) -> RunRecorder:
        """Create the run folder and its first manifest; return the recorder to feed events.

        Args:
            system: "basic", "context", "chain", "multi", "debate", ...
            run_id: use this id (must be a safe file name and new); None makes a fresh one.
            params: GenerationParams or a dict; stored as plain JSON.
            prompts: the inputs, e.g. {"prompt": ..., "system": ..., "context_file": ...}.
            endpoint: the base URL (credentials in it are dropped); model: the model name.
            label: a human name for the run.
            summary: the run's summary, written into the manifest (``RunSummary``).
            extra: more JSON-able fields for the manifest (e.g. profile name, concurrency).
        Raises:
            InputError: ``run_id`` is not a safe file name or already exists.
            ConfigError: the run folder cannot be created (read-only or full disk, no access).
        """
        try:
            folder = self._new_folder(system, run_id)
        except OSError as exc:
            raise ConfigError(
                f"cannot create a run folder in {self.root}: {exc.strerror or exc}; make it "
                "writable, point AGENTDECK_HOME elsewhere, or turn recording off (--no-record)"
            ) from exc
        manifest = new_manifest(folder.name, system, params=params, prompts=prompts,
                                endpoint=endpoint, model=model, label=label, extra=extra)
        return RunRecorder(folder, manifest, summary=summary)

    def _new_folder(self, system: str, run_id: str | None) -> Path:
        """Create and return a fresh run folder, named ``run_id`` or a new id."""
        root = self._ensure_root()
        if run_id is not None and not is_safe_filename(run_id):
            raise InputError(f"run id {run_id!r} is not a safe folder name; "
                             f"try {safe_filename(run_id, default='run')!r}")
        while True:  # a fresh id clashes only with the same second and the same 24 random bits
            folder = root / (run_id if run_id is not None else new_run_id(system))
            try:
                folder.mkdir(mode=fsutil.DIR_MODE, exist_ok=False)
                return folder
            except FileExistsError:
                if run_id is not None:
                    raise InputError(f"run {run_id} already exists in {root}") from None

    def run_dir(self, run_id: str) -> Path:
        """The folder of ``run_id`` (which may not exist)."""
        return self.root / run_id

    def load_run(self, run_id: str) -> RunInfo:
        """Read one run; a unique prefix of its id is enough, and ``latest`` is the newest.

        Raises:
            InputError: no such run, or the prefix matches several.
        """
        root = self.root
        if not run_id or not is_safe_filename(run_id):
            raise InputError(f"{run_id!r} is not a run id")
        folder = root / run_id
        if folder.is_dir():
            return _load(folder)
        if run_id == LATEST:
            newest = self.list_runs(limit=1)
            if not newest:
                raise InputError(f"no runs yet in {root}")
            return newest[0]
        matches = sorted(p.name for p in _run_dirs(root) if p.name.startswith(run_id))
        if len(matches) == 1:
            return _load(root / matches[0])
        if matches:
            shown = ", ".join(matches[:5]) + (" ..." if len(matches) > 5 else "")
            raise InputError(f"run id {run_id!r} matches {len(matches)} runs: {shown}")
        raise InputError(f"no run {run_id!r} in {root} (`agentdeck runs` lists them)")

    def list_runs(self, limit: int | None = None) -> list[RunInfo]:
        """All runs, newest first; a run with a broken manifest is listed as ``corrupt``."""
        infos = [_load(folder) for folder in _run_dirs(self.root)]
        infos.sort(key=lambda info: (info.created, info.run_id), reverse=True)
        return infos if limit is None else infos[: max(limit, 0)]

    def remove_run(self, info: RunInfo) -> None:
        """Delete a run's folder and everything in it.

        Raises:
            InputError: the run is still being written by a live process.
            ConfigError: the folder cannot be removed.
        """
        _check_idle(info, "remove")
        try:
            shutil.rmtree(info.dir)
        except FileNotFoundError:
            pass  # removed meanwhile: what was asked is done
        except OSError as exc:
            raise ConfigError(f"cannot remove run {info.run_id}: {exc.strerror or exc}") from exc

    def reopen_run(self, info: RunInfo, summary: Snapshots | None = None) -> RunRecorder:
        """A recorder for a finished run, to run some of its workers again into it.

        Its workers and steps are taken back as recorded; a worker queued again reopens the run
        and keeps its earlier attempt as ``<worker>.attempt-N.md``. ``summary``: the run's
        summary from now on (``RunSummary.from_entries`` of its workers, the retry on top).

        Raises:
            InputError: the run is still being written, or its manifest cannot be read.
        """
        _check_idle(info, "reopen")
        if info.problem is not None:
            raise InputError(f"run {info.run_id} cannot be reopened: {info.problem}")
        workers = [_record(info, entry) for entry in info.workers]
        steps = []
        for entry in info.steps:
            step = entry.get("step")
            if not isinstance(step, int):
                continue
            name = entry.get("output_file")
            output = info.read_step(step) if name else None
            try:
                status = RunStatus(entry.get("status"))
            except ValueError:
                status = RunStatus.DONE
            steps.append((StepInfo(step, entry.get("total"), str(entry.get("label") or ""),
                                   str(entry.get("worker_id") or ""), output, status), name))
        manifest = dict(info.manifest)
        manifest["status"] = info.status
        return RunRecorder(info.dir, manifest, Restored(workers, steps, info.status), summary)


@dataclass(frozen=True)
class Restored:
    """A finished run read back for its recorder: workers, steps (with their files), status."""

    workers: list[RecordedWorker]
    steps: list[tuple[StepInfo, str | None]]
    status: str


def _check_idle(info: RunInfo, verb: str) -> None:
    if info.status == RunStatus.RUNNING:
        raise InputError(f"run {info.run_id} is still running; cannot {verb} it now")


_ENTRY_DEFAULTS = dict.fromkeys(("finish_reason", "error", "error_kind", "usage", "metrics",
                                 "reasoning_file", "ttft", "started_at", "ended_at", "elapsed",
                                 "last_retry"))
_ENTRY_DEFAULTS.update(chars=0, reasoning_chars=0, retries=0, attempts=[])


def _record(info: RunInfo, entry: dict[str, Any]) -> RecordedWorker:
    """A recorded worker as its recorder held it; its manifest entry is kept as it was."""
    state = read_state(entry.get("status")) or WorkerState.INTERRUPTED
    reasoning = entry.get("reasoning_file")
    entry = {**_ENTRY_DEFAULTS, **entry, "status": state.value}  # format 1 lacks some keys
    return RecordedWorker(
        str(entry.get("id")), str(entry.get("label") or ""), entry.get("step"), state,
        ttft=entry.get("ttft"), retries=int(entry.get("retries") or 0),
        finish_reason=entry.get("finish_reason"), error=str(entry.get("error") or ""),
        error_kind=entry.get("error_kind"), path=info.dir / Path(str(entry.get("file"))).name,
        reasoning_path=info.dir / Path(str(reasoning)).name if reasoning else None,
        chars=int(entry.get("chars") or 0), reasoning_chars=int(entry.get("reasoning_chars") or 0),
        attempts=list(entry.get("attempts") or []), started_at=entry.get("started_at"),
        ended_at=entry.get("ended_at"), failure=entry.get("error"),
        last_retry=entry.get("last_retry"), cached=entry,
    )


def _run_dirs(root: Path) -> list[Path]:
    try:
        return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except FileNotFoundError:
        return []


def _load(folder: Path) -> RunInfo:
    """Read ``folder/run.json``; problems become a RunInfo with ``problem`` set, never raise."""
    path = folder / MANIFEST
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return RunInfo(folder.name, folder, problem=f"{path} is missing")
    except (OSError, orjson.JSONDecodeError) as exc:
        log.warning("skipping unreadable manifest %s: %s", path, exc)
        return RunInfo(folder.name, folder, problem=f"{path} cannot be read: {exc}")
    if not isinstance(data, dict) or not isinstance(data.get("workers", []), list):
        return RunInfo(folder.name, folder, problem=f"{path} is not a run manifest")
    return RunInfo(folder.name, folder, data)
