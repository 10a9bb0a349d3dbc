"""The run summary's arithmetic, checked against streams computed by hand (issue 12)."""

from __future__ import annotations

import random

import pytest

from agentdeck.events import (
    FirstToken,
    Retrying,
    RunFinished,
    RunStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerStarted,
)
from agentdeck.store.summary import (
    EXACT_GAPS,
    ITL_RELATIVE_ERROR,
    SERIES_SECONDS,
    RunSummary,
    latency_stats,
)
from agentdeck.types import StreamMetrics, Usage


def _stream(summary: RunSummary, worker: str, times: list[float], *, sent: float,
            prompt: int = 10, tokens: list[int] | None = None) -> None:
    """Feed one finished stream whose text chunks arrived at ``times``."""
    summary(WorkerStarted("r", worker, sent))
    summary(FirstToken("r", worker, times[0] - sent, times[0]))
    counts = tokens or [1] * len(times)
    for t, n in zip(times, counts):
        summary(TextDelta("r", worker, "x" * n, "", t, n))
    output = sum(counts)
    e2e = times[-1] - sent
    ttft = times[0] - sent
    metrics = StreamMetrics(ttft=ttft, e2e=e2e, itl_mean=None, itl_p99=None,
                            tpot=(e2e - ttft) / (output - 1) if output > 1 else None,
                            output_tokens=output, tokens_per_s=output / e2e)
    summary(WorkerFinished("r", worker, "stop", Usage(prompt, output, prompt + output), metrics,
                           times[-1]))


def test_figures_of_two_hand_computed_streams() -> None:
    s = RunSummary()
    s(RunStarted("r", "multi", t=100.0))
    # a: sent at 100, chunks at 100.2, 100.3, 100.5 -> TTFT 0.2, gaps 0.1 and 0.2
    _stream(s, "a", [100.2, 100.3, 100.5], sent=100.0, prompt=7)
    # b: sent at 100, chunks at 100.4, 100.5, 100.6, 100.7 -> TTFT 0.4, gaps 0.1 x3
    _stream(s, "b", [100.4, 100.5, 100.6, 100.7], sent=100.0, prompt=9)
    s(RunFinished("r", "done", t=101.0))
    snap = s.snapshot()
    assert snap["requests"] == {"done": 2, "failed": 0, "cancelled": 0}
    assert snap["wall_s"] == pytest.approx(1.0)
    assert snap["input_tokens"] == 16
    assert snap["output_tokens"] == 7
    assert snap["output_tokens_per_s"] == pytest.approx(7.0)
    assert snap["requests_per_s"] == pytest.approx(2.0)
    assert snap["ttft_s"]["mean"] == pytest.approx(0.3)
    assert snap["ttft_s"]["p50"] == pytest.approx(0.3)  # numpy's linear interpolation
    assert snap["ttft_s"]["p99"] == pytest.approx(0.2 + 0.2 * 0.99)
    # TPOT: a (0.5 - 0.2) / 2 = 0.15, b (0.7 - 0.4) / 3 = 0.1
    assert snap["tpot_s"]["mean"] == pytest.approx(0.125)
    assert snap["e2e_s"]["p50"] == pytest.approx(0.6)
    # ITL pooled over every gap of every stream: 0.1, 0.2, 0.1, 0.1, 0.1
    assert snap["itl_s"]["mean"] == pytest.approx(0.12)
    assert snap["itl_s"]["p50"] == pytest.approx(0.1)  # exact while the gaps are few
    assert snap["itl_s"]["p99"] == pytest.approx(0.1 + 0.1 * 0.96)


def test_chunks_read_together_count_as_zero_gaps() -> None:
    """vllm's client stamps chunks that arrive in one read with (almost) the same time."""
    s = RunSummary()
    s(RunStarted("r", "multi", t=0.0))
    # one read of 3 chunks at 1.0, then one chunk at 1.4: gaps 0, 0, 0.4
    _stream(s, "a", [1.0, 1.4], sent=0.0, tokens=[3, 1])
    itl = s.snapshot()["itl_s"]
    assert itl["mean"] == pytest.approx(0.4 / 3)
    assert itl["p50"] == pytest.approx(0.0, abs=1e-9)
    assert itl["p99"] == pytest.approx(0.4 * 0.98)


def test_failed_cancelled_and_retried_streams() -> None:
    """Latency covers finished requests only; a retried attempt's gaps are forgotten."""
    s = RunSummary()
    s(RunStarted("r", "multi", t=0.0))
    s(WorkerStarted("r", "bad", 0.0))
    s(TextDelta("r", "bad", "x", "", 0.5, 1))
    s(TextDelta("r", "bad", "x", "", 5.5, 1))  # a 5 s gap of a stream that then fails
    s(WorkerFailed("r", "bad", None, "xx", t=6.0))
    s(WorkerFailed("r", "gone", None, "", cancelled=True, t=6.0))
    s(WorkerStarted("r", "retry", 0.0))
    s(TextDelta("r", "retry", "x", "", 0.1, 1))
    s(TextDelta("r", "retry", "x", "", 9.0, 1))  # first attempt, then a retry
    s(Retrying("connection reset", 1, 4, 0.0, "reset", run_id="r", worker_id="retry"))
    _stream(s, "retry", [10.0, 10.1], sent=9.5)
    snap = s.snapshot(at=12.0)
    assert snap["requests"] == {"done": 1, "failed": 1, "cancelled": 1}
    assert snap["itl_s"]["mean"] == pytest.approx(0.1)
    assert snap["itl_s"]["p99"] == pytest.approx(0.1)
    assert snap["ttft_s"]["p50"] == pytest.approx(0.5)
    assert snap["wall_s"] == pytest.approx(12.0)  # still running: up to `at`


