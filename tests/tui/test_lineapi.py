"""PlainLineCache: the grid and the stream view look exactly as through Textual's own path."""

from __future__ import annotations

import pytest
from textual._styles_cache import StylesCache
from textual.app import App, ComposeResult
from textual.geometry import Region

from agentdeck.events import FirstToken, RunStarted, TextDelta, WorkerStarted
from agentdeck.tui.live import LiveRun, WorkerBuffer
from agentdeck.tui.widgets.lineapi import PlainLineCache
from agentdeck.tui.widgets.stream_view import StreamView
from agentdeck.tui.widgets.worker_grid import WorkerGrid

RUN = "run-1"
TEXT = "Model text with **markdown**, `code`, 漢字 and 🚀 " * 6


class PaneApp(App[None]):
    """A grid of three streaming cards above a stream view."""

    CSS = "WorkerGrid { height: 16; } StreamView { height: 1fr; }"

    def __init__(self, theme: str) -> None:
        super().__init__()
        self.theme_name = theme
        self.live = LiveRun()
        ids = ("call-01", "call-02", "call-03")
        self.live(RunStarted(RUN, "multi", ids))
        for worker_id in ids:
            self.live(WorkerStarted(RUN, worker_id))
            self.live(FirstToken(RUN, worker_id, 0.1))
            self.live(TextDelta(RUN, worker_id, TEXT, "", 1.0))

    def compose(self) -> ComposeResult:
        yield WorkerGrid(self.live)
        yield StreamView(WorkerBuffer.from_text("agent", "# Title\n\n" + TEXT, "thinking"))

    def on_mount(self) -> None:
        self.theme = self.theme_name


def _segments(strips: list) -> list[list]:
    return [list(strip) for strip in strips]


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "nord"])
async def test_fast_path_draws_the_same_cells_as_textual(theme: str) -> None:
    app = PaneApp(theme)
    async with app.run_test(size=(100, 40)) as pilot:
        grid = app.query_one(WorkerGrid)
        grid.flush()
        grid.focus_worker("call-02")
        await pilot.pause()
        await pilot.pause(0.1)
        for widget in (grid, app.query_one(StreamView)):
            assert isinstance(widget._styles_cache, PlainLineCache)
            region = Region(0, 0, *widget.size)
            fast = widget.render_lines(region)
            textual = StylesCache().render_widget(widget, region)
            assert "call-02" in "".join(s.text for s in grid.render_lines(region))
            assert _segments(fast) == _segments(textual)


async def test_styled_widgets_fall_back_to_textual() -> None:
    app = PaneApp("textual-dark")
    async with app.run_test(size=(100, 40)) as pilot:
        grid = app.query_one(WorkerGrid)
        grid.styles.padding = (0, 2)
        grid.styles.opacity = 0.5
        await pilot.pause(0.1)
        region = Region(0, 0, *grid.size)
        fast = grid.render_lines(region)
        assert _segments(fast) == _segments(StylesCache().render_widget(grid, region))
        # the padding shows: every line starts with two blank cells
        assert all(strip.text.startswith("  ") for strip in fast)
