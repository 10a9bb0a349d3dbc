"""Issue 14: what a keyboard user tripped over: endpoints, attachments, fields, settings, runs."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from apptools import SLOW, burst, connected, finish, make_app, send
from textual.widgets import Input, Select, Static

from agentdeck.config.settings import load_settings
from agentdeck.sim import SimConfig, SimServer
from agentdeck.state import UNFINISHED, WorkerState
from agentdeck.tui.app import AgentDeckApp
from agentdeck.tui.screens.main import MainScreen
from agentdeck.tui.screens.run_view import RunViewScreen
from agentdeck.tui.screens.settings import SettingsScreen
from agentdeck.tui.widgets.prompt_box import PromptBox, load_attachment
from agentdeck.tui.widgets.status_line import StatusLine
from agentdeck.tui.widgets.system_picker import SystemPicker

ONE = SimConfig(tokens_per_s=0, ttft=0.0, output_tokens=8, seed=3)


def write_config(home: Path, text: str) -> None:
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def field(screen, name: str) -> str:
    return screen.query_one(f"#{name}", Input).value


async def test_a_base_url_flag_takes_that_servers_first_model_and_shows_the_endpoint(
    isolated_home: Path,
) -> None:
    """Issue 14.2: --base-url kept the saved profile's model (not served there), and the URL
    in use was shown nowhere."""
    async with SimServer(replace(ONE, models=("tiny-llama",))) as saved, \
            SimServer(replace(ONE, models=("other-llama",))) as given:
        write_config(isolated_home, f'default_profile = "local"\n[profiles.local]\n'
                                    f'base_url = "{saved.base_url}"\nmodel = "tiny-llama"\n')
        app = AgentDeckApp(load_settings(flags={"base_url": given.base_url}, env={}))
        async with app.run_test(size=(160, 30)) as pilot:
            screen = await connected(pilot)
            assert app.model.model_name == "other-llama"
            await pilot.pause()
            where = given.base_url.split("://")[1]
            assert where in str(screen.query_one(StatusLine).render())
            live = await send(pilot, "Hello")
            assert live.status == "done"
            await pilot.press("f2")
            settings = app.screen
            assert isinstance(settings, SettingsScreen)
            in_use = str(settings.query_one("#in_use", Static).render())
            assert where in in_use and "--base-url" in in_use and "other-llama" in in_use
            assert field(settings, "base_url") == given.base_url
        assert given.stats.requests >= 1 and saved.stats.requests == 0


async def test_settings_open_on_the_endpoint_given_on_the_command_line(
    isolated_home: Path,
) -> None:
    """Issue 14.7: launched with --base-url (no profile saved), F2 opened on the demo profile."""
    async with SimServer(ONE) as given:
        app = AgentDeckApp(load_settings(flags={"base_url": given.base_url}, env={}))
        async with app.run_test(size=(100, 30)) as pilot:
            await connected(pilot)
            await pilot.press("f2")
            settings = app.screen
            assert settings.query_one("#profile", Select).value == app.settings.profile.name
            assert field(settings, "base_url") == given.base_url


async def test_settings_say_nothing_is_saved_yet_and_ask_before_dropping_edits(
    isolated_home: Path,
) -> None:
    """Issue 14.7: "Saved to …" showed before any save, and Esc dropped edits silently."""
    app = make_app()
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        await connected(pilot)
        await pilot.press("f2")
        settings = app.screen
        note = str(settings.query_one("#file_note", Static).render())
        assert "Saved to" not in note and "not written yet" in note
        settings.query_one("#temperature", Input).focus()
        burst(app, "0", ".", "5", "escape")  # an edit, then Esc in the same burst
        await pilot.pause(0.1)
        assert app.screen is settings, "unsaved edits were dropped without a word"
        assert "modified" in str(settings.query_one("#heading", Static).render())
        assert any("Unsaved" in n.message for n in app._notifications)
        await pilot.press("escape")  # asked once: the second Esc leaves
        assert isinstance(app.screen, MainScreen)


async def test_a_system_that_ignores_the_attachment_says_so(tmp_path: Path) -> None:
    """Issue 14.3: with Multi-call the border still said "attached …" and the file was unused."""
    notes = tmp_path / "notes.txt"
    notes.write_text("The secret word is heron.\n")
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        screen = await connected(pilot)
        box = screen.query_one(PromptBox)
        box.attachment = load_attachment(str(notes))
        await pilot.press("ctrl+t", "ctrl+t", "ctrl+t")  # Basic -> Context -> Chain -> Multi-call
        assert screen.query_one(SystemPicker).system == "multi"
        assert "not used by Multi-call" in str(box.border_subtitle)
        await send(pilot, "What is the secret word?", "multi", num_calls=1)
        assert any("does not read the attached file notes.txt" in n.message
                   for n in app._notifications)
        await pilot.press("ctrl+t")  # Debate: no attachment either
        await pilot.press("ctrl+t", "ctrl+t", "ctrl+t", "ctrl+t")  # ... round to Context
        screen.query_one(SystemPicker).system = "context"
        await pilot.pause()
        assert "not used" not in str(box.border_subtitle)


async def test_typed_text_at_ctrl_o_is_told_to_use_a_file() -> None:
    """Issue 14.4: typed text got only "file … does not exist"; the README promised text."""
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await connected(pilot)
        await pilot.press("ctrl+o", *"some long text", "enter")
        (shown,) = [n.message for n in app._notifications if n.title == "Cannot attach"]
        assert "path of a text file" in shown
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "attach a context file or long text |" not in readme


async def test_each_system_keeps_its_own_n_and_rounds() -> None:
    """Issue 14.5: a Multi-call n of 16 became 16 debate seats (48 calls)."""
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await connected(pilot)
        picker = screen.query_one(SystemPicker)
        picker.system = "multi"
        screen.query_one("#num_calls", Input).focus()
        await pilot.press("1", "6")
        assert field(screen, "num_calls") == "16"
        picker.system = "debate"
        await pilot.pause()
        assert (field(screen, "num_calls"), field(screen, "rounds")) == ("3", "2")
        screen.query_one("#rounds", Input).value = "1"
        picker.system = "multi"
        await pilot.pause()
        assert field(screen, "num_calls") == "16"
        picker.system = "debate"
        await pilot.pause()
        assert (field(screen, "num_calls"), field(screen, "rounds")) == ("3", "1")


async def test_debate_cards_say_what_round_0_is() -> None:
    """Issue 14.5: "rounds 2" gave cards labelled round 0, 1 and 2 with no word on round 0."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        live = await send(pilot, "Is 17 prime?", "debate", num_calls=2, rounds=1)
        labels = [live.buffers[w].title for w in live.order]
        assert "round 0" not in " ".join(labels)
        assert any("first answer" in label for label in labels)
        assert any("revision 1" in label for label in labels)


