"""Turns the main screen's choices (system, parameters, prompt, attachment) into one core run.

Kept apart from the screen so the screen only deals with widgets, and so tests can check the
mapping from picker options to the systems' seed APIs without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentdeck.client.model import BaseModel
from agentdeck.errors import InputError
from agentdeck.events import EventListener

__all__ = ["AGGREGATIONS", "SYSTEMS", "RunOptions", "build_system", "run_system"]

SYSTEMS: tuple[tuple[str, str], ...] = (
    ("Basic", "basic"),
    ("Context", "context"),
    ("Chain", "chain"),
    ("Multi-call", "multi"),
    ("Debate", "debate"),
)
"""(label, key) of every system the app can run, in picker order."""

AGGREGATIONS: tuple[tuple[str, str], ...] = (
    ("no aggregation", "none"),
    ("vote", "vote"),
    ("select", "select"),
    ("synthesize", "synthesize"),
)

NEEDS_ATTACHMENT = {"context": "a context file", "chain": "a long text"}
"""Systems that cannot run without an attached file, and what the file is to them."""


@dataclass(frozen=True)
class RunOptions:
    """What the picker says about the next run; validated on construction."""

    system: str = "basic"
    temperature: float | None = None
    max_tokens: int | None = None
    num_calls: int = 4
    """Calls for Multi-call, seats for Debate."""
    concurrency: int | None = None
    aggregate: str = "none"
    rounds: int = 2

    def __post_init__(self) -> None:
        if self.system not in {key for _, key in SYSTEMS}:
            raise InputError(f"unknown system {self.system!r}")
        if self.temperature is not None and not 0 <= self.temperature <= 2:
            raise InputError(f"temperature must be between 0 and 2, got {self.temperature}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise InputError(f"max tokens must be at least 1, got {self.max_tokens}")
        if not 1 <= self.num_calls <= 1024:
            raise InputError(f"number of calls must be between 1 and 1024, got {self.num_calls}")
        if self.concurrency is not None and self.concurrency < 1:
            raise InputError(f"concurrency must be at least 1, got {self.concurrency}")
        if not 1 <= self.rounds <= 10:
            raise InputError(f"debate rounds must be between 1 and 10, got {self.rounds}")

    @property
    def sampling(self) -> dict[str, Any]:
        """Keyword arguments every system's ``run`` passes on to the model."""
        kw: dict[str, Any] = {}
        if self.temperature is not None:
            kw["temperature"] = self.temperature
        if self.max_tokens is not None:
            kw["max_tokens"] = self.max_tokens
        return kw


def build_system(
    options: RunOptions,
    model: BaseModel,
    *,
    attachment: str | None,
    listeners: list[EventListener],
    store: Any,
) -> Any:
    """Create the agent or system ``options`` names, wired to ``listeners`` and ``store``.

    Raises:
        InputError: the system needs an attachment and none was given.
    """
    from agentdeck import systems
    from agentdeck.systems import agents

    need = NEEDS_ATTACHMENT.get(options.system)
    if need and not attachment:
        raise InputError(f"{options.system} needs {need}: attach one with ctrl+o")
    common: dict[str, Any] = {
        "listeners": listeners,
        "store": store,
        "concurrency": options.concurrency,
    }
    if options.system == "basic":
        return agents.BasicAgent("agent", model, **common)
    if options.system == "context":
        return agents.ContextAgent("agent", model, attachment, **common)
    if options.system == "chain":
        return systems.ChainOfAgents("chain", model, **common)
    if options.system == "multi":
        return systems.MultiCallSystem("multi", model, **common)
    return systems.Debate(
        "debate", model, agents=options.num_calls, rounds=options.rounds, **common
    )


async def run_system(system: Any, options: RunOptions, prompt: str, attachment: str | None) -> Any:
    """Run ``system`` with its seed API and return its seed result."""
    if not prompt.strip():
        raise InputError("the prompt is empty: type something first")
    kw = options.sampling
    if options.system in ("basic", "context"):
        return await system.run(prompt, **kw)
    if options.system == "chain":
        return await system.run(prompt, attachment, **kw)
    if options.system == "multi":
        if options.aggregate != "none":
            kw["aggregate"] = options.aggregate
        # The run store keeps every call already: no seed-style copies (each token would be
        # written twice).
        return await system.run(prompt, options.num_calls, None, "call", **kw)
    return await system.run(prompt, **kw)
