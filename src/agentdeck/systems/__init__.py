"""Multi-call orchestration systems: chain of agents, parallel calls, debate."""

from __future__ import annotations

from .aggregate import AggregateResult, Vote
from .base import Orchestrator, WorkerOutcome
from .chain import ChainOfAgents, ChainResult
from .debate import Debate, DebateResult
from .multi import MultiCallSystem, MultiResult

__all__ = [
    "AggregateResult",
    "ChainOfAgents",
    "ChainResult",
    "Debate",
    "DebateResult",
    "MultiCallSystem",
    "MultiResult",
    "Orchestrator",
    "Vote",
    "WorkerOutcome",
]
