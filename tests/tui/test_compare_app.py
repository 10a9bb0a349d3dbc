"""Compare in the app: targets typed in the picker, the grid grouped by target under live headers,
the stats panel overlaying the targets, and whether short answers agree.

Pilot tests run Compare with two temperatures on one model (the simulator, or a scripted model
whose answer depends on the temperature); the snapshots use a synthetic run on a frozen clock,
at 160x48 and 80x24. Update them after a deliberate UI change with
``pytest tests/tui/test_compare_app.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from apptools import connected, finish, main_screen, make_app, set_fields
from synthetic import CLOCK, T0, Tee, _done, _stream, fixed_app, show
from textual.widgets import Input, Static

import agentdeck.connect
from agentdeck.client.model import BaseModel
from agentdeck.config.targets import parse_target
from agentdeck.events import RunFinished, RunStarted, WorkerQueued
from agentdeck.store import summary as summary_module
from agentdeck.store.summary import RunSummary
from agentdeck.tui import live as live_module
from agentdeck.tui.answer import answer_of
from agentdeck.tui.live import LiveRun
from agentdeck.tui.screens import main as main_module
from agentdeck.tui.widgets.grid_layout import GroupedLayout
from agentdeck.tui.widgets.output_pane import OutputPane
from agentdeck.tui.widgets.prompt_box import PromptBox
from agentdeck.tui.widgets.stats_panel import StatsPanel
from agentdeck.tui.widgets.system_picker import SystemPicker
from agentdeck.tui.widgets.target_charts import TargetCharts
from agentdeck.tui.widgets.worker_grid import WorkerGrid

TWO_TEMPERATURES = "temperature=0.2; temperature=0.8"


def shown(widget: Any) -> str:
    """The text a line-API widget shows (what a user reads)."""
    return "\n".join(
        "".join(seg.text for seg in widget.render_line(y)) for y in range(widget.size.height)
    )


async def send_compare(pilot: Any, targets: str, calls: int = 3,
                       prompt: str = "What is 6 times 7?") -> LiveRun | None:
    """Pick Compare, type ``targets`` in its field, send and wait for the run to end."""
    screen = main_screen(pilot)
    screen.query_one(SystemPicker).system = "compare"
    await pilot.pause()
    screen.query_one("#targets", Input).value = targets
    set_fields(pilot, num_calls=calls)
    screen.query_one(PromptBox).text = prompt
    await pilot.pause()
    await pilot.press("ctrl+s")  # send
    await finish(pilot)
    return screen.live


class ByTemperature(BaseModel):
    """Answers 42 at temperature 0.2 and 41 at 0.8: two targets that do not agree."""

    def __init__(self, name: str) -> None:
        self.model_name = name

    async def call_stream(self, messages: list[dict[str, Any]], **kwargs: Any):
        text = f"Working it out.\nAnswer: {42 if kwargs.get('temperature') == 0.2 else 41}"
        for i in range(0, len(text), 4):
            await asyncio.sleep(0)
            yield text[i:i + 4]


@pytest.fixture
def by_temperature(monkeypatch: pytest.MonkeyPatch) -> None:
    def model_for(profile: Any, *, base_url: str | None = None, name: str | None = None):
        return ByTemperature(name or profile.model or "scripted")

    monkeypatch.setattr(agentdeck.connect, "model_for", model_for)


async def test_compare_runs_from_the_targets_field_grouped_by_target(tmp_path: Path) -> None:
    """Before: Compare was in the picker but had no targets field, and sending failed with
    "targets must be a list of targets, got None"."""
    app = make_app(env={"AGENTDECK_HOME": str(tmp_path)})
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot)
        live = await send_compare(pilot, TWO_TEMPERATURES)
        assert live is not None and live.status == "done"
        assert live.groups == {"A": ["A-01", "A-02", "A-03"], "B": ["B-01", "B-02", "B-03"]}
        grid = main_screen(pilot).query_one(OutputPane).grid
        assert isinstance(grid._layout, GroupedLayout)
        screen = shown(grid)
        header = screen.splitlines()[0]
        # One column per target, each under its header with its figures.
        assert "A temperature=0.2" in header and "B temperature=0.8" in header
        assert header.count("3/3 done") == 2 and header.count("TTFT p50") == 2
        assert header.count("tok/s") == 2
        assert header.index("A temperature") < header.index("B temperature")
        assert "call 1" in screen and "temperature=0.2 · call 1" not in screen
        # The run folder records each target with its params.
        manifest = json.loads((app.store.root / live.run_id / "run.json").read_text())
        targets = manifest["targets"]
        assert [t["params"]["temperature"] for t in targets] == [0.2, 0.8]


async def test_an_empty_targets_field_says_what_to_type() -> None:
    """Before: "targets must be a list of targets, got None", a message about code."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await connected(pilot)
        await send_compare(pilot, "")
        assert screen.live is None  # nothing ran
        messages = [n.message for n in app._notifications]
        assert any("Compare needs targets" in m and "temperature=0.2; temperature=0.8" in m
                   for m in messages), messages


