"""Pilot tests: settings save and reload, history of past runs, and the quit prompt."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import tomllib
from apptools import SLOW, burst, connected, make_app, send
from test_app_workers import start
from textual.widgets import DataTable, Input, Select, Static

from agentdeck.state import WorkerState
from agentdeck.store.runs import RunStore
from agentdeck.tui.screens.history import HistoryScreen
from agentdeck.tui.screens.main import MainScreen
from agentdeck.tui.screens.quit import QuitScreen
from agentdeck.tui.screens.run_view import RunViewScreen
from agentdeck.tui.screens.settings import NEW, SettingsScreen
from agentdeck.tui.widgets.output_pane import OutputPane
from agentdeck.tui.widgets.status_line import StatusLine
from agentdeck.tui.widgets.worker_grid import WorkerGrid

SECRET = "sk-agentdeck-test-0123456789abcdef"


def screen_text(app) -> str:
    return app.export_screenshot()


async def test_settings_save_a_new_profile_and_the_app_reconnects_to_it(
    isolated_home: Path,
) -> None:
    app = make_app(demo=False)
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        await connected(pilot)
        sim_url = app.connection.sim.base_url
        await pilot.press("f2")  # open settings
        assert isinstance(app.screen, SettingsScreen)
        screen = app.screen
        screen.query_one("#profile", Select).value = NEW
        await pilot.pause()
        screen.query_one("#name", Input).value = "local"
        screen.query_one("#base_url", Input).value = sim_url
        screen.query_one("#api_key", Input).focus()
        await pilot.press(*SECRET)  # type the key
        await pilot.press("ctrl+l")  # load the server's models
        await app.workers.wait_for_complete()
        await pilot.pause()
        models = screen.query_one("#models", Select)
        models.value = "agentdeck-sim"  # pick one
        await pilot.pause()
        assert screen.query_one("#model", Input).value == "agentdeck-sim"
        await pilot.press("ctrl+y")  # test the connection
        await app.workers.wait_for_complete()
        assert "healthy" in str(screen.query_one("#test_result", Static).render())
        assert SECRET not in screen_text(app), "the key must never be drawn"
        screen.query_one("#temperature", Input).value = "0.3"
        screen.query_one("#num_calls", Input).value = "6"
        await pilot.press("ctrl+s")  # save
        await connected(pilot)
        assert isinstance(app.screen, MainScreen)

        config = isolated_home / "config" / "config.toml"
        assert os.stat(config).st_mode & 0o777 == 0o600
        doc = tomllib.loads(config.read_text())
        assert doc["default_profile"] == "local"
        assert doc["profiles"]["local"]["base_url"] == sim_url
        assert doc["profiles"]["local"]["model"] == "agentdeck-sim"
        assert doc["params"]["temperature"] == 0.3
        assert doc["ui"]["num_calls"] == 6
        # Reloaded and reconnected: the app now talks to the saved profile.
        assert app.settings.profile.name == "local"
        assert app.connection.model.base_url == sim_url.rstrip("/")
        assert app.screen.query_one(StatusLine).profile == "local"
        await pilot.press("f2")  # the key is still never shown
        assert SECRET not in screen_text(app)
        assert "saved (hidden)" in str(app.screen.query_one("#key_note", Static).render())


async def test_a_key_from_the_environment_is_never_written_to_the_file(
    isolated_home: Path, monkeypatch
) -> None:
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[profiles.gpu]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
        'api_key_env = "GPU_KEY"\n'
    )
    monkeypatch.setenv("GPU_KEY", SECRET)
    app = make_app(demo=True, env={"GPU_KEY": SECRET})
    async with app.run_test(size=(100, 40)) as pilot:
        await connected(pilot)
        await pilot.press("f2")  # open settings
        screen = app.screen
        screen.query_one("#profile", Select).value = "gpu"
        await pilot.pause()
        assert "GPU_KEY" in str(screen.query_one("#key_note", Static).render())
        assert SECRET not in screen_text(app)
        screen.query_one("#max_tokens", Input).value = "256"
        await pilot.press("ctrl+s")  # save
        await pilot.pause()
    text = config.read_text()
    assert SECRET not in text
    assert 'api_key_env = "GPU_KEY"' in text and "max_tokens = 256" in text


async def test_saving_over_a_commented_config_says_where_the_comments_went(
    isolated_home: Path,
) -> None:
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    original = '# tuned for the lab box\n[params]\nmax_tokens = 128  # short answers\n'
    config.write_text(original)
    app = make_app()
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        await connected(pilot)
        await pilot.press("f2")  # settings
        app.screen.query_one("#max_tokens", Input).value = "256"
        await pilot.press("ctrl+s")  # save
        await connected(pilot)
        messages = [n.message for n in app._notifications]
    backup = config.with_name("config.toml.bak")
    assert backup.read_text() == original
    assert any(str(backup) in m and "comments" in m for m in messages)
    assert "max_tokens = 256" in config.read_text()


async def test_history_lists_runs_newest_first_and_opens_one_read_only() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot)
        basic = await send(pilot, "First question", "basic")
        multi = await send(pilot, "Second [bold]question[/]", "multi", num_calls=2)
        await pilot.press("f3")  # open the history
        await pilot.app.workers.wait_for_complete()  # the runs are read in a thread
        assert isinstance(app.screen, HistoryScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        first = table.coordinate_to_cell_key((0, 0)).row_key.value
        assert first == multi.run_id  # newest first
        assert "Second [bold]question[/]" in screen_text(app).replace("&#160;", " ")
        await pilot.press("enter")  # open the highlighted run
        assert isinstance(app.screen, RunViewScreen)
        pane = app.screen.query_one(OutputPane)
        assert pane.view == "grid"
        shown = app.screen.live
        assert shown.buffers["call-01"].text == multi.buffers["call-01"].text
        assert shown.buffers["call-01"].state is WorkerState.DONE
        app.screen.query_one(WorkerGrid).focus_worker("call-02")
        await pilot.press("y")  # copy the focused worker's text
        assert app.clipboard == multi.buffers["call-02"].text
        await pilot.press("p")  # reveal its file
        path = app.store.load_run(multi.run_id).worker_path("call-02")
        assert app.clipboard == str(path)
        assert any(str(path) in n.message for n in app._notifications)
        await pilot.press("escape")  # back to the list
        await pilot.press("down", "enter")  # open the older (basic) run
        assert isinstance(app.screen, RunViewScreen)
        assert app.screen.query_one(OutputPane).view == "stream"
        assert app.screen.live.buffers["agent"].text == basic.buffers["agent"].text


async def test_enter_read_in_one_burst_with_arrows_opens_the_row_they_reached() -> None:
    """Over a slow SSH link, "down down enter" arrives as one read."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        for i in range(3):
            await send(pilot, f"Question {i}", "basic")
        await pilot.press("f3")  # history
        await pilot.app.workers.wait_for_complete()  # the runs are read in a thread
        third = app.screen.query_one(DataTable).coordinate_to_cell_key((2, 0)).row_key.value
        burst(app, "down", "down", "enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, RunViewScreen)
        assert app.screen.live.run_id == third


async def test_a_value_typed_in_one_burst_with_ctrl_s_is_saved(isolated_home: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        await pilot.press("f2")  # settings
        app.screen.query_one("#max_tokens", Input).focus()
        await pilot.pause()
        burst(app, "5", "1", "2", "ctrl+s")
        await connected(pilot)
        assert isinstance(app.screen, MainScreen)
    doc = tomllib.loads((isolated_home / "config" / "config.toml").read_text())
    assert doc["params"]["max_tokens"] == 512


KILLED_WRITER = """
import os, signal
from agentdeck.store import RunStore
from agentdeck.events import RunStarted, TextDelta, WorkerQueued, WorkerStarted
from agentdeck.types import now
rec = RunStore().create_run(system="multi", prompts={"prompt": "killed mid-way"})
rec(RunStarted(rec.run_id, "multi", ("call-01", "call-02")))
rec(WorkerQueued(rec.run_id, "call-01", "call 1"))
rec(WorkerQueued(rec.run_id, "call-02", "call 2"))
rec(WorkerStarted(rec.run_id, "call-01"))
rec(TextDelta(rec.run_id, "call-01", "partial answer", "", now()))
rec.flush()
print(rec.run_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


async def test_history_shows_a_run_whose_process_died_as_interrupted() -> None:
    """Regression: the run was listed as interrupted but its cards said ``failed``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILLED_WRITER, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == -9
    run_id = out.decode().strip()
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await connected(pilot)
        await pilot.press("f3")  # history
        await pilot.app.workers.wait_for_complete()  # the runs are read in a thread
        assert "interrupted" in screen_text(app)
        await pilot.press("enter")  # open it
        assert isinstance(app.screen, RunViewScreen)
        assert app.screen.info.run_id == run_id
        await pilot.pause(0.2)
        grid = app.screen.query_one(WorkerGrid)
        titles = grid.render_line(0).text  # the top border of both cards, with their states
        assert "call 1" in titles and "call 2" in titles
        assert titles.count("interrupted") == 2 and "failed" not in titles
        assert "failed" not in screen_text(app)
        buf = app.screen.live.buffers["call-01"]
        assert buf.state is WorkerState.INTERRUPTED and buf.text == "partial answer"
        assert "process ended" in buf.error


async def test_quit_with_a_run_in_flight_asks_then_cancels_and_keeps_partial_text() -> None:
    app = make_app(SLOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        screen = await start(pilot, "A long essay please.", "multi", num_calls=2)
        live = screen.live
        await pilot.press("ctrl+q")  # quit while streaming
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("n")  # stay
        assert isinstance(app.screen, MainScreen)
        assert not live.finished
        await pilot.press("ctrl+q")  # quit again
        await pilot.press("y")  # confirm
        await pilot.pause(0.5)
    assert app.return_code == 0
    info = RunStore().load_run(live.run_id)
    assert info.status == "cancelled"
    for worker_id in ("call-01", "call-02"):
        assert info.worker(worker_id)["status"] == "cancelled"
        kept = info.read_reasoning(worker_id) + info.read_text(worker_id)
        assert kept, "partial text is kept"


async def test_quit_without_runs_exits_at_once() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await pilot.press("ctrl+q")  # quit
        await pilot.pause()
    assert app.return_code == 0
