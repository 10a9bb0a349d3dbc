"""How a worker ended (``WorkerOutcome``), where its text streams to (``Sink``), and how
reasoning and content are joined for seed-style callers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..types import StreamMetrics, Usage

__all__ = ["Sink", "WorkerOutcome", "think_text"]


class Sink(Protocol):
    """Somewhere a worker's text goes as it streams (a seed-style output file).

    ``close()`` runs when the worker ends (it may run twice: make it idempotent); an
    ``OSError`` from ``write`` or ``close`` fails the worker with a clear error.
    """

    def write(self, content: str, reasoning: str) -> None: ...

    def close(self) -> None: ...


@dataclass
class WorkerOutcome:
    """How one worker ended: its text (complete or partial) and why it stopped."""

    worker_id: str
    content: str = ""
    reasoning: str = ""
    error: Exception | None = None
    cancelled: bool = False
    finish_reason: str | None = None
    usage: Usage | None = None
    metrics: StreamMetrics | None = None

    @property
    def ok(self) -> bool:
        """True when the stream ended well."""
        return self.error is None and not self.cancelled

    @property
    def text(self) -> str:
        """Content with reasoning wrapped in ``<think>`` first, as ``call_stream`` joins it."""
        return think_text(self.content, self.reasoning)

    @property
    def reason(self) -> str:
        """One line saying why the worker did not finish ('' when it did)."""
        if self.cancelled:
            return "cancelled"
        if self.error is not None:
            return f"{type(self.error).__name__}: {self.error}"
        return ""


def think_text(content: str, reasoning: str) -> str:
    """Join reasoning and content the way ``BaseModel.call_stream`` does."""
    return f"<think>{reasoning}</think>{content}" if reasoning else content
