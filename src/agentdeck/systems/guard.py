"""A plugin's faults stay inside it: its own exceptions fail its run, never agentdeck.

A built-in's bug crashes loudly (STYLE: real bugs are not hidden). A plugin's is someone else's:
``guarded`` wraps a plugin spec's ``make`` so that an exception of the plugin's own, while it is
built or while it runs, becomes a ``PluginError`` naming the plugin's file and line. The front
ends show an ``AgentDeckError`` as they show any failure (the CLI's error line and exit code, the
app's notice); the run this call started is finished as failed, its traceback in ``run.json``
(a run that finished before the plugin raised keeps the traceback beside its status).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import AgentDeckError, PluginError
from .request import RunRequest, RunResult, System

if TYPE_CHECKING:
    from ..client.model import BaseModel
    from .registry import SystemSpec

__all__ = ["FORWARDED", "Guarded", "guarded", "plugin_error"]


def guarded(spec: SystemSpec, origin: str, path: str
            ) -> Callable[[BaseModel, RunRequest], System]:
    """``spec.make``, its systems wrapped in ``Guarded`` (``origin``: where the plugin is)."""
    make = spec.make

    def make_guarded(model: BaseModel, request: RunRequest) -> System:
        try:
            system = make(model, request)
        except AgentDeckError:
            raise
        except Exception as exc:
            raise plugin_error(spec.key, origin, path, "could not be built", exc) from exc
        return Guarded(system, spec.key, origin, path)

    make_guarded.__qualname__ = getattr(make, "__qualname__", "make")
    return make_guarded


FORWARDED = frozenset({
    "last_run", "last_run_id", "last_run_dir", "summary", "summary_document", "worker_file",
    "add_listener", "remove_listener", "retry_worker", "targets", "target_summaries",
})
"""What the front ends read of a system besides its run: forwarded when the plugin's system
has it (an ``Orchestrator`` has most; ``retry_worker`` only a system that can retry)."""


class Guarded:
    """A plugin's system, whose own exceptions fail its run as a ``PluginError``."""

    def __init__(self, system: Any, key: str, origin: str, path: str) -> None:
        self.system = system
        self.key, self.origin, self.path = key, origin, path

    def __getattr__(self, name: str) -> Any:
        if name in FORWARDED:
            return getattr(self.system, name)
        raise AttributeError(f"{type(self).__name__} of {self.key!r} has no {name!r}")

    async def run_request(self, request: RunRequest) -> RunResult:
        before = getattr(self.system, "last_run", None)
        try:
            result = await self.system.run_request(request)
        except AgentDeckError:
            raise
        except Exception as exc:
            folder = self._fail_run(exc, before)
            where = f"; the traceback is in {folder}{os.sep}run.json" if folder else ""
            raise plugin_error(self.key, self.origin, self.path, "failed", exc, where) from exc
        if not isinstance(result, RunResult):
            raise PluginError(f"system {self.key!r} ({self.origin}): run_request returned "
                              f"{type(result).__name__}, not a RunResult")
        return result

    def cancel(self) -> None:
        try:
            self.system.cancel()
        except AgentDeckError:
            raise
        except Exception as exc:
            raise plugin_error(self.key, self.origin, self.path, "could not cancel",
                               exc) from exc

    def cancel_worker(self, worker_id: str) -> bool:
        try:
            return bool(self.system.cancel_worker(worker_id))
        except AgentDeckError:
            raise
        except Exception as exc:
            raise plugin_error(self.key, self.origin, self.path,
                               f"could not cancel worker {worker_id!r}", exc) from exc

    def _fail_run(self, exc: Exception, before: Any) -> Any:
        """Keep ``exc`` in the run this call opened, finishing it as failed if the plugin left
        it open; that run's folder, or None (no run of this call, or not recorded).

        A run ``drive`` finished has its error already when the plugin raised inside it; one
        the plugin raised after (or outside ``drive``) gets it here.
        """
        run = getattr(self.system, "last_run", None)
        if run is None or run is before:
            return None  # the last run is an earlier call's: nothing of this call to blame
        recorder = run.recorder
        if not run.finished:
            run.cancel()  # its workers, if it left some streaming
            if recorder is not None:
                recorder.record_error(exc)
            run.finish("failed")
        elif recorder is not None and "error" not in recorder.manifest:
            recorder.record_error(exc)
            recorder.close()  # finished already: write the manifest with the error now
        return recorder.dir if recorder is not None else None


def plugin_error(key: str, origin: str, path: str, what: str, exc: Exception,
                 tail: str = "") -> PluginError:
    """The error for a plugin system's own exception, blamed on its deepest frame in ``path``."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    line = next((f for f in reversed(frames)
                 if path and (f.filename == path or f.filename.startswith(path + os.sep))), None)
    where = f"{line.filename}:{line.lineno}" if line is not None else ""
    place = where if where and origin == path else ", ".join(p for p in (origin, where) if p)
    return PluginError(
        f"system {key!r} {what} ({place}): {type(exc).__name__}: {exc}{tail}",
        where=where, details="".join(traceback.format_exception(exc)))
