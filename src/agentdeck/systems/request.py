"""What goes into any system's run and what comes out: ``RunRequest`` and ``RunResult``.

The registry's one entry point takes the one and gives the other, whatever the system's own
seed-style ``run(...)`` signature and result type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..events import EventListener
from ..types import GenerationParams

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..store.runs import RunStore
    from .aggregate import AggregateResult
    from .run import WorkerOutcome

__all__ = ["RunRequest", "RunResult", "System", "WorkerResult"]


@dataclass(frozen=True)
class RunRequest:
    """Everything one run of any system takes, besides the model."""

    prompt: str
    attachment: str | None = None
    """The attached text (a context, a long text), when the system reads one."""
    params: GenerationParams = field(default_factory=GenerationParams)
    """Generation params for every request (see ``agentdeck.config.params``)."""
    calls: int | None = None
    """Calls, or seats: None takes the declared default."""
    rounds: int | None = None
    aggregate: str | None = None
    """An aggregation mode, or None for none."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """The system's other options by name (``chunk_size``, ``output_dir``...)."""
    listeners: tuple[EventListener, ...] = ()
    store: RunStore | bool | None = None
    """As ``Orchestrator``'s ``store``: a RunStore, True (the default one), False, None."""
    concurrency: int | None = None
    label: str = ""
    """The run's label in its manifest (default: the system's key)."""
    system_prompt: str | None = None
    """Put first in every request of the run, whatever the system (the CLI's ``--system``,
    the app's system prompt field); merged into a system message the system sends itself."""
    confirm: Callable[[int], Awaitable[bool]] | None = None
    """Asked with the number of steps a long run is about to take, before any is sent (the
    CLI asks on a terminal past 100 chain steps); False ends the run unstarted."""
    settings: Settings | None = None
    """The front end's resolved settings: compare finds its targets' profiles there (None:
    ``load_settings()`` when a target names a profile)."""


@dataclass(frozen=True)
class WorkerResult:
    """How one worker ended, and the file that holds its text (None when nothing kept it)."""

    outcome: WorkerOutcome
    file: str | None = None


@dataclass
class RunResult:
    """What any system's run produced."""

    run_id: str | None
    status: str
    """``done``, ``partial``, ``failed`` or ``cancelled``."""
    answer: str = ""
    """The final answer ('' when the run has none: parallel calls without aggregation)."""
    workers: dict[str, WorkerResult] = field(default_factory=dict)
    """Each worker by its worker id, as the events and the run store name it (``call-01``)."""
    aggregate: AggregateResult | None = None
    report: dict[str, Any] = field(default_factory=dict)
    """The system's full account, JSON-able (the CLI's ``--json``); see ``document()``."""
    brief: dict[str, Any] = field(default_factory=dict)
    """Its headline fields (the CLI's last ``--events`` line); see ``headline()``."""
    lines: tuple[str, ...] = ()
    """A plain-text account for a reader who did not watch the answer stream."""
    notes: tuple[str, ...] = ()
    """Notices for a human, not part of the result (files of an earlier run replaced): the
    CLI prints them on stderr, not with -q."""
    failure: str = ""
    """One line on what failed ('' when nothing did)."""
    summary: dict[str, Any] = field(default_factory=dict)
    """The run's figures (``store.summary.RunSummary.snapshot()``); {} when none were kept."""
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The same figures per group of workers, by the group's name (compare: one per target,
    ``A: model-x``); {} for a run that has no groups. The CLI prints one column each."""

    @property
    def failed(self) -> list[str]:
        """Names of the workers that did not finish."""
        return [name for name, w in self.workers.items() if not w.outcome.ok]

    def document(self) -> dict[str, Any]:
        """``report``, or for a system that gives none: run id, status, answer and workers."""
        if self.report:
            return self.report
        return {"run_id": self.run_id, "status": self.status, "answer": self.answer,
                "workers": {n: w.file for n, w in self.workers.items()},
                "failed": self.failed, "aggregate": self.aggregate}

    def headline(self) -> dict[str, Any]:
        """``brief``, or the answer alone."""
        return self.brief or {"answer": self.answer}


class System(Protocol):
    """What ``SystemSpec.make`` builds: every ``Orchestrator`` subclass fits."""

    async def run_request(self, request: RunRequest) -> RunResult: ...

    def cancel(self) -> None: ...

    def cancel_worker(self, worker_id: str) -> bool: ...