async def test_a_bad_target_is_named_before_anything_is_sent() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await connected(pilot)
        await send_compare(pilot, "temperature=0.2; temperature")
        assert screen.live is None
        messages = [n.message for n in app._notifications]
        assert any("targets #2" in m and "KEY=VALUE" in m for m in messages), messages


async def test_arrows_move_across_targets_and_down_a_column() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot)
        await send_compare(pilot, TWO_TEMPERATURES)
        grid = main_screen(pilot).query_one(WorkerGrid)
        grid.focus()
        grid.focus_worker("A-01")
        await pilot.pause()
        await pilot.press("right")  # A's second card, in A's column
        assert grid.focused_worker == "A-02"
        await pilot.press("right")  # on into B's column
        assert grid.focused_worker == "B-01"
        await pilot.press("down")  # B's next row
        assert grid.focused_worker == "B-03"
        await pilot.press("left")  # back across into A's column, the same row
        assert grid.focused_worker == "A-03"


async def test_short_answers_show_each_targets_tally_and_that_they_disagree(
    by_temperature: None,
) -> None:
    app = make_app(demo=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot)
        live = await send_compare(pilot, TWO_TEMPERATURES)
        assert live is not None and live.status == "done"
        screen = main_screen(pilot)
        answer = str(screen.query_one("#answer-text", Static).render())
        assert answer.startswith(" compare  the targets do not agree: A 42 · B 41"), answer
        assert "A: 42 (3 of 3)" in answer and "B: 41 (3 of 3)" in answer
        header = shown(screen.query_one(WorkerGrid)).splitlines()[0]
        assert "42×3" in header and "41×3" in header  # each target's tally on its header


async def test_the_stats_panel_overlays_the_targets() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot)
        await send_compare(pilot, TWO_TEMPERATURES)
        await pilot.press("f8")  # open the stats panel
        await pilot.pause(0.1)
        panel = main_screen(pilot).query_one(StatsPanel)
        charts = panel.query_one(TargetCharts)
        assert panel.has_class("-targets") and charts.display
        legend = [str(s.render()) for s in charts.query(".legend") if s.display]
        assert legend == ["A  temperature=0.2", "B  temperature=0.8"]
        rows = [r for r in charts.query(".ttft-row") if r.display]
        assert len(rows) == 2 and all("p50" in str(r.query_one(".row-end").render())
                                      for r in rows)
        assert not panel.query_one("#chart-ttft").display  # the targets replace the one chart


def test_agreement_is_read_from_the_fold() -> None:
    """The answer line comes from the run's fold, so a past run reads as it did live."""
    tee = Tee()
    compare_events(tee, answers={"A": ["42", "42", "42"], "B": ["42", "41", "42"]})
    assert answer_of(tee.live).headline == "so far: the targets agree: 42"
    tee(RunFinished("run", "done", t=T0 + 5))
    answer = answer_of(tee.live)
    assert answer is not None
    assert answer.headline == "the targets agree: 42"
    assert answer.lines == ["A: 42 (3 of 3)", "B: 42 (2 of 3) │ 42×2 41×1"]


# ---------------------------------------------------------------------- snapshots


