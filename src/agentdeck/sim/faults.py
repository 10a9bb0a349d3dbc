"""Which fault, if any, a request gets: forced by the request, scheduled, or drawn at random."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson

from .config import SimConfig

__all__ = ["Fault", "FaultPicker"]


@dataclass(frozen=True)
class Fault:
    """One fault to inject into one request."""

    kind: str
    status: int = 503
    retry_after: float | None = None
    retry_after_ms: int | None = None
    after: int = 0
    """Content/reasoning chunks sent before a stream fault strikes (role chunks not counted)."""
    seconds: float = 30.0
    message: str = "simulated failure"

    @classmethod
    def from_options(cls, options: dict[str, Any], config: SimConfig) -> Fault:
        """Build from a ``sim`` object or a schedule entry, filling defaults from ``config``."""
        kind = options["fault"]
        default_after = 3 if kind in ("disconnect", "malformed", "error") else 0
        return cls(
            kind=kind,
            status=int(options.get("status", 503)),
            retry_after=options.get(
                "retry_after", config.retry_after if "retry_after_ms" not in options else None
            ),
            retry_after_ms=options.get("retry_after_ms"),
            after=int(options.get("after", default_after)),
            seconds=float(options.get("seconds", config.stall_s)),
            message=str(options.get("message", f"simulated {kind} fault")),
        )


class FaultPicker:
    """Decides each request's fault; one per server, so its seeded draws are reproducible."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.rng = random.Random(config.fault_seed)
        self.request_number = 0
        self._forced_counts: dict[bytes, int] = {}

    def pick(self, sim: dict[str, Any]) -> Fault | None:
        """The fault for the next request, whose (checked) ``sim`` object is given."""
        self.request_number += 1
        config = self.config
        if sim.get("fault"):
            times = sim.get("times")
            if times is not None:
                # Fault only the first `times` requests with this key: lets a retry succeed.
                key = (
                    str(sim["key"]).encode()
                    if "key" in sim
                    else orjson.dumps(sim, option=orjson.OPT_SORT_KEYS)
                )
                used = self._forced_counts.get(key, 0)
                if used >= int(times):
                    return None
                self._forced_counts[key] = used + 1
            return Fault.from_options(sim, config)
        scheduled = config.fault_schedule.get(self.request_number)
        if scheduled:
            options = {"fault": scheduled} if isinstance(scheduled, str) else dict(scheduled)
            return Fault.from_options(options, config)
        for kind, probability in config.faults.items():
            if probability and self.rng.random() < probability:
                return self._random(kind)
        return None

    def _random(self, kind: str) -> Fault:
        rng = self.rng
        options: dict[str, Any] = {
            "fault": kind,
            "after": rng.randint(0 if kind == "stall" else 1, 20),
        }
        if kind == "status":
            options["status"] = rng.choice((429, 500, 503))
        if kind == "stall":
            options["seconds"] = self.config.stall_s
        return Fault.from_options(options, self.config)
