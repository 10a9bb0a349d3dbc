"""Keys as a keyboard user sends them (issue 14): bursts, focus, help, one meaning per key."""

from __future__ import annotations

from apptools import burst, connected, make_app, send
from textual.widgets import Input

from agentdeck.tui.screens.main import MainScreen
from agentdeck.tui.widgets.output_pane import OutputPane
from agentdeck.tui.widgets.prompt_box import PromptBox
from agentdeck.tui.widgets.stream_view import StreamView
from agentdeck.tui.widgets.system_picker import SystemPicker
from agentdeck.tui.widgets.worker_grid import WorkerGrid


async def test_digits_tab_digits_in_one_burst_land_in_their_own_fields() -> None:
    """Issue 14.1: "64", Tab, "32" read at once gave n=6432 (or 432) and concurrency unchanged."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await connected(pilot)
        screen.query_one(SystemPicker).system = "multi"
        await pilot.pause()
        screen.query_one("#num_calls", Input).focus()
        await pilot.pause()
        burst(app, "6", "4", "tab", "3", "2")
        await pilot.pause(0.1)
        assert screen.query_one("#num_calls", Input).value == "64"
        assert screen.query_one("#concurrency", Input).value == "32"
        burst(app, "shift+tab", "1", "2", "tab", "5")
        await pilot.pause(0.1)
        assert screen.query_one("#num_calls", Input).value == "12"
        assert screen.query_one("#concurrency", Input).value == "5"


async def test_tab_in_the_burst_that_shows_a_field_stops_at_that_field() -> None:
    """Issue 14.1 in tmux: ctrl+t to Multi-call, F6, Tab Tab Tab, "7" in one burst put 7 in n:
    the aggregation picker, shown by that ctrl+t, was not in the focus order yet."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await connected(pilot)
        burst(app, "ctrl+t", "ctrl+t", "ctrl+t", "f6", "tab", "tab", "tab", "7")
        await pilot.pause(0.2)
        assert screen.query_one(SystemPicker).system == "multi"
        assert screen.query_one("#max_tokens", Input).value == "7"
        assert screen.query_one("#num_calls", Input).value == "4"


async def test_f1_and_question_mark_open_help_and_f1_or_escape_close_it() -> None:
    """Issue 14.10: F1 opened the key panel, but neither F1 nor Esc closed it; no "?"."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await connected(pilot)
        await pilot.press("f1")
        assert screen.query("HelpPanel")
        await pilot.press("f1")
        assert not screen.query("HelpPanel")
        await pilot.press("f1", "escape")
        assert not screen.query("HelpPanel")
        await pilot.press("question_mark")  # in the prompt: "?" is text
        assert not screen.query("HelpPanel") and screen.query_one(PromptBox).text == "?"
        screen.query_one(SystemPicker).focus_first()
        await pilot.press("question_mark")  # outside a text field: help
        assert screen.query("HelpPanel")


async def test_after_sending_the_output_has_focus_and_escape_returns_to_the_prompt() -> None:
    """Issue 14.9: the header said "t to show" while focus stayed in the prompt, where t is
    text; issue 14.14: no direct key to each pane."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await connected(pilot)
        live = await send(pilot, "Think first.")
        view = screen.query_one(OutputPane).stream
        assert app.focused is view
        assert live.buffers["agent"].reasoning.length  # the simulator reasons
        before = view._reasoning_open()
        burst(app, "t")  # toggles the reasoning, is not typed into the prompt
        await pilot.pause()
        assert view._reasoning_open() is not before
        assert screen.query_one(PromptBox).text == "Think first."
        burst(app, "escape", "x")  # one key back to the prompt, and typing goes there
        await pilot.pause(0.1)
        assert screen.query_one(PromptBox).text == "Think first.x"
        burst(app, "f6", "x")  # F6 goes round the panes: the fields, then the output
        await pilot.pause(0.1)
        assert app.focused is screen.query_one("#system")
        assert screen.query_one(PromptBox).text == "Think first.x"  # x did not follow it
        burst(app, "f6")
        await pilot.pause()
        assert app.focused is view
        burst(app, "f6")
        await pilot.pause()
        assert app.focused is screen.query_one("#prompt-input")
        burst(app, "shift+f6")
        await pilot.pause()
        assert app.focused is view


async def test_zoom_copies_with_y_as_every_screen_does_and_c_never_copies() -> None:
    """Issue 14.14: c cancelled on the grid but copied in zoom."""
    from agentdeck.tui.screens.zoom import ZoomScreen

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await connected(pilot)
        live = await send(pilot, "Hello", "multi", num_calls=2)
        screen.zoom(live.order[0])
        await pilot.pause()
        zoom = app.screen
        assert isinstance(zoom, ZoomScreen)
        keys = {b.key: b.action for _, b, *_ in zoom.active_bindings.values()}
        assert keys.get("y") == "copy" and keys.get("c") != "copy"
        view = zoom.query_one(StreamView)
        assert view.region.width <= 100  # a reading width, not 155 columns


async def test_the_system_tooltip_names_the_keys_that_pick_a_system() -> None:
    """Issue 14.15: the tooltip said "F2 cycles"; F2 opens the settings."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await connected(pilot)
        tip = str(screen.query_one("#system").tooltip)
        assert "ctrl+t" in tip and "F2 cycles" not in tip


def test_ctrl_t_and_f5_mean_one_thing_on_every_screen() -> None:
    """Before: ctrl+t was "next system" on the main screen and "test connection" in
    Settings; F5 was "send" on the main screen and "reload" in History."""
    from agentdeck.tui.screens.history import HistoryScreen
    from agentdeck.tui.screens.settings import SettingsScreen

    meanings: dict[str, set[str]] = {}
    for screen in (MainScreen, SettingsScreen, HistoryScreen):
        for binding in screen.BINDINGS:
            for key in binding.key.split(","):
                meanings.setdefault(key, set()).add(binding.action)
    assert meanings["ctrl+t"] == {"cycle_system"} and meanings["f5"] == {"send"}


async def test_the_footer_tells_the_two_cancels_apart() -> None:
    """Before: the main footer showed "Cancel" twice (``c`` the card, ``^g`` the run)."""
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await connected(pilot)
        await send(pilot, "Two calls.", "multi", num_calls=2)
        screen.query_one(WorkerGrid).focus()
        await pilot.pause()
        shown = [b.binding.description for b in screen.active_bindings.values()
                 if b.binding.show]
        assert "Cancel card" in shown and "Cancel run" in shown and "Cancel" not in shown


def test_the_readme_names_every_key_of_the_main_screen_and_history() -> None:
    """Before: ctrl+f, ctrl+n, History's reload and the table's PageUp/PageDown were in no
    key table, and the switchers' keys were named wrong."""
    from pathlib import Path

    from agentdeck.tui.screens.history import HistoryScreen
    from agentdeck.tui.widgets.worker_table import WorkerTable

    readme = Path(__file__).parents[2].joinpath("README.md").read_text().casefold()
    words = {"escape": "esc", "slash": "/", "delete": "d", "up": "arrows", "down": "arrows"}
    for screen in (MainScreen, HistoryScreen, WorkerTable):
        for binding in screen.BINDINGS:
            key = binding.key.split(",")[0]
            key = words.get(key, key).casefold()
            assert f"`{key}`" in readme or key == "arrows" and "arrows" in readme, (
                screen.__name__, key)
