"""LiveRun folds run events into per-worker buffers the way the cards show them."""

from __future__ import annotations

from agentdeck.errors import StallError
from agentdeck.events import (
    FirstToken,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerQueued,
    WorkerStarted,
)
from agentdeck.state import WorkerState
from agentdeck.tui.live import LiveRun, WorkerBuffer
from agentdeck.types import StreamMetrics, Usage

RUN = "run-1"


def delta(worker: str, content: str = "", reasoning: str = "", t: float = 0.0) -> TextDelta:
    return TextDelta(RUN, worker, content, reasoning, t)


def test_a_worker_goes_through_every_state_in_order() -> None:
    live = LiveRun()
    live(RunStarted(RUN, "multi", ("call-01", "call-02")))
    assert live.order == ["call-01", "call-02"]
    buf = live.buffers["call-01"]
    assert buf.state is WorkerState.QUEUED

    live(WorkerQueued(RUN, "call-01", label="call 1"))
    assert buf.title == "call 1"
    live(WorkerStarted(RUN, "call-01", t=10.0))
    assert buf.state is WorkerState.WAITING
    live(Retrying(1, 3, 0.5, "503 Service Unavailable", t=10.0, run_id=RUN,
                  worker_id="call-01"))
    assert buf.state is WorkerState.RETRYING and buf.state_text == "retrying 1/3"
    live(FirstToken(RUN, "call-01", ttft=0.75, t=10.75))
    # TTFT from the request that streamed (sent after the 0.5 s back-off); the retry apart
    assert buf.state is WorkerState.STREAMING and buf.ttft == 0.25 and buf.retrying_s == 0.5
    live(delta("call-01", "Hello", t=10.75))
    live(delta("call-01", ", world", t=11.75))
    live(delta("call-01", "!", t=12.75))
    assert buf.text == "Hello, world!"
    assert buf.tokens == 3
    assert buf.tokens_per_s == 1.0  # two gaps of one second after the first token
    metrics = StreamMetrics(0.2, 2.25, None, None, 0.05, 42, 42 / 2.25)
    live(WorkerFinished(RUN, "call-01", "stop", Usage(completion_tokens=42), metrics))
    assert buf.state is WorkerState.DONE
    # decode speed (1 / TPOT), not tokens over the whole request (18.7 tok/s)
    assert buf.tokens == 42 and buf.tokens_per_s == 20.0 and buf.ttft == 0.2


def test_failed_and_cancelled_workers_keep_their_text_and_reason() -> None:
    live = LiveRun()
    live(WorkerStarted(RUN, "a"))
    live(delta("a", "partial answer"))
    live(WorkerFailed(RUN, "a", StallError("no chunk for 30 s"), partial="partial answer"))
    live(WorkerStarted(RUN, "b"))
    live(WorkerFailed(RUN, "b", None, cancelled=True))
    a, b = live.buffers["a"], live.buffers["b"]
    assert a.state is WorkerState.FAILED
    assert a.text == "partial answer"  # not doubled by the event's own copy
    assert "StallError" in a.error and "30 s" in a.error
    assert b.state is WorkerState.CANCELLED and b.error == "cancelled"


def test_partial_text_from_the_failure_is_kept_when_no_delta_arrived() -> None:
    live = LiveRun()
    live(WorkerFailed(RUN, "a", RuntimeError("x"), partial="what the server sent"))
    assert live.buffers["a"].text == "what the server sent"


def test_content_and_reasoning_are_kept_apart() -> None:
    live = LiveRun()
    live(delta("a", reasoning="Let me think. "))
    live(delta("a", reasoning="Done thinking."))
    live(delta("a", content="The answer is 4."))
    buf = live.buffers["a"]
    assert buf.reasoning_text == "Let me think. Done thinking."
    assert buf.text == "The answer is 4."
    assert buf.state is WorkerState.STREAMING  # text alone starts streaming (no FirstToken)


def test_readers_get_only_what_is_new_even_across_compaction() -> None:
    live = LiveRun()
    pieces = [f"<{i}>" for i in range(1000)]
    got, pos = [], 0
    buf = None
    for i, piece in enumerate(pieces):
        live(delta("a", piece))
        buf = live.buffers["a"]
        if i % 7 == 0:
            got.append(buf.content_since(pos))
            pos = buf.content.length
    assert buf is not None
    got.append(buf.content_since(pos))
    assert "".join(got) == "".join(pieces) == buf.text
    assert len(buf.content.pieces) < 100  # joined as it grows: memory near the text's size
    assert buf.content_since(buf.content.length - 5) == "<999>"


def test_dirty_set_names_changed_workers_once() -> None:
    live = LiveRun()
    live(RunStarted(RUN, "multi", ("a", "b", "c")))
    live.take_dirty()
    live(delta("a", "x"))
    live(delta("a", "y"))
    live(WorkerStarted(RUN, "c"))
    assert live.take_dirty() == {"a", "c"}
    assert live.take_dirty() == set()


def test_aggregate_rate_counts_tokens_in_the_window() -> None:
    live = LiveRun()
    assert live.tokens_per_s(t=100.0) == 0.0
    for _ in range(50):
        live(delta("a", "x"))
    assert live.tokens_per_s(t=101.0) == 50.0
    for _ in range(10):
        live(delta("b", "y"))
    assert live.tokens_per_s(t=103.5) == 10 / 2.5  # the first sample fell out of the window


