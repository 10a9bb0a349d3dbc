"""Snapshots of a run's results: the answer above the run (vote, select's pick, debate's verdict)
and the stats panel, at 80x24 and 160x48, from synthetic runs on a frozen clock.

Update after a deliberate UI change with
``pytest tests/tui/test_snapshots_results.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from synthetic import (
    CLOCK,
    debate_run,
    fixed_app,
    select_run,
    show,
    stats_run,
    vote_run,
)
from textual.widgets import Select

from agentdeck.connect import ServerStatus
from agentdeck.store import summary as summary_module
from agentdeck.tui import live as live_module
from agentdeck.tui.screens import main as main_module
from agentdeck.tui.widgets.stats_panel import StatsPanel
from agentdeck.tui.widgets.worker_grid import WorkerGrid

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
GAUGES = [(2, 0, 0.05), (6, 0, 0.21), (8, 2, 0.38), (8, 5, 0.52), (7, 1, 0.47), (6, 0, 0.41)]
"""(running, waiting, KV use) polls the stats snapshot charts."""


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rates and wall times read the same on every run; no poll lands mid-snapshot."""
    monkeypatch.setattr(live_module, "now", lambda: CLOCK)
    monkeypatch.setattr(summary_module, "now", lambda: CLOCK)
    monkeypatch.setattr(main_module, "POLL", 3600.0)


@pytest.mark.parametrize("size", SIZES)
class TestAnswers:
    def test_a_vote_shows_its_winner_and_tally(self, snap_compare, tmp_path: Path, size) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, vote_run(), "multi", "What is 6 times 7?")
            pilot.app.screen.query_one("#aggregate", Select).value = "vote"

        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before)

    def test_a_debate_shows_its_final_answer_round_by_round(
        self, snap_compare, tmp_path: Path, size
    ) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, debate_run(), "debate", "What is 6 times 7?")

        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before)


class TestPick:
    def test_select_marks_the_call_it_picked(self, snap_compare, tmp_path: Path) -> None:
        async def run_before(pilot) -> None:
            await show(pilot, select_run(), "multi", "Explain how vLLM batches requests.")
            pilot.app.screen.query_one("#aggregate", Select).value = "select"
            pilot.app.screen.query_one(WorkerGrid).focus()

        assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
class TestStatsPanel:
    def test_the_stats_panel_beside_a_run(self, snap_compare, tmp_path: Path, size) -> None:
        async def run_before(pilot) -> None:
            tee = stats_run()
            await show(pilot, tee.live, "multi", "Explain how vLLM batches requests.")
            panel = pilot.app.screen.query_one(StatsPanel)
            panel.system = SimpleNamespace(summary=tee.summary)
            for gauges in panel._gauges.values():
                gauges.clear()  # the polls of start-up, whenever they landed
            for running, waiting, kv in GAUGES:
                panel.add_gauges(ServerStatus(True, 4, running=running, waiting=waiting,
                                              kv_cache=kv))
            await pilot.press("f8")  # open the stats panel
            await pilot.pause()

        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before)
