"""The simulator's knobs: one frozen dataclass, every field documented."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAULT_KINDS", "SimConfig"]

FAULT_KINDS = ("status", "close", "disconnect", "stall", "malformed", "error")
"""Every fault the simulator can inject (see the package docstring for their parameters)."""


@dataclass(frozen=True)
class SimConfig:
    """How the simulated vLLM server behaves; the defaults suit a live demo."""

    models: tuple[str, ...] = ("sim-model",)
    """Served model names; requests for any other name get vLLM's 404 body."""
    api_key: str | None = field(default=None, repr=False)
    """Bearer key required on /v1 routes (vLLM's --api-key); None serves without auth."""
    tokens_per_s: float = 60.0
    """Tokens per second per stream; 0 sends as fast as the client reads."""
    ttft: float = 0.25
    """Seconds from request to the first token."""
    prefill_tokens_per_s: float = 0.0
    """Prompt tokens processed per second, added to ttft (0: prompt length costs nothing)."""
    output_tokens: int = 200
    """Content tokens of a natural answer (it ends with finish_reason "stop")."""
    output_tokens_jitter: float = 0.0
    """Vary the natural length per choice by up to this fraction (0.3 = +-30%), seeded."""
    tokens_per_chunk: int = 1
    """Tokens packed into one SSE chunk (vLLM packs several under load)."""
    reasoning: bool = False
    """Send a short reasoning phase first, in delta.reasoning (deepseek_r1 parser style)."""
    reasoning_tokens: int = 48
    """Tokens of that reasoning phase; they count toward max_tokens, as in vLLM."""
    reasoning_field: str = "reasoning"
    """Delta key carrying reasoning: "reasoning" (vLLM >= 0.10) or "reasoning_content"."""
    max_model_len: int = 32768
    """Context length: longer prompts or larger max_tokens get vLLM's 400 bodies."""
    max_num_seqs: int | None = None
    """Requests generating at once; the rest wait (vllm:num_requests_waiting). None: no cap."""
    kv_cache_tokens: int = 131072
    """KV-cache size in tokens, for the vllm:kv_cache_usage_perc gauge."""
    seed: int | None = None
    """Seed for the text; None gives fresh text per request unless the request sends a seed."""
    tick: float = 0.02
    """Minimum seconds between two writes of one stream (due tokens are sent together).

    Counted from the time the last write was due, not from when it went out: a late wake-up
    never pushes later tokens back, so the pace stays exact when tick equals the token interval.
    """
    faults: Mapping[str, float] = field(default_factory=dict)
    """Probability per request of each fault kind, e.g. {"status": 0.05, "disconnect": 0.02}."""
    fault_schedule: Mapping[int, Any] = field(default_factory=dict)
    """Faults by chat request number (1-based): {3: "stall", 7: {"fault": "status"}}."""
    fault_seed: int | None = None
    """Seed for the random fault draws (None: unseeded)."""
    stall_s: float = 30.0
    """Default length of a "stall" fault, in seconds."""
    retry_after: float | None = 1.0
    """Default Retry-After (seconds) on a "status" fault; None sends no header."""
    shutdown_timeout: float = 0.25
    """Seconds the server waits for open streams when it stops before cancelling them."""

    @classmethod
    def demo(cls, **overrides: Any) -> SimConfig:
        """The built-in endpoint of the app: lively pacing, varied lengths, a reasoning phase."""
        lively: dict[str, Any] = {
            "tokens_per_s": 55.0,
            "ttft": 0.4,
            "output_tokens": 320,
            "output_tokens_jitter": 0.4,
            "reasoning": True,
            "reasoning_tokens": 40,
            "max_num_seqs": 24,
        }
        return cls(**{**lively, **overrides})

    @classmethod
    def quick(cls, **overrides: Any) -> SimConfig:
        """The built-in endpoint of the headless CLI: plain answers at the default pace.

        No reasoning phase: stdout carries only the answer, and reasoning would use up a
        small ``--max-tokens`` before any of it.
        """
        return cls(**overrides)

    def __post_init__(self) -> None:
        if isinstance(self.models, str):
            object.__setattr__(self, "models", (self.models,))
        if not self.models:
            raise ValueError("SimConfig.models needs at least one model name")
        unknown = set(self.faults) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(
                f"unknown fault kinds {sorted(unknown)}; known: {', '.join(FAULT_KINDS)}"
            )
        if self.tokens_per_chunk < 1:
            raise ValueError("SimConfig.tokens_per_chunk must be at least 1")