def test_a_retried_worker_starts_a_fresh_buffer() -> None:
    live = LiveRun()
    live(WorkerQueued(RUN, "call-02", label="call 2"))
    live(delta("call-02", "half"))
    live(WorkerFailed(RUN, "call-02", RuntimeError("boom")))
    old = live.buffers["call-02"]
    live(WorkerQueued(RUN, "call-02", label="call 2"))
    new = live.buffers["call-02"]
    assert new is not old and new.text == "" and new.state is WorkerState.QUEUED
    assert live.order == ["call-02"]


def test_steps_record_their_unit_and_worker() -> None:
    live = LiveRun()
    live(WorkerQueued(RUN, "chunk-01", label="chunk 1/2", step=1))
    live(StepStarted(RUN, 1, 3, "chunk 1/2"))
    assert live.steps[1].worker_id == "chunk-01" and live.steps[1].output is None
    live(StepFinished(RUN, 1, "unit one", "chunk-01"))
    assert live.steps[1].output == "unit one"
    live(RunFinished(RUN, "done", result="answer"))
    assert live.finished and live.status == "done"


def test_from_text_builds_a_finished_buffer() -> None:
    buf = WorkerBuffer.from_text("w", "answer", "thoughts", label="seat 1")
    assert (buf.text, buf.reasoning_text, buf.title) == ("answer", "thoughts", "seat 1")
    assert buf.state.finished


def test_the_status_and_the_frame_rate_follow_the_counts_through_a_retry() -> None:
    """The status line's "n/m done" and the frame interval read the fold's counts."""
    from agentdeck.tui.screens.main import FRAME, MainScreen

    ids = tuple(f"call-{i:02}" for i in range(20))
    live = LiveRun()
    live(RunStarted(RUN, "multi", ids))
    for worker_id in ids:
        live(WorkerStarted(RUN, worker_id))
        live(delta(worker_id, "text"))
    screen = MainScreen()
    screen.live = live
    assert live.state_text() == "0/20 done" and screen._frame_interval() == 1 / 15
    for worker_id in ids[:4]:
        live(WorkerFailed(RUN, worker_id, StallError("stalled")))
    assert live.state_text() == "4/20 done" and screen._frame_interval() == FRAME  # 16 stream
    live(WorkerQueued(RUN, "call-00"))  # retried: no longer done
    assert live.state_text() == "3/20 done"
    assert screen.in_flight_summary() == "multi run-1: 17 of 20 workers going."


def test_the_status_figures_restart_with_a_retried_worker() -> None:
    """Before: a retried worker streamed under the old run's average (or a rate over the idle
    time since the run ended); now the rate restarts and the idle time is not counted."""
    live = LiveRun()
    live(RunStarted(RUN, "multi", ("call-01",), t=0.0))
    live(WorkerQueued(RUN, "call-01", "call 1", t=0.0))
    live(WorkerStarted(RUN, "call-01", t=0.0))
    for i in range(100):
        live(delta("call-01", "x", t=i / 10))
    live(WorkerFailed(RUN, "call-01", RuntimeError("cut"), t=10.0))
    live(RunFinished(RUN, "partial", t=10.0))
    assert live.figures(t=50.0) == "10s · 100 tok · 10 tok/s"  # average over the run
    live(WorkerQueued(RUN, "call-01", "call 1", t=100.0))  # retried 90 s later
    live(WorkerStarted(RUN, "call-01", t=100.0))
    assert live.tokens_per_s(t=100.0) == 0.0
    for i in range(40):
        live(delta("call-01", "y", t=100 + i / 40))
    assert live.tokens_per_s(t=101.0) == 40.0  # the retry's own rate, not since t=10
    assert live.figures(t=101.0) == "11s · 40 tok · 40 tok/s"  # 10 s + 1 s, the new attempt
    live(WorkerFinished(RUN, "call-01", "stop", None, None, t=102.0))
    live(RunFinished(RUN, "done", t=102.0))
    assert live.elapsed(t=500.0) == 12.0


def test_a_card_shows_decode_speed_and_time_queued_apart() -> None:
    """Before: "40 tok · 2.5 tok/s · TTFT 15.88s" counted the time queued in the rate."""
    from agentdeck.tui.widgets.worker_card import card_stats

    live = LiveRun()
    live(WorkerQueued(RUN, "call-09", "call 9", t=0.0))
    live(WorkerStarted(RUN, "call-09", t=14.0))  # 14 s waiting for a concurrency slot
    assert card_stats(live.buffers["call-09"]) == "waiting for first token · queued 14.0s"
    live(FirstToken(RUN, "call-09", ttft=0.5, t=14.5))
    for i in range(40):
        live(delta("call-09", "z", t=14.5 + i * 0.05))
    metrics = StreamMetrics(0.5, 2.45, 0.05, 0.05, 0.05, 40, 40 / 2.45)
    live(WorkerFinished(RUN, "call-09", "stop", Usage(completion_tokens=40), metrics, t=16.45))
    assert card_stats(live.buffers["call-09"]) == "40 tok · 20.0 tok/s · TTFT 0.50s · queued 14.0s"
