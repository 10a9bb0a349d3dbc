"""WorkerGrid: cards from synthetic events, keys and clicks, literal text, reflow, scrolling."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.message import Message

from agentdeck.events import (
    FirstToken,
    RunStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerQueued,
    WorkerStarted,
)
from agentdeck.tui.live import LiveRun
from agentdeck.tui.widgets.worker_grid import WorkerGrid

RUN = "run-1"


class GridApp(App[None]):
    """Hosts one grid and records the messages it posts."""

    def __init__(self, live: LiveRun) -> None:
        super().__init__()
        self.live = live
        self.posted: list[Message] = []
        self.highlighted: list[str] = []

    def compose(self) -> ComposeResult:
        yield WorkerGrid(self.live)

    def on_mount(self) -> None:
        self.query_one(WorkerGrid).focus()

    def on_worker_grid_highlighted(self, message: WorkerGrid.Highlighted) -> None:
        self.highlighted.append(message.worker_id)

    def on_worker_grid_zoom_requested(self, message: WorkerGrid.ZoomRequested) -> None:
        self.posted.append(message)

    def on_worker_grid_cancel_requested(self, message: WorkerGrid.CancelRequested) -> None:
        self.posted.append(message)

    def on_worker_grid_cancel_all_requested(self, message: WorkerGrid.CancelAllRequested) -> None:
        self.posted.append(message)

    def on_worker_grid_retry_requested(self, message: WorkerGrid.RetryRequested) -> None:
        self.posted.append(message)


def run_with(count: int) -> LiveRun:
    live = LiveRun()
    ids = tuple(f"call-{i:02d}" for i in range(1, count + 1))
    live(RunStarted(RUN, "multi", ids))
    for worker_id in ids:
        live(WorkerStarted(RUN, worker_id))
    return live


def say(live: LiveRun, worker_id: str, text: str) -> None:
    live(TextDelta(RUN, worker_id, text, "", 0.0))


def lines(grid: WorkerGrid) -> list[str]:
    """What the grid paints, row by row."""
    return ["".join(s.text for s in grid.render_line(y)) for y in range(grid.size.height)]


async def settle(pilot, grid: WorkerGrid) -> None:
    grid.flush()
    await pilot.pause()


async def test_keys_move_the_focused_card_and_post_requests() -> None:
    live = run_with(5)
    app = GridApp(live)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(WorkerGrid)
        await settle(pilot, grid)
        assert grid.focused_worker == "call-01"
        await pilot.press("right")  # two cards per row at 80 columns
        assert grid.focused_worker == "call-02"
        await pilot.press("down")
        assert grid.focused_worker == "call-04"
        await pilot.press("h")
        assert grid.focused_worker == "call-03"
        await pilot.press("j")
        assert grid.focused_worker == "call-05"
        await pilot.press("k", "l")
        assert grid.focused_worker == "call-04"
        await pilot.press("enter", "c", "C", "r")
        await pilot.pause()
        assert [type(m) for m in app.posted] == [
            WorkerGrid.ZoomRequested,
            WorkerGrid.CancelRequested,
            WorkerGrid.CancelAllRequested,
            WorkerGrid.RetryRequested,
        ]
        assert [getattr(m, "worker_id", None) for m in app.posted] == [
            "call-04", "call-04", None, "call-04",
        ]
        # the screen hears where focus went (to show that stream in the big pane)
        assert app.highlighted[0] == "call-01" and app.highlighted[-1] == "call-04"


async def test_the_focused_card_has_a_heavy_border() -> None:
    live = run_with(2)
    app = GridApp(live)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(WorkerGrid)
        await settle(pilot, grid)
        top = lines(grid)[0]
        assert top.startswith("┏━ call-01") and "╭─ call-02" in top
        await pilot.press("right")
        top = lines(grid)[0]
        assert top.startswith("╭─ call-01") and "┏━ call-02" in top


async def test_click_focuses_a_card_and_double_click_zooms() -> None:
    live = run_with(4)
    app = GridApp(live)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(WorkerGrid)
        await settle(pilot, grid)
        await pilot.click(WorkerGrid, offset=(50, 14))  # right column, second row of cards
        assert grid.focused_worker == "call-04"
        assert app.posted == []
        await pilot.double_click(WorkerGrid, offset=(5, 2))
        await pilot.pause()
        assert grid.focused_worker == "call-01"
        assert app.posted == [WorkerGrid.ZoomRequested("call-01")]


def columns(line: str) -> dict[int, str]:
    """Map each character of a painted row to the terminal column it starts at."""
    out, col = {}, 0
    for char in line:
        out[col] = char
        col += cell_len(char)
    return out


async def test_wide_characters_wrap_by_cells_and_keep_the_borders_straight() -> None:
    live = run_with(2)
    say(live, "call-01", "日本語のテキストを折り返す、とても長い文章です。" * 3)
    say(live, "call-02", "emoji 👍🎉 and 🚀 rockets " * 6)
    app = GridApp(live)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(WorkerGrid)
        await settle(pilot, grid)
        width = grid.scrollable_content_region.width
        painted = lines(grid)
        text = "".join(painted)
        assert "日本語" in text and "👍🎉" in text
        card = width // 2
        for line in painted[1:-1]:
            assert cell_len(line) == width
            cols = columns(line)
            # both cards' side borders sit in their columns on every body row
            assert cols[0] in "┃┗" and cols[card - 1] in "┃┛", line
            assert cols[card] in "│╰" and cols[2 * card - 1] in "│╯", line


async def test_markup_and_escape_codes_in_model_text_are_shown_literally() -> None:
    live = run_with(1)
    say(live, "call-01", "[bold]not bold[/] \x1b[31mnot red\x1b[0m \x07 done")
    app = GridApp(live)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(WorkerGrid)
        await settle(pilot, grid)
        strips = [grid.render_line(y) for y in range(grid.size.height)]
        text = "\n".join("".join(s.text for s in strip) for strip in strips)
        assert "[bold]not bold[/]" in text
        assert "␛[31mnot red␛[0m" in text and "␇" in text
        assert "\x1b" not in text and "\x07" not in text
        body = next(seg for strip in strips for seg in strip if "not bold" in seg.text)
        assert not body.style.bold and body.style.color != live  # drawn in the text style
        assert body.style == grid.get_component_rich_style("worker-grid--text")


async def test_cards_show_state_figures_and_the_failure_reason() -> None:
    live = run_with(3)
    live(FirstToken(RUN, "call-01", ttft=0.42))
    say(live, "call-01", "streaming text")
    live(WorkerFinished(RUN, "call-02", "stop", None, None))
    live(WorkerFailed(RUN, "call-03", RuntimeError("401 Unauthorized: bad key")))
    app = GridApp(live)
    async with app.run_test(size=(160, 24)) as pilot:
        grid = app.query_one(WorkerGrid)
        await settle(pilot, grid)
        text = "\n".join(lines(grid))
        assert "streaming" in text and "TTFT 0.42s" in text and "1 tok" in text
        assert "done" in text
        assert "failed" in text and "RuntimeError: 401 Unauthorized: bad key" in text


async def test_grid_reflows_with_the_terminal_width() -> None:
    live = run_with(8)
    app = GridApp(live)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(WorkerGrid)
        await settle(pilot, grid)

        def cards_in_first_row() -> int:
            top = lines(grid)[0]
            return top.count("╭") + top.count("┏")

        assert cards_in_first_row() == 2
        await pilot.resize_terminal(160, 48)
        await settle(pilot, grid)
        assert cards_in_first_row() == 4
        await pilot.resize_terminal(40, 24)
        await settle(pilot, grid)
        assert cards_in_first_row() == 1
        assert all(cell_len(line) == grid.scrollable_content_region.width for line in lines(grid))


async def test_focus_scrolls_the_grid_and_off_screen_cards_catch_up() -> None:
    live = run_with(20)
    app = GridApp(live)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(WorkerGrid)
        await settle(pilot, grid)
        say(live, "call-20", "text written while this card was off screen")
        await settle(pilot, grid)
        await pilot.press("end")
        await pilot.pause()
        assert grid.focused_worker == "call-20"
        assert grid.scroll_y > 0
        text = "\n".join(lines(grid))
        assert "text written while this card was" in text and "off screen" in text


async def test_a_delta_redraws_only_its_own_card() -> None:
    live = run_with(4)
    app = GridApp(live)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(WorkerGrid)
        await settle(pilot, grid)
        for worker_id in live.order:
            say(live, worker_id, "first words")
        await settle(pilot, grid)
        cards = {card.worker_id: list(card.strips) for card in grid._cards}
        say(live, "call-03", " and more")
        await settle(pilot, grid)
        after = {card.worker_id: list(card.strips) for card in grid._cards}
        for worker_id in ("call-01", "call-02", "call-04"):
            assert all(a is b for a, b in zip(cards[worker_id], after[worker_id]))
        old, new = cards["call-03"], after["call-03"]
        changed = [i for i, (a, b) in enumerate(zip(old, new)) if a is not b]
        assert changed == [1, 2]  # the figures row and the one text row that grew
        assert "first words and more" in "\n".join(lines(grid))


async def test_a_retried_worker_card_starts_over() -> None:
    live = run_with(1)
    say(live, "call-01", "first attempt text")
    live(WorkerFailed(RUN, "call-01", RuntimeError("stalled")))
    app = GridApp(live)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(WorkerGrid)
        await settle(pilot, grid)
        assert "first attempt text" in "\n".join(lines(grid))
        live(WorkerQueued(RUN, "call-01", label="call 1"))  # the user pressed r
        live(WorkerStarted(RUN, "call-01"))
        say(live, "call-01", "second attempt")
        await settle(pilot, grid)
        text = "\n".join(lines(grid))
        assert "second attempt" in text and "first attempt" not in text
        assert "stalled" not in text and "streaming" in text


def test_a_saved_cancelled_card_counts_its_characters_not_zero_tokens() -> None:
    """Regression: history showed "0 tok" on a cancelled worker whose file held text."""
    from agentdeck.state import WorkerState
    from agentdeck.tui.live import WorkerBuffer
    from agentdeck.tui.widgets.worker_card import card_stats

    saved = WorkerBuffer.from_text("call-02", "x" * 1234, state=WorkerState.CANCELLED)
    assert card_stats(saved).startswith("1,234 chars")
    empty = WorkerBuffer.from_text("call-03", "", state=WorkerState.CANCELLED)
    assert card_stats(empty).startswith("0 tok")
