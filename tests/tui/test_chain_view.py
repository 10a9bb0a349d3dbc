"""ChainView: steps with state and unit, the running step's tail, then the manager's answer."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.message import Message

from agentdeck.events import (
    RunStarted,
    StepFinished,
    StepStarted,
    TextDelta,
    WorkerFinished,
    WorkerQueued,
    WorkerStarted,
)
from agentdeck.tui.live import LiveRun
from agentdeck.tui.widgets.chain_view import ChainSteps, ChainView
from agentdeck.tui.widgets.stream_view import StreamView
from agentdeck.tui.widgets.worker_grid import WorkerGrid

RUN = "run-1"


class ChainApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.posted: list[Message] = []

    def compose(self) -> ComposeResult:
        yield ChainView()

    def on_worker_grid_zoom_requested(self, message: WorkerGrid.ZoomRequested) -> None:
        self.posted.append(message)


def step(live: LiveRun, n: int, total: int, worker_id: str, label: str, text: str) -> None:
    live(StepStarted(RUN, n, total, label, worker_id))
    live(WorkerQueued(RUN, worker_id, label, n))
    live(WorkerStarted(RUN, worker_id))
    live(TextDelta(RUN, worker_id, text, "", 0.0))


def painted(widget) -> str:
    return "\n".join(
        "".join(s.text for s in widget.render_line(y)) for y in range(widget.size.height)
    )


async def test_steps_units_tail_and_manager_answer() -> None:
    live = LiveRun()
    live(RunStarted(RUN, "chain"))
    app = ChainApp()
    async with app.run_test(size=(100, 30)) as pilot:
        chain = app.query_one(ChainView)
        chain.set_live(live)
        step(live, 1, 3, "chunk-01", "chunk 1/2", "Reading the first chunk.")
        live(WorkerFinished(RUN, "chunk-01", "stop", None, None))
        unit = "Unit: the text is about [bold]ships[/].\nSecond line."
        live(StepFinished(RUN, 1, unit, "chunk-01"))
        step(live, 2, 3, "chunk-02", "chunk 2/2", "Now reading the second chunk, still going")
        chain.flush()
        await pilot.pause()
        steps = app.query_one(ChainSteps)
        text = painted(steps)
        assert "✓ chunk 1/2" in text and "done" in text
        assert "▸ Unit: the text is about [bold]ships[/]. Second line." in text
        assert "● chunk 2/2" in text and "streaming" in text
        assert "│ Now reading the second chunk, still going" in text  # the running step's tail
        assert "· manager" in text and "pending" in text  # known before it starts
        assert "Now reading the second chunk" in painted(app.query_one(StreamView))

        step(live, 3, 3, "manager", "manager", "The **answer** is ships.")
        chain.flush()
        await pilot.pause()
        answer = painted(app.query_one(StreamView))
        assert "The answer is ships." in answer and "**" not in answer


async def test_keys_expand_a_unit_and_zoom_a_step() -> None:
    live = LiveRun()
    app = ChainApp()
    async with app.run_test(size=(100, 30)) as pilot:
        chain = app.query_one(ChainView)
        chain.set_live(live)
        step(live, 1, 2, "chunk-01", "chunk 1/1", "text")
        live(WorkerFinished(RUN, "chunk-01", "stop", None, None))
        live(StepFinished(RUN, 1, "first line of the unit\nsecond line of the unit", "chunk-01"))
        chain.flush()
        chain.focus()
        await pilot.pause()
        steps = app.query_one(ChainSteps)
        assert "┆ second line of the unit" not in painted(steps)
        await pilot.press("space")  # expand the unit of the selected (first) step
        assert "┆ second line of the unit" in painted(steps)
        await pilot.press("enter")
        await pilot.pause()
        assert app.posted == [WorkerGrid.ZoomRequested("chunk-01")]