async def test_cancel_reaches_64_workers_at_once_and_the_run_is_cancelled() -> None:
    """Issue 14.6: cancelling 64 workers took seconds and the run was recorded as done."""
    app = make_app(replace(SLOW, tokens_per_s=50))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await connected(pilot)
        screen.query_one(SystemPicker).system = "multi"
        screen.query_one("#num_calls", Input).value = "64"
        screen.query_one("#concurrency", Input).value = "64"
        screen.query_one(PromptBox).text = "Count slowly."
        await pilot.press("ctrl+s")
        for _ in range(300):
            await asyncio.sleep(0.02)
            if screen.live and screen.live.counts[WorkerState.STREAMING] == 64:
                break
        live = screen.live
        assert live.counts[WorkerState.STREAMING] == 64
        started = time.perf_counter()
        burst(app, "ctrl+g")
        while any(live.counts[s] for s in UNFINISHED) and time.perf_counter() - started < 5:
            await asyncio.sleep(0.005)
        took = time.perf_counter() - started
        assert live.counts[WorkerState.CANCELLED] == 64
        assert took < 0.5, f"cancelling 64 workers took {took:.2f}s"
        await finish(pilot)
        info = app.store.load_run(live.run_id)
        assert info.status == "cancelled"


async def test_empty_optional_fields_do_not_look_invalid() -> None:
    """Issue 14.8: empty temp and max (server default) turned dark red on focus."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await connected(pilot)
        for name in ("temperature", "max_tokens"):
            box = screen.query_one(f"#{name}", Input)
            box.focus()
            await pilot.press("1", "backspace")  # typed, then emptied again
            await pilot.press("tab", "shift+tab")  # left and entered again
            assert box.value == "" and box.has_focus
            assert not box.has_class("-invalid"), f"empty {name} marked invalid"
        box = screen.query_one("#max_tokens", Input)
        box.value = "1.5"
        await pilot.pause()
        assert box.has_class("-invalid")  # a wrong value still shows


async def test_a_past_run_offers_only_what_works_and_runs_again(isolated_home: Path) -> None:
    """Issue 14.11 and 14.16: a past run listed Cancel and Retry (answering "read-only"); the
    path toast wrapped mid-name and stayed up."""
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await connected(pilot)
        live = await send(pilot, "Pick a number.", "multi", num_calls=3, concurrency=2,
                          temperature=0.4)
        app.push_screen(RunViewScreen(app.store.load_run(live.run_id)))
        await pilot.pause(0.2)
        view = app.screen
        shown = {b.binding.description for b in view.active_bindings.values() if b.binding.show}
        assert not shown & {"Cancel", "Cancel all", "Retry"}
        assert "Run again" in shown
        await pilot.press("p")
        path = view.query_one("#path", Static)
        shown_path = str(path.render())
        assert path.display and shown_path.endswith(".md"), shown_path
        assert len(shown_path) <= 118 and "\n" not in shown_path  # one line, never wrapped
        await app.workers.wait_for_complete()
        # The path goes where ``y`` sends text, and is said to be copied only when it is
        # known to be (before: "(copied)" on OSC 52 alone, never through tmux).
        toasts = [n for n in app._notifications]
        assert toasts and all(str(path.render()) not in n.message for n in toasts)
        # run again: back on the main screen with the prompt, system and settings
        screen.query_one(SystemPicker).system = "basic"
        screen.query_one(PromptBox).text = "something else"
        await pilot.press("a")
        await pilot.pause()
        assert app.screen is screen
        assert screen.query_one(PromptBox).text == "Pick a number."
        assert screen.query_one(SystemPicker).system == "multi"
        assert (field(screen, "num_calls"), field(screen, "concurrency"),
                field(screen, "temperature")) == ("3", "2", "0.4")


async def test_a_past_run_in_the_table_has_no_cancel_keys_and_zooms_the_focused_row(
    isolated_home: Path,
) -> None:
    """Before: only the grid was read-only (the table listed Cancel and Retry for a past
    run), and ctrl+f zoomed the last worker whatever row the table had focused."""
    from agentdeck.tui.screens.zoom import ZoomScreen
    from agentdeck.tui.widgets.output_pane import OutputPane

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        live = await send(pilot, "Pick a number.", "multi", num_calls=3)
        app.push_screen(RunViewScreen(app.store.load_run(live.run_id)))
        await pilot.pause(0.2)
        view = app.screen
        pane = view.query_one(OutputPane)
        pane.grid.focus()
        await pilot.press("v")  # the table
        assert pane.view == "table"
        shown = {b.binding.description for b in view.active_bindings.values() if b.binding.show}
        assert not shown & {"Cancel", "Cancel all", "Retry", "Cancel card"}
        assert "Sort" in shown and "Cards/table" in shown
        await pilot.press("home")  # the first row
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert isinstance(app.screen, ZoomScreen)
        assert app.screen.worker_id == live.order[0]


async def test_v_is_offered_only_with_cards(isolated_home: Path) -> None:
    """Before: ``v`` showed in a single stream's footer and only said it does nothing."""
    from agentdeck.tui.widgets.output_pane import OutputPane

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await connected(pilot)
        await send(pilot, "One stream.", "basic")
        screen.query_one(OutputPane).focus_output()
        await pilot.pause()
        shown = {b.binding.description for b in screen.active_bindings.values()
                 if b.binding.show}
        assert "Cards/table" not in shown and "Copy text" in shown


