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
from collections.abc import Iterable, Mapping
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
    WorkerQueued,
    WorkerStarted,
)
from ..types import now

__all__ = ["ITL_RELATIVE_ERROR", "PERCENTILES", "REBUILT_NOTE", "RunSummary", "latency_stats"]

ITL_RELATIVE_ERROR = 0.01
"""Pooled ITL quantiles are within 1% (relative) of the exact value."""
EXACT_GAPS = 65536
"""Pooled ITL gaps kept exactly (512 KiB) before the run switches to the sketch."""
PERCENTILES = (50, 90, 99)
SERIES_SECONDS = 3600
"""Seconds of the tokens-per-second series kept (the last hour)."""
REBUILT_NOTE = ("rebuilt from each request's recorded figures: ITL percentiles are not kept "
                "per request")


def latency_stats(values: Iterable[float], ordered: bool = False) -> dict[str, float | None]:
    """Mean, p50, p90 and p99 (numpy's linear interpolation, as vllm) of ``values``, seconds
    (``ordered``: a list sorted already)."""
    ranked = values if ordered and isinstance(values, list) else sorted(values)
    if not ranked:
        return {"mean": None, **{f"p{p}": None for p in PERCENTILES}}
    stats: dict[str, float | None] = {"mean": sum(ranked) / len(ranked)}
    for p in PERCENTILES:
        stats[f"p{p}"] = percentile(ranked, p, ordered=True)
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
    into ``run.json``, the CLI prints it and the app charts it live from one fold. A worker
    counts once, as it last ended (a failed call retried to done is done); wall time adds up
    the intervals the run was running (a retry minutes later does not stretch it).
    """

    def __init__(self) -> None:
        self.groups: dict[str, RunSummary] = {}
        """A summary per group of workers (``WorkerQueued.group``: compare's targets), by the
        group's name; empty for a run without groups. A group's figures end when its last
        worker does, so its throughput is over its own wall time."""
        self._group_of: dict[str, RunSummary] = {}
        """Each grouped worker's group summary (the hot path's one lookup)."""
        self._rebuilt = False
        """True when some figures were read back from run.json (``from_entries``): pooled ITL
        then keeps its mean only."""
        self.started_t: float | None = None
        """When the run first started (``types.now`` clock)."""
        self.ended_t: float | None = None
        """When it last finished; None while it runs."""
        self._wall = 0.0
        """Seconds of the intervals already finished (a run reopened for a retry adds one)."""
        self._since: float | None = None
        self._ended: dict[str, str] = {}
        """Each ended worker's last state: done, failed or cancelled."""
        self._figures: dict[str, tuple[int, int, float | None, float | None, float | None]] = {}
        """Each done worker's prompt tokens, output tokens, E2E, TTFT and TPOT."""
        self.first_tokens: dict[str, float] = {}
        """Every worker's TTFT as its first token came (finished or not): the live histogram."""
        self.itl_exact: array[float] | None = array("d")
        """Every pooled gap while there are at most ``EXACT_GAPS``; None once sketched."""
        self.itl = DDSketch(relative_accuracy=ITL_RELATIVE_ERROR)
        self._itl_sorted: list[float] | None = None
        self._itl_sum = 0.0
        self._itl_count = 0
        self._open: dict[str, _Gaps] = {}
        self._t0 = now()
        self.series: list[int] = []
        """Chunks received in each second (all workers; a chunk is a token on vLLM's default
        stream interval), the latest ``SERIES_SECONDS`` of them, for charts."""

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
            if self._group_of:
                group = self._group_of.get(ev.worker_id)
                if group is not None:
                    group(event)
            return
        if self.groups:
            self._to_group(event)
        if kind is WorkerFinished:
            self._finished(event)  # type: ignore[arg-type]
        elif kind is WorkerFailed:
            self._open.pop(event.worker_id, None)
            self._figures.pop(event.worker_id, None)
            self._ended[event.worker_id] = (
                "cancelled" if event.cancelled else "failed")  # type: ignore[attr-defined]
        elif kind is WorkerQueued:
            group = event.group  # type: ignore[attr-defined]
            if group:
                self._join(group, event)
        elif kind is FirstToken:
            self.first_tokens[event.worker_id] = event.ttft  # type: ignore[attr-defined]
        elif kind is Retrying or kind is WorkerStarted:
            # A new attempt: its gaps start again (only the attempt that finished counts).
            self._open.pop(event.worker_id, None)
        elif kind is RunStarted:
            if self.started_t is None:
                self.started_t = self._t0 = event.t
            if self._since is None:
                self._since = event.t
            self.ended_t = None  # a retry of workers reopens the run
        elif kind is RunFinished:
            self.ended_t = event.t
            if self._since is not None:
                self._wall += max(event.t - self._since, 0.0)
                self._since = None

    def _join(self, name: str, event: RunEvent) -> None:
        """A worker queued in group ``name``: that group's summary, started as the run did."""
        group = self.groups.get(name)
        if group is None:
            self.groups[name] = group = RunSummary()
            if self.started_t is not None:
                group(RunStarted(event.run_id, "", (), t=self.started_t))
        self._group_of[event.worker_id] = group

    def _to_group(self, event: RunEvent) -> None:
        """A run event to the group it concerns: a worker's to its group, the run's start to
        every group, its end to the groups still running; a group ends with its last worker."""
        kind = event.__class__
        if kind is RunStarted:
            for group in self.groups.values():
                group(event)
            return
        if kind is RunFinished:
            for group in self.groups.values():
                if group.ended_t is None:
                    group(event)
            return
        group = self._group_of.get(getattr(event, "worker_id", ""))
        if group is None or kind is WorkerQueued:
            return
        group(event)
        if (kind is WorkerFinished or kind is WorkerFailed) and group.ended_t is None and all(
                self._group_of[w] is not group or w in group._ended for w in self._group_of):
            group(RunFinished(event.run_id, "done", t=event.t))

    def _grow(self, second: int, tokens: int) -> None:
        """Extend the per-second series to ``second``, keeping the last ``SERIES_SECONDS``."""
        series = self.series
        second = max(second, 0)  # a delta stamped before RunStarted (a listener fed by hand)
        series.extend([0] * (second + 1 - len(series)))
        series[second] += tokens
        if len(series) > SERIES_SECONDS:
            drop = len(series) - SERIES_SECONDS
            del series[:drop]
            self._t0 += drop

    def _finished(self, ev: WorkerFinished) -> None:
        worker = ev.worker_id
        self._ended[worker] = "done"
        metrics, usage = ev.metrics, ev.usage
        prompt = usage.prompt_tokens or 0 if usage is not None else 0
        if metrics is None:
            self._figures[worker] = (prompt, 0, None, None, None)
        else:
            self._figures[worker] = (prompt, metrics.output_tokens, metrics.e2e, metrics.ttft,
                                     metrics.tpot)
            if metrics.ttft is not None:
                self.first_tokens[worker] = metrics.ttft
        gaps = self._open.pop(worker, None)
        if gaps is not None:
            self._pool(gaps.gaps, gaps.zeros)

    def _pool(self, gaps: list[float], zeros: int) -> None:
        """Add one finished stream's gaps to the run's ITL (exact, or sketched past the cap)."""
        self._itl_sum += sum(gaps)
        self._itl_count += len(gaps) + zeros
        self._itl_sorted = None
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

    def count(self, state: str) -> int:
        """Workers whose last end was ``state`` (done, failed or cancelled)."""
        return sum(1 for s in self._ended.values() if s == state)

    @property
    def output_tokens(self) -> int:
        """Output tokens of the requests that finished."""
        return sum(f[1] for f in self._figures.values())

    def wall(self, at: float | None = None) -> float:
        """Seconds the run has been running (to ``at``, default now, while it runs)."""
        if self._since is None:
            return self._wall
        end = now() if at is None else at
        return self._wall + max(end - self._since, 0.0)

    def itl_stats(self) -> dict[str, float | None]:
        """Pooled ITL: exact mean; percentiles exact, or sketched past ``EXACT_GAPS``."""
        if not self._itl_count:
            return {"mean": None, **{f"p{p}": None for p in PERCENTILES}}
        if self._rebuilt:
            return {"mean": self._itl_sum / self._itl_count,
                    **{f"p{p}": None for p in PERCENTILES}}
        if self.itl_exact is not None:
            if self._itl_sorted is None:  # sorted once per new stream, not per snapshot
                self._itl_sorted = sorted(self.itl_exact)
            return latency_stats(self._itl_sorted, ordered=True)
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
        figures = self._figures.values()
        done = self.count("done")
        output = sum(f[1] for f in figures)
        return {
            "requests": {"done": done, "failed": self.count("failed"),
                         "cancelled": self.count("cancelled")},
            "wall_s": wall,
            "input_tokens": sum(f[0] for f in figures),
            "output_tokens": output,
            "output_tokens_per_s": output / wall if wall > 0 else None,
            "requests_per_s": done / wall if wall > 0 else None,
            "ttft_s": latency_stats(f[3] for f in figures if f[3] is not None),
            "tpot_s": latency_stats(f[4] for f in figures if f[4] is not None),
            "itl_s": self.itl_stats(),
            "e2e_s": latency_stats(f[2] for f in figures if f[2] is not None),
            "itl_relative_error": ITL_RELATIVE_ERROR,
            **({"rebuilt": REBUILT_NOTE} if self._rebuilt else {}),
        }

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]],
                     wall_s: float | None = None) -> RunSummary:
        """A summary folded from a run's recorded worker entries (run.json's ``workers``).

        For runs recorded before run.json carried a summary, and for a run reopened to retry
        some workers, whose events then fold on top. TTFT, TPOT and E2E come out exact (one
        figure per request, as the live summary keeps); pooled ITL keeps its mean only,
        weighted by each request's gap count (``itl_gaps``). ``wall_s``: the run's wall time
        so far (None: from the workers' start and end times).
        """
        summary = cls()
        summary._rebuilt = True
        starts: list[float] = []
        ends: list[float] = []
        for entry in entries:
            worker, status = str(entry.get("id")), entry.get("status")
            if isinstance(entry.get("started_at"), (int, float)):
                starts.append(entry["started_at"])
            if isinstance(entry.get("ended_at"), (int, float)):
                ends.append(entry["ended_at"])
            if status == "failed":
                summary._ended[worker] = "failed"
            elif status in ("cancelled", "interrupted"):
                summary._ended[worker] = "cancelled"
            if status != "done":
                continue
            summary._ended[worker] = "done"
            usage = entry.get("usage") or {}
            metrics = entry.get("metrics") or {}
            tokens = metrics.get("output_tokens") or usage.get("completion_tokens") or 0
            figures = [metrics.get(k) if isinstance(metrics.get(k), (int, float)) else None
                       for k in ("e2e", "ttft", "tpot")]
            summary._figures[worker] = (usage.get("prompt_tokens") or 0, tokens, *figures)
            gaps, mean = metrics.get("itl_gaps"), metrics.get("itl_mean")
            if isinstance(gaps, int) and gaps > 0 and isinstance(mean, (int, float)):
                summary._itl_sum += mean * gaps
                summary._itl_count += gaps
        if wall_s is None:
            wall_s = max(max(ends) - min(starts), 0.0) if starts and ends else 0.0
        summary._wall = wall_s
        return summary
