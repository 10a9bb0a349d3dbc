"""The run summary: a run's figures as ``vllm bench serve`` reports them, folded from its events.

Definitions follow ``vllm bench serve`` (``benchmarks/serve.py``): latency figures count the
requests that finished (``done``); TTFT, TPOT and E2E come from each finished stream's
``StreamMetrics``; ITL is pooled over every gap between successive text-bearing chunks of every
finished stream; throughput divides the finished requests' tokens by the run's wall time.

Memory stays bounded: TTFT, TPOT and E2E keep one number per request (as vllm does). The pooled
ITL is kept exactly up to ``EXACT_GAPS`` gaps (percentiles then equal vllm's); past that (10
million gaps for 1000 streams of 10k tokens) it goes into a DDSketch whose quantiles are within
``ITL_RELATIVE_ERROR`` of the exact order statistic; its mean stays exact. A chunk batch read in
one socket read counts as one gap and ``n - 1`` zero gaps, which is what vllm's client measures
for chunks that arrive together.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

from ddsketch import DDSketch

from ..client.metrics import percentile
from ..events import (
    FirstToken,
    Retrying,
    RunEvent,
    RunFinished,
    RunStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerStarted,
)
from ..types import now

__all__ = ["ITL_RELATIVE_ERROR", "PERCENTILES", "RunSummary", "latency_stats"]

ITL_RELATIVE_ERROR = 0.01
"""Pooled ITL quantiles are within 1% (relative) of the exact value."""
EXACT_GAPS = 65536
"""Pooled ITL gaps kept exactly (512 KiB) before the run switches to the sketch."""
PERCENTILES = (50, 90, 99)
SERIES_SECONDS = 3600
"""Seconds of the tokens-per-second series kept (the last hour)."""


def latency_stats(values: Iterable[float]) -> dict[str, float | None]:
    """Mean, p50, p90 and p99 (numpy's linear interpolation, as vllm) of ``values``, seconds."""
    ordered = sorted(values)
    if not ordered:
        return {"mean": None, **{f"p{p}": None for p in PERCENTILES}}
    stats: dict[str, float | None] = {"mean": sum(ordered) / len(ordered)}
    for p in PERCENTILES:
        stats[f"p{p}"] = percentile(ordered, p)
    return stats


class _Gaps:
    """One stream's pending ITL gaps, pooled into the run's sketch when the stream is done."""

    __slots__ = ("last", "gaps", "zeros")

    def __init__(self, t: float) -> None:
        self.last = t
        self.gaps: list[float] = []
        self.zeros = 0


class RunSummary:
    """Listener folding a run's events into its summary; ``snapshot()`` gives the figures.

    The systems' ``Run`` feeds it every event before the recorder, so the recorder writes it
    into ``run.json``, the CLI prints it and the app charts it live from one fold.
    """

    def __init__(self) -> None:
        self.started_t: float | None = None
        self.ended_t: float | None = None
        self.done = 0
        self.failed = 0
        self.cancelled = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.ttft: list[float] = []
        self.tpot: list[float] = []
        self.e2e: list[float] = []
        self.first_tokens: dict[str, float] = {}
        """Every worker's TTFT as its first token came (finished or not): the live histogram."""
        self.itl_exact: array[float] | None = array("d")
        """Every pooled gap while there are at most ``EXACT_GAPS``; None once sketched."""
        self.itl = DDSketch(relative_accuracy=ITL_RELATIVE_ERROR)
        self._itl_sum = 0.0
        self._itl_count = 0
        self._open: dict[str, _Gaps] = {}
        self._t0 = now()
        self.series: list[int] = []
        """Chunks received in each second since the run started (all workers), for charts."""

    # ------------------------------------------------------------------ intake

    def __call__(self, event: RunEvent) -> None:
        kind = event.__class__
        if kind is TextDelta:  # the hot path: a dict lookup, a subtraction, two appends
            ev: Any = event
            t = ev.t
            gaps = self._open.get(ev.worker_id)
            if gaps is None:
                self._open[ev.worker_id] = gaps = _Gaps(t)
            else:
                gaps.gaps.append(t - gaps.last)
                gaps.last = t
            tokens = ev.tokens
            if tokens > 1:
                gaps.zeros += tokens - 1
            second = int(t - self._t0)
            if 0 <= second < len(self.series):
                self.series[second] += tokens
            else:
                self._grow(second, tokens)
        elif kind is WorkerFinished:
            self._finished(event)  # type: ignore[arg-type]
        elif kind is WorkerFailed:
            self._open.pop(event.worker_id, None)
            if event.cancelled:  # type: ignore[attr-defined]
                self.cancelled += 1
            else:
                self.failed += 1
        elif kind is FirstToken:
            self.first_tokens[event.worker_id] = event.ttft  # type: ignore[attr-defined]
        elif kind is Retrying or kind is WorkerStarted:
            # A new attempt: its gaps start again (only the attempt that finished counts).
            self._open.pop(event.worker_id, None)
        elif kind is RunStarted:
            if self.started_t is None:
                self.started_t = self._t0 = event.t
            self.ended_t = None  # a retry of workers reopens the run
        elif kind is RunFinished:
            self.ended_t = event.t

    def _grow(self, second: int, tokens: int) -> None:
        """Extend the per-second series to ``second`` (kept to the last ``SERIES_SECONDS``)."""
        series = self.series
        if second < 0:  # a delta stamped before RunStarted (a listener fed by hand)
            second = 0
        elif second - len(series) > SERIES_SECONDS:
            series.clear()
            self._t0 += second
            second = 0
        series.extend([0] * (second + 1 - len(series)))
        series[second] += tokens

    def _finished(self, ev: WorkerFinished) -> None:
        self.done += 1
        metrics, usage = ev.metrics, ev.usage
        if usage is not None and usage.prompt_tokens:
            self.input_tokens += usage.prompt_tokens
        if metrics is not None:
            self.output_tokens += metrics.output_tokens
            self.e2e.append(metrics.e2e)
            if metrics.ttft is not None:
                self.ttft.append(metrics.ttft)
                self.first_tokens[ev.worker_id] = metrics.ttft
            if metrics.tpot is not None:
                self.tpot.append(metrics.tpot)
        gaps = self._open.pop(ev.worker_id, None)
        if gaps is not None:
            self._pool(gaps.gaps, gaps.zeros)

    def _pool(self, gaps: list[float], zeros: int) -> None:
        """Add one finished stream's gaps to the run's ITL (exact, or sketched past the cap)."""
        self._itl_sum += sum(gaps)
        self._itl_count += len(gaps) + zeros
        exact = self.itl_exact
        if exact is not None:
            exact.extend(gaps)
            exact.extend([0.0] * zeros)
            if len(exact) <= EXACT_GAPS:
                return
            gaps, zeros, self.itl_exact = list(exact), 0, None
        add = self.itl.add
        for gap in gaps:
            add(gap)
        if zeros:
            add(0.0, zeros)

    # ------------------------------------------------------------------ reading

    def wall(self, at: float | None = None) -> float:
        """Seconds from the run's start to its end (or to ``at``, default now, while running)."""
        if self.started_t is None:
            return 0.0
        end = self.ended_t if self.ended_t is not None else (now() if at is None else at)
        return max(end - self.started_t, 0.0)

    def itl_stats(self) -> dict[str, float | None]:
        """Pooled ITL: exact mean; percentiles exact, or sketched past ``EXACT_GAPS``."""
        if not self._itl_count:
            return {"mean": None, **{f"p{p}": None for p in PERCENTILES}}
        if self.itl_exact is not None:
            return latency_stats(self.itl_exact)
        stats: dict[str, float | None] = {"mean": self._itl_sum / self._itl_count}
        for p in PERCENTILES:
            value = self.itl.get_quantile_value(p / 100)
            stats[f"p{p}"] = max(value, 0.0) if value is not None else None
        return stats

    def snapshot(self, at: float | None = None) -> dict[str, Any]:
        """The summary as a JSON-able dict (``run.json``'s ``summary``, the CLI's ``--json``).

        Times are seconds; rates are per second of wall time; latency figures cover the
        requests that finished.
        """
        wall = self.wall(at)
        return {
            "requests": {"done": self.done, "failed": self.failed,
                         "cancelled": self.cancelled},
            "wall_s": wall,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "output_tokens_per_s": self.output_tokens / wall if wall > 0 else None,
            "requests_per_s": self.done / wall if wall > 0 else None,
            "ttft_s": latency_stats(self.ttft),
            "tpot_s": latency_stats(self.tpot),
            "itl_s": self.itl_stats(),
            "e2e_s": latency_stats(self.e2e),
            "itl_relative_error": ITL_RELATIVE_ERROR,
        }
