"""A system registered at runtime shows in the app's picker, with its fields and their declared
defaults, and runs there."""

from __future__ import annotations

from apptools import connected, make_app, send
from textual.widgets import Input, Select
from toy_system import RELAY

from agentdeck.systems import registry
from agentdeck.tui.widgets.output_pane import OutputPane
from agentdeck.tui.widgets.system_picker import SystemPicker


async def test_a_registered_toy_system_is_picked_and_run_in_the_app() -> None:
    """Issue 10: adding a system is one file and one registration; the app follows."""
    registry.register(RELAY)
    try:
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await connected(pilot)
            picker = screen.query_one(SystemPicker)
            assert "Relay" in str(screen.query_one("#empty").render())
            picker.system = registry.specs()[-2].key  # the last built-in
            await pilot.press("ctrl+t")  # the next system after the built-ins
            assert picker.system == "relay"
            assert picker.query_one("#group-num_calls").display  # its declared count
            assert not picker.query_one("#group-rounds").display
            live = await send(pilot, "Say hi", "relay", num_calls=3)
            assert live.status == "done" and list(live.buffers) == ["leg-1", "leg-2", "leg-3"]
            assert screen.query_one(OutputPane).view == "grid"
            info = app.store.load_run(live.run_id)
            assert info.system == "relay" and info.read_text("leg-3")
    finally:
        registry.unregister(RELAY.key)


def picked(picker: SystemPicker) -> tuple[str, str]:
    """What the n and rounds fields hold."""
    return picker.query_one("#num_calls", Input).value, picker.query_one("#rounds", Input).value


async def test_picking_a_system_fills_n_and_rounds_with_what_it_declares(isolated_home) -> None:
    """Regression: n came from ``[ui] num_calls`` (4) and rounds was 2 for every system, so the
    app sent 4 legs to a relay declaring at most 3 (refused) and ran 4 debate seats where the
    CLI runs the 3 debate declares."""
    registry.register(RELAY)
    try:
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await connected(pilot)
            picker = screen.query_one(SystemPicker)
            tip = str(picker.query_one("#system", Select).tooltip)
            assert "ctrl+t" in tip and "F2" not in tip
            assert "Relay: pass an answer along N legs, each improving it" in tip
            picker.query_one("#system", Select).value = "debate"  # as the drop-down does
            await pilot.pause()
            assert picked(picker) == ("3", "2")
            picker.system = "multi"
            assert picked(picker)[0] == "4"
            picker.system = registry.specs()[-2].key  # the last built-in
            await pilot.press("ctrl+t")  # the next system: relay
            assert picker.system == "relay" and picked(picker)[0] == "2"
            live = await send(pilot, "Say hi", "relay")  # n as the picker filled it
            assert live.status == "done" and list(live.buffers) == ["leg-1", "leg-2"]
            live = await send(pilot, "Is 17 prime?", "debate", rounds=0)
            assert list(live.buffers) == ["seat1-r0", "seat2-r0", "seat3-r0"]
    finally:
        registry.unregister(RELAY.key)


async def test_a_num_calls_the_user_set_is_multi_calls_n_only(isolated_home) -> None:
    """Issue 14.5: ``[ui] num_calls`` is Multi-call's n; debate seats keep their own default."""
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[ui]\nnum_calls = 8\n")
    registry.register(RELAY)
    try:
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            picker = (await connected(pilot)).query_one(SystemPicker)
            found = {}
            for key in ("multi", "debate", "relay"):
                picker.system = key
                found[key] = picked(picker)[0]
            assert found == {"multi": "8", "debate": "3", "relay": "2"}  # relay: 1 to 3 legs
    finally:
        registry.unregister(RELAY.key)
