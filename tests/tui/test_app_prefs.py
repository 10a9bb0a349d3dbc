"""Pilot tests: what the user sets in the app survives a restart (prompts, theme, system)."""

from __future__ import annotations

from pathlib import Path

import tomllib
from apptools import connected, make_app, send
from textual.widgets import Input

from agentdeck import paths
from agentdeck.store.app_state import PromptHistory
from agentdeck.tui.widgets.prompt_box import PromptArea, PromptBox
from agentdeck.tui.widgets.system_picker import SystemPicker


async def test_prompt_history_survives_a_restart_owner_only() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await connected(pilot)
        await send(pilot, "first session prompt", "basic")
        await send(pilot, "second prompt\non two lines", "basic")
    saved = paths.prompt_history_file()
    assert saved.stat().st_mode & 0o777 == 0o600
    assert len(saved.read_text().splitlines()) == 2  # one entry per sent prompt

    app = make_app()  # a new session
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await connected(pilot)
        box = screen.query_one(PromptBox)
        box.query_one(PromptArea).focus()
        await pilot.press("up")  # the last prompt of the earlier session
        assert box.text == "second prompt\non two lines"
        box.query_one(PromptArea).move_cursor((0, 0))
        await pilot.press("up")
        assert box.text == "first session prompt"


def test_prompt_history_is_bounded(tmp_path: Path) -> None:
    history = PromptHistory(tmp_path / "h.jsonl", limit=5)
    for i in range(23):
        history.add(f"prompt {i}")
    assert len((tmp_path / "h.jsonl").read_text().splitlines()) <= 10
    assert PromptHistory(tmp_path / "h.jsonl", limit=5).load() == [
        f"prompt {i}" for i in range(18, 23)]


async def test_a_theme_picked_in_the_palette_is_saved_keeping_a_hand_edited_file() -> None:
    config = paths.config_file()
    config.parent.mkdir(parents=True)
    original = "# my settings\n[ui]\ntheme = \"textual-dark\"  # dark\n"
    config.write_text(original)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await connected(pilot)
        app.theme = "nord"  # what the palette's "Change theme" does
        await pilot.pause()
        await pilot.pause()
    assert tomllib.loads(config.read_text())["ui"]["theme"] == "nord"
    assert config.with_name("config.toml.bak").read_text() == original

    app = make_app()  # the next launch starts with it
    async with app.run_test(size=(100, 30)) as pilot:
        await connected(pilot)
        assert app.theme == "nord"


async def test_the_last_system_and_its_fields_come_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await connected(pilot)
        await send(pilot, "remember me", "multi", num_calls=3, temperature=0.4, concurrency=2)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await connected(pilot)
        picker = screen.query_one(SystemPicker)
        assert picker.system == "multi"
        assert picker.query_one("#num_calls", Input).value == "3"
        assert picker.query_one("#temperature", Input).value == "0.4"
        assert picker.query_one("#concurrency", Input).value == "2"
