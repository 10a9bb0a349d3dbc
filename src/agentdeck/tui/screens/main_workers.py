"""The main screen's worker actions: cancel (one, all, before quitting), retry and zoom.

A mixin of ``MainScreen``, kept apart so the screen file holds its layout and the run's start.
Cancelling reaches the system at once (``Orchestrator.cancel`` cancels every worker task in
the same loop turn), so every worker stops and the run is recorded as cancelled.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from textual import on, work
from textual.screen import Screen
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from agentdeck.errors import AgentDeckError
from agentdeck.state import UNFINISHED, WorkerState
from agentdeck.systems.registry import System

from ..live import LiveRun
from ..widgets.output_pane import OutputPane, view_for
from ..widgets.worker_grid import WorkerGrid

if TYPE_CHECKING:
    from ..runner import RunOptions
    from ..widgets.prompt_box import Attachment

__all__ = ["WorkerActions"]


@runtime_checkable
class _RetriesWorkers(Protocol):
    """A system that can run one of its workers again (multi-call's ``retry_worker``)."""

    async def retry_worker(self, worker_id: str) -> object: ...


class WorkerActions(Screen[None]):
    """Cancel, retry and zoom for the run the screen owns (``live``, ``system``, ``_worker``)."""

    live: LiveRun | None
    system: System | None
    _worker: Worker[None] | None
    _last: tuple[RunOptions, str, Attachment | None] | None

    if TYPE_CHECKING:  # the screen's own methods, which these actions call
        def flush_frame(self) -> None: ...

        def wake_frames(self) -> None: ...

        def start_run(self, options: RunOptions, prompt: str,
                      attachment: Attachment | None) -> None: ...

    @property
    def run_in_flight(self) -> bool:
        # Not ``is_running``: a worker just created is still PENDING for one loop turn.
        return self._worker is not None and not self._worker.is_finished

    def in_flight_summary(self) -> str:
        """One line for the quit prompt: how many workers are still going."""
        live = self.live
        if live is None:
            return "A run is starting."
        going = sum(live.counts[state] for state in UNFINISHED)
        return (
            f"{live.system or 'run'} {live.run_id}: {going} of {len(live.buffers)} workers going."
        )

    # ------------------------------------------------------------------ cancel

    def action_cancel_all(self) -> None:
        system = self.system
        if system is None or not self.run_in_flight:
            self.notify("Nothing is running.")
            return
        system.cancel()
        self.flush_frame()  # the cards say "cancelled" in this frame, not the next
        self.notify("Cancelled every worker; partial text is kept.")

    def cancel_now(self) -> None:
        """Cancel every worker of the run in flight, in this loop turn (quit confirmed)."""
        if self.system is not None and self.run_in_flight:
            self.system.cancel()

    async def cancel_and_wait(self, timeout: float = 5.0) -> None:
        """Cancel the run in flight and wait until its files are closed (used when quitting)."""
        worker, system = self._worker, self.system
        if worker is None or worker.is_finished or system is None:
            return
        system.cancel()
        try:
            await asyncio.wait_for(worker.wait(), timeout)
        except (WorkerCancelled, WorkerFailed):
            pass
        except asyncio.TimeoutError:
            worker.cancel()

    @on(WorkerGrid.CancelRequested)
    def _cancel_one(self, event: WorkerGrid.CancelRequested) -> None:
        self.cancel_worker(event.worker_id)

    def cancel_worker(self, worker_id: str) -> None:
        """Cancel one worker of the run in flight; its partial text is kept."""
        system = self.system
        if system is not None and self.run_in_flight and system.cancel_worker(worker_id):
            self.notify(f"Cancelling {worker_id}.")
        else:
            self.notify(f"{worker_id} is not running.")

    @on(WorkerGrid.CancelAllRequested)
    def _cancel_all(self) -> None:
        self.action_cancel_all()

    # ------------------------------------------------------------------ retry

    @work(exclusive=True, group="run")
    async def retry_one(self, system: _RetriesWorkers, worker_id: str) -> None:
        """Run one failed or cancelled worker of the last multi-call run again."""
        try:
            await system.retry_worker(worker_id)
        except AgentDeckError as exc:
            self.notify(str(exc), title=exc.kind, severity="error", markup=False)
        finally:
            self.flush_frame()

    @on(WorkerGrid.RetryRequested)
    def _retry(self, event: WorkerGrid.RetryRequested) -> None:
        self.retry_worker(event.worker_id)

    def retry_worker(self, worker_id: str) -> None:
        """Run a failed or cancelled worker again: one worker where the system can (multi),
        the whole prompt for a single stream; never a whole run of many workers unasked."""
        live = self.live
        buf = live.buffers.get(worker_id) if live else None
        if buf is None or buf.state not in (WorkerState.FAILED, WorkerState.CANCELLED):
            self.notify("Only a failed or cancelled worker can be retried.")
        elif self.run_in_flight:
            self.notify("Wait for the run to end before retrying one worker.", severity="warning")
        elif isinstance(self.system, _RetriesWorkers):
            self._worker = self.retry_one(self.system, worker_id)
            self.wake_frames()
        elif view_for(live.system) != "stream":
            self.notify(f"{live.system} cannot run one worker again: send the prompt again "
                        "(ctrl+s) to run it all.", title="Retry", markup=False)
        elif self._last is not None:
            self.start_run(*self._last)

    # ------------------------------------------------------------------ focus + zoom

    def _focused_worker(self) -> str | None:
        live = self.live
        if live is None or not live.order:
            return None
        pane = self.query_one(OutputPane)
        return pane.focused_worker or live.order[-1]  # the grid's or the table's

    def action_cancel_focused(self) -> None:
        worker_id = self._focused_worker()
        if worker_id is not None:
            self.cancel_worker(worker_id)

    def action_retry_focused(self) -> None:
        worker_id = self._focused_worker()
        if worker_id is not None:
            self.retry_worker(worker_id)

    @on(WorkerGrid.ZoomRequested)
    def _zoom(self, event: WorkerGrid.ZoomRequested) -> None:
        self.zoom(event.worker_id)

    def action_zoom(self) -> None:
        worker_id = self._focused_worker()
        if worker_id is None:
            self.notify("Nothing to zoom into yet.")
            return
        self.zoom(worker_id)

    def zoom(self, worker_id: str) -> None:
        from .zoom import ZoomScreen

        if self.live is not None and worker_id in self.live.buffers:
            self.app.push_screen(ZoomScreen(self.live, worker_id))
