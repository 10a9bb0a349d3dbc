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
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert str(path) in list(app._notifications)[-1].message
        # The path goes the way the text went (before: OSC 52 only, never through tmux).
        assert (fake_tmux / "buffer").read_text() == str(path)


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
        await pilot.press("f9")  # model picker: the models the server lists
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        options = app.screen.query_one(OptionList)
        assert options.option_count == 1 and options.get_option_at_index(0).id == app.model.model_name
        await pilot.press("escape")
        await pilot.press("shift+f9")  # profile picker
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
        await pilot.press("f7")  # open the "more" row
        assert more.opened
        more.load({"top_p": "1.5"})
        screen.query_one("#prompt-input").text = "hello"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.run_in_flight and screen.live is None
        assert any("top_p" in n.message for n in app._notifications)


async def test_a_sorted_table_repaints_a_worker_that_finished(tmp_path: Path) -> None:
    """Before: with a sort on, the re-sort found the order unchanged and returned without
    repainting, so a finished worker still read "streaming"."""
    from synthetic import T0, _done, fixed_app, grid_run, show

    app = fixed_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        live = grid_run()
        await show(pilot, live, "multi")
        pane = pilot.app.screen.query_one(OutputPane)
        pane.grid.focus()
        await pilot.press("v")  # the table
        assert pane.view == "table"
        table = pane.table
        table.sort = "tokens"
        await pilot.pause()
        row = table._rows.index("call-02")
        assert "streaming" in "".join(s.text for s in table.render_line(row + 1))
        rows = list(table._rows)
        repainted: list[int] = []
        # What reaches the terminal is what is repainted: the screenshot renders every line
        # again, so it cannot show a stale row; the repaint asked for can.
        table.refresh_line = repainted.append  # type: ignore[method-assign]
        _done(live, "call-02", T0 + 9, live.buffers["call-02"].tokens)
        table._sorted_at = 0.0  # time for a re-sort
        pilot.app.screen.flush_frame()
        assert table._rows == rows  # same order: nothing moved
        assert row + 1 in repainted
        assert "done" in "".join(s.text for s in table.render_line(row + 1))


async def test_escape_then_p_in_one_read_does_not_open_a_switcher() -> None:
    """Before: the profile switcher was alt+p, which a terminal sends as ESC p: Esc (back to
    the prompt) typed just before p, read together, opened the switcher."""
    from apptools import burst_bytes

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await connected(pilot)
        await send(pilot, "hello", "multi", num_calls=2)
        screen.query_one(OutputPane).focus_output()
        await pilot.pause()
        for data in ("\x1bp", "\x1bm", "\x1bo"):
            burst_bytes(app, data)
            await pilot.pause()
            assert not isinstance(app.screen, ChoiceScreen), repr(data)
            assert not screen.query_one(MoreParams).opened
        burst_bytes(app, "\x1b[20~")  # F9, as the terminal sends it: the model switcher
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
