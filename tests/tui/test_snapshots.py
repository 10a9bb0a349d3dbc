"""Snapshots of the main views at 80x24 and 160x48, from synthetic runs (no sockets, frozen clock).

Update after a deliberate UI change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs in ``__snapshots__`` before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from agentdeck.tui import live as live_module
from agentdeck.tui.widgets.worker_grid import WorkerGrid

from synthetic import CLOCK, chain_run, fixed_app, grid_run, show, stream_run

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rates over "the last 2 s" read the same on every run."""
    monkeypatch.setattr(live_module, "now", lambda: CLOCK)


@pytest.mark.parametrize("size", SIZES)
class TestMainScreen:
    def test_empty(self, snap_compare, tmp_path: Path, size) -> None:
        assert snap_compare(fixed_app(tmp_path), terminal_size=size)

    def test_grid_mid_stream_with_a_failed_card(self, snap_compare, tmp_path: Path, size) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, grid_run(), "multi", "Explain how vLLM batches requests.")
            pilot.app.screen.query_one(WorkerGrid).focus()

        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before,
                            press=["right", "right"])  # move the highlight to call 3

    def test_markup_and_escape_codes_are_shown_literally(
        self, snap_compare, tmp_path: Path, size
    ) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, stream_run(), "basic", "Print hostile text [bold]please[/]")

        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before)

    def test_chain_mid_run(self, snap_compare, tmp_path: Path, size) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, chain_run(), "chain", "What budgets were agreed?")

        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
class TestOtherScreens:
    def test_zoomed_card(self, snap_compare, tmp_path: Path, size) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, grid_run(), "multi", "Explain how vLLM batches requests.")
            pilot.app.screen.query_one(WorkerGrid).focus()

        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before,
                            press=["enter"])  # zoom call 1

    def test_quit_prompt_with_a_run_in_flight(self, snap_compare, tmp_path: Path, size) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, grid_run(), "multi", "Explain how vLLM batches requests.")
            screen = pilot.app.screen
            from agentdeck.tui.screens.quit import QuitScreen

            await pilot.app.push_screen(QuitScreen(screen.in_flight_summary()))

        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before)

    def test_settings(self, snap_compare, tmp_path: Path, size) -> None:
        assert snap_compare(fixed_app(tmp_path), terminal_size=size,
                            press=["f2"])  # open settings
