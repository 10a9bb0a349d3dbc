"""A system registered at runtime shows in the app's picker, with its fields, and runs there."""

from __future__ import annotations

from apptools import connected, make_app, send
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
            picker.system = "debate"
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
