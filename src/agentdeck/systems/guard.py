"""A plugin's faults stay inside it: its own exceptions fail its run, never agentdeck.

A built-in's bug crashes loudly (STYLE: real bugs are not hidden). A plugin's is someone else's:
``guarded`` wraps a plugin spec's ``make`` so that an exception of the plugin's own, while it is
built or while it runs, becomes a ``PluginError`` naming the plugin's file and line. The front
ends show an ``AgentDeckError`` as they show any failure (the CLI's error line and exit code, the
app's notice); the run it had started is finished as failed, its traceback in ``run.json``.
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

__all__ = ["Guarded", "guarded", "plugin_error"]


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


class Guarded:
    """A plugin's system, whose own exceptions fail its run as a ``PluginError``."""

    def __init__(self, system: Any, key: str, origin: str, path: str) -> None:
        self.system = system
        self.key, self.origin, self.path = key, origin, path

    async def run_request(self, request: RunRequest) -> RunResult:
        try:
            result = await self.system.run_request(request)
        except AgentDeckError:
            raise
        except Exception as exc:
            folder = self._fail_run(exc)
            where = f"; the traceback is in {folder}{os.sep}run.json" if folder else ""
            raise plugin_error(self.key, self.origin, self.path, "failed", exc, where) from exc
        if not isinstance(result, RunResult):
            raise PluginError(f"system {self.key!r} ({self.origin}): run_request returned "
                              f"{type(result).__name__}, not a RunResult")
        return result

    def cancel(self) -> None:
        self.system.cancel()

    def cancel_worker(self, worker_id: str) -> bool:
        return bool(self.system.cancel_worker(worker_id))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.system, name)  # the system's own extras (retry_worker, last_run_id)

    def _fail_run(self, exc: Exception) -> Any:
        """Finish the run the plugin left open as failed, keeping ``exc``; its folder or None.

        A system built on ``Orchestrator._drive`` did this already; one that opened a run and
        raised outside it would leave it running for ever.
        """
        run = getattr(self.system, "_last_run", None)
        if run is not None and not getattr(run, "finished", True):
            run.cancel()  # its workers, if it left some streaming
            if run.recorder is not None:
                run.recorder.record_error(exc)
            run.finish("failed")
        return getattr(self.system, "last_run_dir", None)


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