def compare_events(tee: Any, answers: dict[str, list[str]], streaming: int = 0) -> None:
    """A compare run on a frozen clock: per target, calls that answered ``answers`` and
    ``streaming`` more still going."""
    labels = {"A": "temperature=0.2", "B": "temperature=0.8"}
    calls = len(next(iter(answers.values()))) + streaming
    ids = tuple(f"{k}-0{i}" for i in range(1, calls + 1) for k in answers)
    tee(RunStarted("20261125-191500-compare-c0ffee", "compare", ids, t=T0))
    for i in range(1, calls + 1):
        for n, (key, finals) in enumerate(answers.items()):
            wid = f"{key}-0{i}"
            tee(WorkerQueued("run", wid, f"{labels[key]} · call {i}", t=T0, group=key))
            ttft = 0.2 + 0.15 * n + 0.05 * i
            if i <= len(finals):
                text = f"Six sevens: 6 x 7 = {finals[i - 1]}.\n\nAnswer: {finals[i - 1]}"
                t = _stream(tee, wid, text, T0 + 0.1 * i, rate=40 - 10 * n, ttft=ttft)
                _done(tee, wid, t, 14, ttft=ttft)
            else:
                _stream(tee, wid, "Six sevens: let me work it out step by step, carefully",
                        T0 + 1, rate=30 - 8 * n, ttft=ttft)


class Split:
    """The run's fold and summary, and a summary per target, as ``CompareSystem`` keeps them."""

    def __init__(self) -> None:
        self.tee = Tee()
        self.target_summaries = {"A": RunSummary(), "B": RunSummary()}

    def __call__(self, event: Any) -> None:
        self.tee(event)
        key = getattr(event, "worker_id", "")[:1]
        if key in self.target_summaries:
            self.target_summaries[key](event)
        elif isinstance(event, RunStarted):
            for summary in self.target_summaries.values():
                summary(event)


SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rates and wall times read the same on every run; no poll lands mid-snapshot."""
    monkeypatch.setattr(live_module, "now", lambda: CLOCK)
    monkeypatch.setattr(summary_module, "now", lambda: CLOCK)
    monkeypatch.setattr(main_module, "POLL", 3600.0)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.usefixtures("frozen")
class TestCompareSnapshots:
    def test_two_temperatures_streaming_side_by_side(self, snap_compare, tmp_path: Path,
                                                     size) -> None:
        async def run_before(pilot) -> None:
            split = Split()
            compare_events(split, {"A": ["42", "42"], "B": ["42", "41"]}, streaming=2)
            await show(pilot, split.tee.live, "compare", "What is 6 times 7?")
            pilot.app.screen.query_one("#targets", Input).value = TWO_TEMPERATURES

        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before)

    def test_the_stats_panel_overlays_the_targets(self, snap_compare, tmp_path: Path,
                                                  size) -> None:
        async def run_before(pilot) -> None:
            split = Split()
            compare_events(split, {"A": ["42", "42"], "B": ["42", "41"]}, streaming=2)
            await show(pilot, split.tee.live, "compare", "What is 6 times 7?")
            pilot.app.screen.query_one("#targets", Input).value = TWO_TEMPERATURES
            panel = pilot.app.screen.query_one(StatsPanel)
            panel.system = SimpleNamespace(
                summary=split.tee.summary, target_summaries=split.target_summaries,
                targets=[SimpleNamespace(key=k, target=parse_target(t))
                         for k, t in zip("AB", TWO_TEMPERATURES.split("; "))])
            await pilot.press("f8")  # open the stats panel
            await pilot.pause()

        assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before)


def test_one_call_per_target_agreeing_is_agreement() -> None:
    """Before: with one call per target and "42" from both, the app said the targets "do not
    agree" (a single answer is no majority) while compare's report said they agree."""
    tee = Tee()
    compare_events(tee, answers={"A": ["42"], "B": ["42"]})
    tee(RunFinished("run", "done", t=T0 + 5))
    answer = answer_of(tee.live)
    assert answer is not None
    assert answer.headline == "the targets agree: 42"
    assert answer.lines == ["A: 42 (the only answer)", "B: 42 (the only answer)"]


