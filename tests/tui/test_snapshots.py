"""Snapshots of the main views at 60x20, 80x24 and 160x48, from synthetic runs (no sockets, frozen clock).

Update after a deliberate UI change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs in ``__snapshots__`` before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import CLOCK, chain_run, fixed_app, grid_run, show, steady, stream_run

from agentdeck.tui import live as live_module
from agentdeck.tui.screens.quit import QuitScreen
from agentdeck.tui.widgets.worker_grid import WorkerGrid

SIZES = [pytest.param((60, 20), id="60x20"), pytest.param((80, 24), id="80x24"),
         pytest.param((160, 48), id="160x48")]
"""The smallest size the app promises (issue 14: every field shows, quit and help stay in the
footer), the classic terminal, and a large one."""


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rates over "the last 2 s" read the same on every run."""
    monkeypatch.setattr(live_module, "now", lambda: CLOCK)


@pytest.mark.parametrize("size", SIZES)
class TestMainScreen:
    def test_empty(self, snap_compare, tmp_path: Path, size) -> None:
        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=steady)

    def test_grid_mid_stream_with_a_failed_card(self, snap_compare, tmp_path: Path, size) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, grid_run(), "multi", "Explain how vLLM batches requests.")
            pilot.app.screen.query_one(WorkerGrid).focus()

        assert snap_compare(
            fixed_app(tmp_path),
            terminal_size=size,
            run_before=run_before,
            press=["right", "right"],
        )  # move the highlight to call 3

    def test_markup_and_escape_codes_are_shown_literally(
        self, snap_compare, tmp_path: Path, size
    ) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, stream_run(), "basic", "Print hostile text [bold]please[/]")

        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before)


class TestOtherViews:
    """At 80x24 only: the smallest size is where layouts break first."""

    def test_chain_mid_run(self, snap_compare, tmp_path: Path) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, chain_run(), "chain", "What budgets were agreed?")

        assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 24), run_before=run_before)

    def test_zoomed_card(self, snap_compare, tmp_path: Path) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, grid_run(), "multi", "Explain how vLLM batches requests.")
            pilot.app.screen.query_one(WorkerGrid).focus()

        assert snap_compare(
            fixed_app(tmp_path), terminal_size=(80, 24), run_before=run_before, press=["enter"]
        )  # zoom call 1

    def test_quit_prompt_with_a_run_in_flight(self, snap_compare, tmp_path: Path) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, grid_run(), "multi", "Explain how vLLM batches requests.")
            summary = pilot.app.screen.in_flight_summary()
            await pilot.app.push_screen(QuitScreen(summary))

        assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 24), run_before=run_before)

    def test_settings(self, snap_compare, tmp_path: Path) -> None:
        async def run_before(pilot) -> None:
            await pilot.press("f2")  # open settings
            steady(pilot)

        assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 24), run_before=run_before)
