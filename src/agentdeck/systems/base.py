"""Shared base of every agent and system: listeners, the run store, runs and cancellation.

A *run* is one call of a system's ``run()``: it gets a run id, one semaphore (the concurrency
cap), a recorder writing it to the run store when there is one (see ``Orchestrator``) and the
worker machinery of ``systems.run.Run``. Events go to the recorder first, then to every
listener, synchronously.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..client.model import BaseModel
from ..errors import InputError
from ..events import EventListener, RunStarted
from ..store.runs import RunStore, new_run_id
from ..store.summary import RunSummary
from ..types import GenerationParams
from .inputs import CONCURRENCY
from .run import Run, Sink, WorkerOutcome, think_text

if TYPE_CHECKING:
    from .request import RunRequest

__all__ = [
    "Orchestrator", "Run", "Sink", "WorkerOutcome", "clip", "ended_status", "failed_calls",
    "json_params", "split_options", "think_text",
]


def split_options(kwargs: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """Pop system options out of seed-style ``**kwargs`` (the rest goes to the model)."""
    return {name: kwargs.pop(name) for name in list(names) if name in kwargs}


PROMPT_KEEP = 65536
"""Longer inputs are kept in the manifest as a head only (the manifest is rewritten often)."""


def clip(text: str, limit: int = PROMPT_KEEP) -> str:
    """``text`` for the run manifest: whole when short, else its head and the full length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more characters not kept here]"


