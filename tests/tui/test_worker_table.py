"""Pilot tests: the table view of workers, copying a live card through tmux, the file key,
and the quick switches (profile, model, the "more" row)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from apptools import connected, make_app, send
from textual.widgets import OptionList

from agentdeck.state import WorkerState
from agentdeck.tui.screens.switch import ChoiceScreen
from agentdeck.tui.widgets.more_params import MoreParams
from agentdeck.tui.widgets.output_pane import OutputPane, cards_fit
from agentdeck.tui.widgets.worker_grid import WorkerGrid


def test_cards_fit_until_less_than_half_show() -> None:
    assert cards_fit(4, 78, 14)  # 2 of 4 in view at 80x24
    assert not cards_fit(64, 78, 14)
    assert cards_fit(64, 158, 40) is False and cards_fit(16, 158, 40)


async def test_table_is_the_default_when_cards_do_not_fit_and_v_toggles() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await connected(pilot)
        live = await send(pilot, "many workers", "multi", num_calls=64)
        pane = screen.query_one(OutputPane)
        assert pane.view == "table"
        table = pane.table
        text = app.export_screenshot().replace("&#160;", " ")
        assert "call 1" in text and "tok/s" in text and "TTFT" in text
        table.focus()
        await pilot.press("down", "down")
        assert table.focused_worker == live.order[2]
        await pilot.press("v")  # cards
        assert pane.view == "grid"
        assert pane.grid.focused_worker == live.order[2]  # the same worker stays focused
        await pilot.press("v")  # and back
        assert pane.view == "table"


async def test_table_sorts_by_tokens_and_filters_failed_workers() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await connected(pilot)
        live = await send(pilot, "sort me", "multi", num_calls=40)
        pane = screen.query_one(OutputPane)
        table = pane.table
        assert pane.view == "table"
        live.buffers["call-07"].tokens = 999  # one worker that generated more
        live.buffers["call-09"].state = WorkerState.FAILED
        live.buffers["call-09"].error = "boom"
        table.focus()
        await pilot.press("s", "s")  # order -> status -> tokens
        assert table.sort == "tokens"
        assert table._rows[0] == "call-07"
        await pilot.press("f")  # failed only
        assert table._rows == ["call-09"]
        await pilot.pause()
        assert "boom" in app.export_screenshot().replace("&#160;", " ")
        await pilot.press("f", "f")  # running only, then all again
        assert len(table._rows) == 40


@pytest.fixture
def fake_tmux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``tmux`` on PATH that answers ``set-clipboard external`` and keeps what it is sent."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "tmux.log"
    script = bin_dir / "tmux"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{log}"\n'
        'if [ "$1" = show ]; then echo external; exit 0; fi\n'
        f'if [ "$1" = load-buffer ]; then cat > "{tmp_path}/buffer"; exit 0; fi\n'
        "exit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,1,0")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "STY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


async def test_y_on_the_live_grid_copies_through_tmux_and_says_where(fake_tmux: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await connected(pilot)
        live = await send(pilot, "copy me", "multi", num_calls=2)
        grid = screen.query_one(WorkerGrid)
        grid.focus()
        grid.focus_worker("call-02")
        await pilot.press("y")  # copy the focused card
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = live.buffers["call-02"].text
        assert (fake_tmux / "buffer").read_text() == text
        assert "load-buffer -" in (fake_tmux / "tmux.log").read_text()
        path = app.store.load_run(live.run_id).worker_path("call-02")
        message = list(app._notifications)[-1].message
        assert "tmux's paste buffer" in message and str(path) in message
        assert list(app._notifications)[-1].title == "Copied"
        await pilot.press("p")  # the focused worker's file
        await pilot.pause()
        assert str(path) in list(app._notifications)[-1].message


async def test_without_tmux_or_a_clipboard_tool_nothing_claims_copied(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TMUX", "DISPLAY", "WAYLAND_DISPLAY", "STY"):
        monkeypatch.delenv(name, raising=False)
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await connected(pilot)
        await send(pilot, "copy me", "basic")
        screen.query_one(OutputPane).focus_output()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        note = list(app._notifications)[-1]
        assert note.title == "Sent to the clipboard" and "copied" not in note.message.lower()
        assert "OSC 52" in note.message


async def test_profile_and_model_switches() -> None:
    app = make_app(demo=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot)
        await pilot.press("alt+m")  # model picker: the models the server lists
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        options = app.screen.query_one(OptionList)
        assert options.option_count == 1 and options.get_option_at_index(0).id == app.model.model_name
        await pilot.press("escape")
        await pilot.press("alt+p")  # profile picker
        assert isinstance(app.screen, ChoiceScreen)
        ids = [app.screen.query_one(OptionList).get_option_at_index(i).id
               for i in range(app.screen.query_one(OptionList).option_count)]
        assert ids == list(app.settings.profiles)
        await pilot.press("enter")  # the current one, again
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.connection.model is not None


async def test_more_row_opens_and_a_bad_top_p_is_refused_before_sending() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await connected(pilot)
        more = screen.query_one(MoreParams)
        assert not more.opened
        await pilot.press("alt+o")  # open the "more" row
        assert more.opened
        more.load({"top_p": "1.5"})
        screen.query_one("#prompt-input").text = "hello"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.run_in_flight and screen.live is None
        assert any("top_p" in n.message for n in app._notifications)