async def test_the_apps_verdict_is_compares_report(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """The app's answer line says what compare's report says: one call a target, both
    answering 42, agree (the app said they did not)."""
    from agentdeck.systems.aggregate import agreement

    monkeypatch.setattr(ByTemperature, "call_stream", Always42.call_stream)
    monkeypatch.setattr(agentdeck.connect, "model_for",
                        lambda profile, **kw: ByTemperature(kw.get("name") or "scripted"))
    app = make_app(demo=False, env={"AGENTDECK_HOME": str(tmp_path)})
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot)
        live = await send_compare(pilot, TWO_TEMPERATURES, calls=1)
        assert live is not None and live.status == "done"
        panel = str(main_screen(pilot).query_one("#answer-text", Static).render())
        # What compare's report (``--json``'s "agreement") works out from the same answers.
        report = agreement({k: [live.buffers[w].text for w in ids]
                            for k, ids in live.groups.items()})
        assert report["agree"] is True
        assert "the targets agree: 42" in panel, panel


class Always42(BaseModel):
    async def call_stream(self, messages: list[dict[str, Any]], **kwargs: Any):
        yield "Answer: 42"


async def test_run_again_restores_the_targets_calls_and_concurrency(tmp_path: Path) -> None:
    """Before: "Run again" on a compare run left the targets field empty and the calls and
    concurrency at the defaults (compare records them per target)."""
    from agentdeck.tui.rerun import run_again

    app = make_app(env={"AGENTDECK_HOME": str(tmp_path)})
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await connected(pilot)
        set_fields(pilot, concurrency=2)
        live = await send_compare(pilot, TWO_TEMPERATURES, calls=2)
        assert live is not None and live.status == "done"
        picker = screen.query_one(SystemPicker)
        picker.system = "basic"
        await pilot.pause()
        run_again(app, app.store.load_run(live.run_id))
        await pilot.pause()
        assert picker.system == "compare"
        assert picker.query_one("#targets", Input).value == TWO_TEMPERATURES
        assert picker.query_one("#num_calls", Input).value == "2"
        assert picker.query_one("#concurrency", Input).value == "2"


async def test_group_headers_give_the_run_summarys_figures_live_and_past(tmp_path: Path) -> None:
    """Before: the headers worked TTFT and tok/s out on their own (the sum of decode rates),
    so they disagreed with the stats panel and the CLI, which read each target's summary."""
    from agentdeck.tui.screens.run_view import RunViewScreen
    from agentdeck.tui.widgets.stats_panel import latency

    app = make_app(env={"AGENTDECK_HOME": str(tmp_path)})
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await connected(pilot)
        live = await send_compare(pilot, TWO_TEMPERATURES, calls=2)
        assert live is not None and live.status == "done"
        grid = screen.query_one(OutputPane).grid
        grid._heads.forget()
        snaps = {k: s.snapshot() for k, s in screen.system.target_summaries.items()}
        expected = [f"TTFT p50 {latency(snaps[k]['ttft_s']['p50'])}" for k in ("A", "B")]
        expected += [f"{snaps[k]['output_tokens_per_s']:,.0f} tok/s" for k in ("A", "B")]
        header = shown(grid).splitlines()[0]
        assert all(part in header for part in expected), (header, expected)
        # A past run's headers: each target's summary folded from its recorded workers.
        app.push_screen(RunViewScreen(app.store.load_run(live.run_id)))
        await pilot.pause(0.3)
        info = app.store.load_run(live.run_id)
        saved = {k: RunSummary.from_entries([e for e in info.workers if e["id"][:1] == k])
                 .snapshot() for k in ("A", "B")}
        header = shown(app.screen.query_one(OutputPane).grid).splitlines()[0]
        parts = [f"TTFT p50 {latency(saved[k]['ttft_s']['p50'])}" for k in ("A", "B")]
        parts += [f"{saved[k]['output_tokens_per_s']:,.0f} tok/s" for k in ("A", "B")]
        assert all(part in header for part in parts), (header, parts)
