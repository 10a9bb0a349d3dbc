"""Plugins in the app (issue 16): the picker offers them with their fields; a plugin that does
not load, or that raises mid-run, is a notice, never a crash."""

from __future__ import annotations

import pytest
from apptools import connected, make_app, send
from plugin_support import (
    EXPLODE_LINE,
    TWICE,
    fresh_plugins,  # noqa: F401 - a fixture
    write_plugin,
)
from textual.widgets import Select

from agentdeck.tui.widgets.system_picker import SystemPicker

pytestmark = pytest.mark.usefixtures("fresh_plugins")


def offered(picker: SystemPicker) -> list[str]:
    """The systems' labels in the picker's drop-down."""
    select = picker.query_one("#system", Select)
    return [str(label) for label, _ in select._options]


async def test_the_picker_offers_a_plugin_with_its_fields_and_runs_it(isolated_home) -> None:
    write_plugin(isolated_home, "twice.py", TWICE)
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        screen = await connected(pilot)
        picker = screen.query_one(SystemPicker)
        assert offered(picker)[-1] == "Twice" and "Twice" in str(screen.query_one("#empty")
                                                                  .render())
        picker.system = "twice"
        await pilot.pause()
        assert picker.query_one("#group-num_calls").display  # its --times, as n
        assert not picker.query_one("#group-rounds").display
        live = await send(pilot, "Say hi", "twice", num_calls=3)
        assert live.status == "done" and sorted(live.buffers) == ["say-1", "say-2", "say-3"]
        assert app.store.load_run(live.run_id).system == "twice"
        assert not app._notifications


async def test_a_plugin_that_does_not_load_is_a_notice_and_the_rest_works(isolated_home) -> None:
    broken = write_plugin(isolated_home, "broken.py", "SYSTEMS = [\n")
    write_plugin(isolated_home, "twice.py", TWICE)
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        screen = await connected(pilot)
        (note,) = app._notifications
        assert (note.title, note.severity) == ("Plugin not loaded", "warning")
        assert note.message.startswith(f"{broken}:1: SyntaxError: ")
        assert "Twice" in offered(screen.query_one(SystemPicker))
        live = await send(pilot, "Say hi", "basic")
        assert live.status == "done"


async def test_a_plugin_raising_mid_run_is_a_notice_and_its_run_fails(isolated_home) -> None:
    path = write_plugin(isolated_home, "twice.py", TWICE.replace(
        'request.options["explode"]', "True"))
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await connected(pilot)
        live = await send(pilot, "Say hi", "twice")
        (note,) = [n for n in app._notifications if n.severity == "error"]
        assert note.title == "PluginError"
        assert note.message.startswith(f"system 'twice' failed ({path}:{EXPLODE_LINE}): "
                                       "ValueError: boom from the plugin")
        info = app.store.load_run(live.run_id)
        assert info.status == "failed" and "boom from the plugin" in info.manifest["error"][
            "traceback"]
        live = await send(pilot, "Say hi", "basic")  # the app carries on
        assert live.status == "done"
