"""Every action is reachable from the command palette, and the status line shows only real gauges."""

from __future__ import annotations

from apptools import connected, make_app

from agentdeck.connect import ServerStatus
from agentdeck.tui.widgets.status_line import StatusLine
from agentdeck.tui.widgets.system_picker import SystemPicker

MAIN_ACTIONS = {
    "Send prompt",
    "Attach file",
    "Next system",
    "Cancel all",
    "Cancel worker",
    "Retry worker",
    "Zoom",
    "New prompt",
    "Settings",
    "History",
    "Quit",
    "Keys",
}


async def test_the_palette_lists_every_main_screen_action_and_runs_them() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await connected(pilot)
        titles = {command.title for command in app.get_system_commands(screen)}
        assert titles >= MAIN_ACTIONS
        assert screen.query_one(SystemPicker).system == "basic"
        await pilot.press("ctrl+p")  # open the palette
        await pilot.press(*"next system")  # search
        await pilot.pause(0.3)
        await pilot.press("enter")  # run the first hit
        await pilot.pause()
        assert screen.query_one(SystemPicker).system == "context"


def render(server: ServerStatus) -> str:
    line = StatusLine()
    line.profile, line.model, line.server = "gpu", "m", server
    return line.render().plain


def test_vllm_gauges_show_only_when_the_server_exports_them() -> None:
    plain_server = render(ServerStatus(healthy=True, latency_ms=12))
    assert "12ms" in plain_server
    assert "vLLM:" not in plain_server and "KV" not in plain_server
    vllm = render(ServerStatus(healthy=True, latency_ms=3, running=7, waiting=2, kv_cache=0.5))
    assert "vLLM: 7 running, 2 waiting" in vllm and "KV 50%" in vllm
    down = render(ServerStatus(healthy=False, error="ConnectError"))
    assert "ConnectError" in down