async def test_the_status_line_names_each_state_and_the_server_load_in_words() -> None:
    """Issue 14.13: one pink for every state, and "run 19 wait 0"."""
    from agentdeck.connect import ServerStatus
    from agentdeck.tui.widgets.status_line import state_style

    styles = {state_style(s) for s in ("idle", "3/8 done", "done", "failed", "cancelled")}
    assert len(styles) == 5
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await connected(pilot)
        line = screen.query_one(StatusLine)
        line.server = ServerStatus(healthy=True, latency_ms=2, running=19, waiting=0)
        await pilot.pause()
        assert "vLLM: 19 running, 0 waiting" in str(line.render())


async def test_at_60x20_every_field_shows_and_the_footer_keeps_quit_and_help() -> None:
    """Issue 14.12: n and conc were cut off but took focus; the footer lost ^q and help."""
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        screen = await connected(pilot)
        screen.query_one(SystemPicker).system = "multi"
        await pilot.pause(0.1)
        for name in ("temperature", "max_tokens", "num_calls", "concurrency"):
            region = screen.query_one(f"#{name}", Input).region
            assert region.width > 0 and region.right <= 60, f"{name} cut off: {region}"
        footer = [k.key for k in screen.query("FooterKey") if k.region.right <= 60
                  and k.region.width]
        assert "ctrl+q" in footer and "f1" in footer


async def test_quitting_cancels_the_workers_before_the_dialog_goes() -> None:
    """Issue 14.6: ctrl+q then y took ~4 s under load and the run was recorded done 64/64:
    the cancel waited for the dialog's dismissal callback, which came after a repaint."""
    from agentdeck.tui.screens.quit import QuitScreen

    order: list[str] = []
    app = make_app(SLOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await connected(pilot)
        screen.query_one(SystemPicker).system = "multi"
        screen.query_one("#num_calls", Input).value = "8"
        screen.query_one(PromptBox).text = "Count slowly."
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        live, system = screen.live, screen.system
        cancel = system.cancel
        system.cancel = lambda: (order.append("cancel"), cancel())[1]
        await pilot.press("ctrl+q")
        dialog = app.screen
        assert isinstance(dialog, QuitScreen)
        dismiss = dialog.dismiss
        dialog.dismiss = lambda result=None: (order.append("dismiss"), dismiss(result))[1]
        await pilot.press("y")
        await pilot.pause()
    assert order[:2] == ["cancel", "dismiss"]
    assert live.counts[WorkerState.CANCELLED] == 8
