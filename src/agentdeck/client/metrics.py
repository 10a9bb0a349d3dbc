"""Per-stream latency metrics, defined as ``vllm bench serve`` defines them.

* TTFT: request sent -> first chunk carrying content or reasoning text;
* ITL: gaps between successive text-bearing chunks after the first (mean and p99);
* E2E: request sent -> end of stream;
* TPOT: (E2E - TTFT) / (output_tokens - 1);
* output tokens: ``usage.completion_tokens`` when the server sent usage, else the number of
  text-bearing chunks; tokens/s = output_tokens / E2E.

The hot path is ``StreamClock.token(t)``: one comparison and one list append per chunk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..types import StreamMetrics, now

__all__ = ["StreamClock", "percentile"]


class StreamClock:
    """Collects the timestamps of one stream; ``result()`` turns them into ``StreamMetrics``."""

    __slots__ = ("sent", "first", "times")

    def __init__(self, sent: float | None = None) -> None:
        self.sent = now() if sent is None else sent
        """When the request was sent (``types.now`` clock)."""
        self.first: float | None = None
        """When the first text-bearing chunk arrived."""
        self.times: list[float] = []
        """Arrival time of every text-bearing chunk."""

    def token(self, t: float) -> None:
        """Record a chunk that carried content or reasoning text, arriving at ``t``."""
        if self.first is None:
            self.first = t
        self.times.append(t)

    @property
    def ttft(self) -> float | None:
        return None if self.first is None else self.first - self.sent

    def result(
        self, completion_tokens: int | None = None, end: float | None = None
    ) -> StreamMetrics:
        """The metrics of the stream, ended at ``end`` (default: now)."""
        end = now() if end is None else end
        e2e = max(end - self.sent, 0.0)
        times = self.times
        output = completion_tokens if completion_tokens is not None else len(times)
        gaps = [b - a for a, b in zip(times, times[1:])]
        ttft = self.ttft
        tpot = (e2e - ttft) / (output - 1) if ttft is not None and output > 1 else None
        return StreamMetrics(
            ttft=ttft,
            e2e=e2e,
            itl_mean=sum(gaps) / len(gaps) if gaps else None,
            itl_p99=percentile(gaps, 99) if gaps else None,
            tpot=tpot,
            output_tokens=output,
            tokens_per_s=output / e2e if e2e > 0 else None,
            itl_gaps=len(gaps),
        )


def percentile(values: Sequence[float], pct: float, ordered: bool = False) -> float:
    """Linear-interpolated percentile (numpy's default method) of a non-empty sequence
    (``ordered``: it is sorted already, so several percentiles sort once)."""
    if not ordered:
        values = sorted(values)
    rank = (len(values) - 1) * pct / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (rank - low)
