"""Agents and multi-call systems: basic and context agents, chain of agents, multi-call, debate."""

from __future__ import annotations

from .agents import BaseAgent, BasicAgent, ContextAgent
from .aggregate import AggregateResult, Vote
from .base import Orchestrator, WorkerOutcome
from .chain import ChainOfAgents, ChainResult
from .debate import Debate, DebateResult
from .multi import MultiCallSystem, MultiResult

__all__ = [
    "AggregateResult",
    "BaseAgent",
    "BasicAgent",
    "ContextAgent",
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