def json_params(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Generation params as they would be sent, for the run manifest.

    Every agent and system passes its params through here before its run starts, so this is
    where ``n`` > 1 is refused: a worker keeps one answer, and the server's others would be
    generated, paid for and thrown away.

    Raises:
        InputError: ``n`` asks for more than one answer per request.
    """
    body = GenerationParams.from_kwargs(**kwargs).to_body()
    n = body.get("n")
    if isinstance(n, int) and n > 1:
        raise InputError(
            f"n={n} asks for {n} answers per request, but each worker keeps one: for several "
            f"answers run MultiCallSystem with {n} calls (the CLI's `multi -n {n}`), or call "
            "VLLMModel.stream directly, whose events carry every choice"
        )
    return body


@dataclass
class _StoreChoice:
    """The ``store=`` argument and, once a run needed it, the store it stands for."""

    value: Any = None
    resolved: bool = field(default=False, repr=False)
    store: RunStore | None = field(default=None, repr=False)


class Orchestrator:
    """Base of agents and systems: listeners, the run store, concurrency and cancellation.

    Args:
        model: the model every request goes through.
        listeners: called with every run event, synchronously.
        store: where runs are recorded: a ``RunStore``, True for the default one, False for
            none; None records only when the config file says ``record = true``.
        concurrency: most requests in flight at once (None: no cap).
        system_prompt: put first in every request of its runs (a registry request's
            ``system_prompt``, the CLI's ``--system``).
    """

    system = "system"
    """The name recorded in run manifests and ``RunStarted``."""
    system_prompt: str | None = None
    """A system prompt put first in every request of a run (``open_run`` takes a request's
    ``system_prompt`` over it); agents take theirs as an argument."""

    def __init__(
        self,
        model: BaseModel,
        *,
        listeners: Iterable[EventListener] = (),
        store: RunStore | bool | None = None,
        concurrency: int | None = None,
        system_prompt: str | None = None,
    ) -> None:
        if concurrency is not None:
            CONCURRENCY.check(concurrency, "concurrency")
        self.model = model
        self.concurrency = concurrency
        if system_prompt:
            self.system_prompt = system_prompt
        self._listeners: list[EventListener] = list(listeners)
        self._store = _StoreChoice(store)
        self._active: list[Run] = []
        self._last_run: Run | None = None
        self._preparing = False
        self._cancel_pending = False

    @property
    def last_run(self) -> Run | None:
        """The latest run (also while it is still going), None before any."""
        return self._last_run

    @property
    def last_run_id(self) -> str | None:
        """Id of the latest run (also while it is still going)."""
        return self._last_run.run_id if self._last_run else None

    @property
    def last_run_dir(self) -> Any:
        """Folder of the latest run in the run store, or None when not recorded."""
        run = self._last_run
        return getattr(run.recorder, "dir", None) if run and run.recorder else None

    @property
    def summary(self) -> RunSummary | None:
        """The latest run's live summary (``snapshot()`` gives its figures), None before one."""
        return self._last_run.summary if self._last_run else None

    def summary_document(self) -> dict[str, Any]:
        """The latest run's summary figures for a ``RunResult`` ({} before any run)."""
        return self._last_run.summary.snapshot() if self._last_run else {}

    def worker_file(self, worker_id: str) -> str | None:
        """The run store's file of a worker of the latest run, or None when not recorded."""
        run = self._last_run
        return str(run.recorder.worker_path(worker_id)) if run and run.recorder else None

    def add_listener(self, listener: EventListener) -> None:
        """Receive every run event of later runs (synchronously, so keep it quick)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: EventListener) -> None:
        """Stop sending events to ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def cancel(self) -> None:
        """Cancel every request of every active run; partial text is kept."""
        if self._preparing:  # a run still planning (a chain measuring its text) stops too
            self._cancel_pending = True
        for run in list(self._active):
            run.cancel()

    def cancel_worker(self, worker_id: str) -> bool:
        """Cancel one worker of the active run(s); False when no such worker is running."""
        found = False
        for run in list(self._active):
            found = run.cancel_worker(worker_id) or found
        return found

    # ------------------------------------------------------------------ run lifecycle

    def _resolve_store(self) -> RunStore | None:
        """The store runs are recorded in; None records nothing (no hidden disk writes).

        ``store=`` a RunStore records there, True in the default RunStore, False nowhere;
        None (a plain library call) records only when the config file says ``record = true``
        (a broken file records nothing: one warning is logged). The CLI and the app pass
        their store.
        """
        choice = self._store
        if not choice.resolved:
            value = choice.value
            if value is None:  # the config file is read only when nobody said
                from ..config.settings import records_library_runs

                value = records_library_runs()
            if value is True:
                value = RunStore()
            choice.store, choice.resolved = (None if value is False else value), True
        return choice.store

    @contextlib.contextmanager
    def preparing(self) -> Iterator[None]:
        """Work before a run opens (a chain measuring its text, compare connecting its
        targets) that ``cancel()`` must stop: a cancel during it raises ``CancelledError`` as
        the block ends.

        Raises:
            asyncio.CancelledError: ``cancel()`` was called during the block.
        """
        self._preparing, self._cancel_pending = True, False
        try:
            yield
        finally:
            self._preparing = False
        if self._cancel_pending:
            raise asyncio.CancelledError(f"{self.system} was cancelled")

    def open_run(
        self,
        request: RunRequest | None = None,
        *,
        params: dict[str, Any],
        prompts: dict[str, str] | None = None,
        workers: tuple[str, ...] = (),
        concurrency: int | None = None,
        label: str = "",
        manifest: dict[str, Any] | None = None,
    ) -> Run:
        """Create a run, its recorder, and emit ``RunStarted``.

        Args:
            request: the registry request the run is for: its prompt, label, concurrency and
                system prompt are the defaults of the others (the system prompt goes first
                in every request of the run: the CLI's ``--system``).
            params: the run's generation params as sent (``json_params``), for run.json.
            prompts: the inputs to keep in run.json (default: the request's prompt).
            workers: the worker ids the run starts with (the grid shows them queued).
            concurrency: most requests in flight (default: the request's, else the system's).
            label: the run's label (default: the request's, else the system's name).
            manifest: more run.json fields (compare's ``targets``).
        """
        system_prompt = self.system_prompt
        if request is not None:
            system_prompt = request.system_prompt or system_prompt
            if prompts is None:
                prompts = {"prompt": clip(request.prompt)}
            label = label or request.label
            concurrency = concurrency or request.concurrency
        prompts = dict(prompts or {})
        if system_prompt and "system" not in prompts:
            prompts["system"] = system_prompt
        store = self._resolve_store()
        recorder = None
        summary = self._new_summary()
        if store is not None:
            recorder = store.create_run(
                system=self.system,
                params=params,
                prompts=prompts,
                endpoint=_endpoint(self.model),
                model=getattr(self.model, "model_name", None),
                label=label or self.system,
                summary=summary,
                **(manifest or {}),
            )
            run_id = recorder.run_id
        else:
            run_id = new_run_id(self.system)  # the same ids whether or not the run is recorded
        run = Run(self.model, run_id, list(self._listeners), concurrency or self.concurrency,
                  recorder, system_prompt=system_prompt, summary=summary)
        self._active.append(run)
        self._last_run = run
        run.emit(RunStarted(run_id, self.system, tuple(workers)))
        return run

    def _new_summary(self) -> RunSummary:
        """The summary a new run folds its events into (a resumed run's starts from what
        was recorded)."""
        return RunSummary()

    async def drive(self, run: Run, body: Callable[[], Any]) -> Any:
        """Run ``body()`` (returning ``(status, result)``) and always finish the run.

        An exception from ``body`` finishes the run as failed, kept in run.json with its
        traceback; a cancel finishes it as cancelled. Returns ``body``'s result.
        """
        try:
            status, result = await body()
        except asyncio.CancelledError:
            run.cancel()
            run.finish("cancelled")
            raise
        except BaseException as exc:
            if run.recorder is not None and isinstance(exc, Exception):
                run.recorder.record_error(exc)  # run.json keeps what ended it, traceback too
            run.finish("failed")
            raise
        finally:
            if run in self._active:
                self._active.remove(run)
        if run.cancel_requested and status == "done":
            status = "cancelled"
        run.finish(status, result)
        return result


def ended_status(run: Run, failed: int, total: int, short: bool = False) -> str:
    """How a run of ``total`` calls ended: cancelled, failed (none finished), partial (some
    failed, or ``short`` of an answer it was asked for) or done."""
    if run.cancel_requested:
        return "cancelled"
    if failed == total:
        return "failed"
    return "partial" if failed or short else "done"


def failed_calls(failed: int, total: int, where: str = "") -> str:
    """``3 of 8 calls failed`` (and ``where``, in brackets); '' when none did."""
    if not failed:
        return ""
    return f"{failed} of {total} call{'s' if total != 1 else ''} failed" + (
        f" ({where})" if where else "")


def _endpoint(model: BaseModel) -> str | None:
    for name in ("api_url", "base_url"):
        value = getattr(model, name, None)
        if isinstance(value, str):
            return value
    return None