def test_itl_percentiles_stay_within_the_stated_error_on_many_gaps() -> None:
    """Past EXACT_GAPS the sketch takes over: p50/p90/p99 within its 1% of the exact values."""
    rng = random.Random(7)
    s = RunSummary()
    s(RunStarted("r", "multi", t=0.0))
    every: list[float] = []
    for w in range(EXACT_GAPS // 249 + 20):
        t = 0.0
        times = []
        for _ in range(250):
            t += rng.lognormvariate(-4, 0.6)
            times.append(t)
        every += [b - a for a, b in zip(times, times[1:])]
        _stream(s, f"w{w}", times, sent=-0.1)
    assert s.itl_exact is None and len(every) > EXACT_GAPS  # the sketch answers
    exact = latency_stats(every)
    got = s.snapshot()["itl_s"]
    assert got["mean"] == pytest.approx(exact["mean"], rel=1e-9)
    for p in ("p50", "p90", "p99"):
        # DDSketch's guarantee is 1% on the value at the rank; with ~70k close gaps the
        # interpolation between neighbours adds far less than that
        assert got[p] == pytest.approx(exact[p], rel=ITL_RELATIVE_ERROR * 1.05)


def test_no_requests_give_empty_figures() -> None:
    s = RunSummary()
    snap = s.snapshot()
    assert snap["requests"] == {"done": 0, "failed": 0, "cancelled": 0}
    assert snap["ttft_s"]["p50"] is None and snap["itl_s"]["mean"] is None
    assert snap["output_tokens_per_s"] is None


def test_series_counts_chunks_per_second() -> None:
    s = RunSummary()
    s(RunStarted("r", "multi", t=10.0))
    _stream(s, "a", [10.2, 10.7, 11.1, 13.0], sent=10.0)
    assert s.series == [2, 1, 0, 1]


def test_a_failed_call_retried_to_done_counts_once_and_the_idle_gap_is_not_wall_time() -> None:
    """The app's retry: the run finishes, a failed worker is queued again minutes later."""
    s = RunSummary()
    s(RunStarted("r", "multi", t=0.0))
    _stream(s, "a", [0.2, 0.3], sent=0.0)
    s(WorkerStarted("r", "b", 0.0))
    s(TextDelta("r", "b", "x", "", 0.2, 1))
    s(WorkerFailed("r", "b", None, "x", t=0.4))
    s(RunFinished("r", "partial", t=1.0))
    assert s.snapshot()["requests"] == {"done": 1, "failed": 1, "cancelled": 0}
    s(RunStarted("r", "multi", t=300.0))  # retried five minutes later
    _stream(s, "b", [300.2, 300.3, 300.4], sent=300.0)
    s(RunFinished("r", "done", t=301.0))
    snap = s.snapshot()
    assert snap["requests"] == {"done": 2, "failed": 0, "cancelled": 0}
    assert snap["wall_s"] == pytest.approx(2.0)  # 1 s + 1 s, not 301 s
    assert snap["output_tokens"] == 5
    assert snap["output_tokens_per_s"] == pytest.approx(2.5)
    assert snap["itl_s"]["mean"] == pytest.approx(0.1)  # the failed attempt's gaps are gone


def test_the_series_keeps_the_latest_hour() -> None:
    s = RunSummary()
    s(RunStarted("r", "multi", t=0.0))
    s(TextDelta("r", "a", "x", "", 5.5, 1))
    s(TextDelta("r", "a", "x", "", 3605.5, 2))
    assert len(s.series) == SERIES_SECONDS
    assert s.series[-1] == 2
    assert sum(s.series) == 2  # second 5 fell out of the window


def test_a_rebuilt_itl_mean_weighs_each_request_by_its_gaps() -> None:
    """Regression: the rebuilt mean weighed a request by output_tokens - 1, which is not its
    gap count when chunks carry several tokens."""
    entries = [
        {"id": "a", "status": "done", "usage": {"prompt_tokens": 5},
         "metrics": {"output_tokens": 100, "itl_mean": 0.01, "itl_gaps": 10, "ttft": 0.1,
                     "tpot": 0.01, "e2e": 1.0}},
        {"id": "b", "status": "done", "usage": {"prompt_tokens": 5},
         "metrics": {"output_tokens": 3, "itl_mean": 0.05, "itl_gaps": 2, "ttft": 0.2,
                     "tpot": 0.05, "e2e": 0.3}},
        {"id": "c", "status": "failed"},
    ]
    snapshot = RunSummary.from_entries(entries, wall_s=2.0).snapshot()
    assert snapshot["itl_s"]["mean"] == pytest.approx((0.01 * 10 + 0.05 * 2) / 12)
    assert snapshot["itl_s"]["p50"] is None and snapshot["rebuilt"]
    assert snapshot["requests"] == {"done": 2, "failed": 1, "cancelled": 0}
    assert snapshot["output_tokens"] == 103 and snapshot["ttft_s"]["p50"] == pytest.approx(0.15)
