"""Helpers for the app's Pilot tests: an app on the in-process simulator, and ways to drive it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from agentdeck.config.settings import SIM_MODEL, load_settings
from agentdeck.sim import SimConfig
from agentdeck.tui.app import AgentDeckApp
from agentdeck.tui.live import LiveRun
from agentdeck.tui.screens.main import MainScreen
from agentdeck.tui.widgets.prompt_box import PromptBox
from agentdeck.tui.widgets.system_picker import SystemPicker

FAST = SimConfig(
    models=(SIM_MODEL,),
    tokens_per_s=0,  # as fast as the client reads: tests wait for completion, not for time
    ttft=0.0,
    output_tokens=40,
    reasoning=True,
    reasoning_tokens=8,
    seed=7,
)
SLOW = replace(FAST, tokens_per_s=20, output_tokens=2000)
"""Streams that last long enough to be cancelled mid-way."""


def make_app(
    sim_config: SimConfig = FAST, *, demo: bool = True, env: dict[str, str] | None = None
) -> AgentDeckApp:
    """The app on the in-process simulator, recording into AGENTDECK_HOME.

    ``demo=False`` leaves the choice to the settings (with no config file: the built-in
    simulator profile), so a profile saved in the settings screen takes over.
    """
    settings = load_settings(env={} if env is None else env)
    return AgentDeckApp(settings, demo=demo, sim_config=sim_config)


CONTROL_CHARS = {
    "ctrl+s": "\x13", "enter": "\r", "down": None, "up": None, "tab": "\t", "shift+tab": None,
    "escape": "\x1b", "question_mark": "?", "f1": None, "f2": None, "ctrl+g": "\x07",
    "ctrl+q": "\x11", "ctrl+t": "\x14", "ctrl+o": "\x0f", "f6": None, "shift+f6": None,
}


def burst(app: AgentDeckApp, *keys: str) -> None:
    """Send ``keys`` as the terminal driver does for one read: back to back, no pause between.

    A paste, or typing over a slow SSH link, arrives like this; ``pilot.press`` instead waits
    for each key to be handled before the next.
    """
    for key in keys:
        event = events.Key(key, CONTROL_CHARS.get(key, key))
        event.set_sender(app)
        app._driver.send_message(event)


def burst_bytes(app: AgentDeckApp, data: str) -> None:
    """Send ``data`` as one read from the terminal, parsed by Textual's own ``XTermParser``
    (the driver's parser): ``"\\x1bp"`` (Esc then p in one read) arrives as alt+p, as it
    does over a real terminal."""
    from textual._xterm_parser import XTermParser

    parser = XTermParser()
    for message in [*parser.feed(data), *parser.feed("")]:  # "": the read ended
        message.set_sender(app)
        app._driver.send_message(message)


def main_screen(pilot: Pilot) -> MainScreen:
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen), f"expected the main screen, got {screen!r}"
    return screen


async def connected(pilot: Pilot) -> MainScreen:
    """Wait until the app reached the simulator and the main screen is up."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    assert pilot.app.connection.model is not None
    return main_screen(pilot)


def set_fields(pilot: Pilot, **values: Any) -> None:
    """Set picker inputs by id (temperature, max_tokens, num_calls, concurrency, rounds)."""
    picker = pilot.app.screen.query_one(SystemPicker)
    for name, value in values.items():
        picker.query_one(f"#{name}", Input).value = "" if value is None else str(value)


async def send(pilot: Pilot, prompt: str, system: str = "basic", **fields: Any) -> LiveRun:
    """Type ``prompt``, pick ``system``, press ctrl+s and wait until the run has ended."""
    screen = main_screen(pilot)
    screen.query_one(SystemPicker).system = system
    set_fields(pilot, **fields)
    screen.query_one(PromptBox).text = prompt
    await pilot.pause()
    await pilot.press("ctrl+s")  # send
    await finish(pilot)
    assert screen.live is not None
    return screen.live


async def finish(pilot: Pilot) -> None:
    """Wait for every worker (the run, polls) and let the frame timer flush once."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.06)
    await pilot.pause()
