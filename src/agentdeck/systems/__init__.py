"""Agents and systems: basic and context agents, chain of agents, multi-call, debate, MoA.

Names load on first use (as the package root's do): the CLI lists the systems from their
declarations (``systems.declarations``) without importing any of them.
"""

from __future__ import annotations

from agentdeck import lazy_face

_EXPORTS = {
    "AggregateResult": "aggregate",
    "BaseAgent": "agents",
    "BasicAgent": "agents",
    "ContextAgent": "agents",
    "ChainOfAgents": "chain",
    "ChainResult": "chain",
    "CompareSystem": "compare",
    "Debate": "debate",
    "DebateResult": "debate",
    "MixtureOfAgents": "moa",
    "MoAResult": "moa",
    "MultiCallSystem": "multi",
    "MultiResult": "multi",
    "Orchestrator": "base",
    "Vote": "aggregate",
    "WorkerOutcome": "base",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
