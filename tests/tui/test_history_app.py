"""Pilot tests of History as a log browser: filter, sort, delete, export and run again."""

from __future__ import annotations

import json
from pathlib import Path

from apptools import connected, make_app, send
from textual.widgets import DataTable, Input, Select

from agentdeck.store.search import INDEX
from agentdeck.tui.screens.history import HistoryScreen
from agentdeck.tui.screens.history_dialogs import ConfirmDelete, ExportDialog
from agentdeck.tui.screens.main import MainScreen
from agentdeck.tui.widgets.more_params import MoreParams
from agentdeck.tui.widgets.prompt_box import PromptBox
from agentdeck.tui.widgets.system_picker import SystemPicker


def shown_ids(app) -> list[str]:
    table = app.screen.query_one(DataTable)
    return [table.coordinate_to_cell_key((row, 0)).row_key.value
            for row in range(table.row_count)]


async def wait_search(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_slash_filters_by_text_in_prompts_and_answers(isolated_home: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        walrus = await send(pilot, "Tell me about the walrus", "basic")
        other = await send(pilot, "Something else entirely", "multi", num_calls=2)
        answer_word = other.buffers["call-01"].text.split()[3].strip(".,;:!?")
        await pilot.press("f3")  # history
        assert isinstance(app.screen, HistoryScreen)
        assert set(shown_ids(app)) == {walrus.run_id, other.run_id}
        await pilot.press("slash", *"WALRUS")  # filter, any case
        await wait_search(pilot)
        assert shown_ids(app) == [walrus.run_id]
        field = app.screen.query_one("#filter", Input)
        field.value = answer_word  # a word only the multi run's answers hold... or both
        await wait_search(pilot)
        assert other.run_id in shown_ids(app)
        field.value = "no run says this"
        await wait_search(pilot)
        assert shown_ids(app) == []
        assert "0 of 2 runs match" in str(app.screen.query_one("#where").render())
        assert (app.store.root / INDEX).stat().st_mode & 0o777 == 0o600
        await pilot.press("escape")  # clear the filter
        await pilot.pause()
        assert len(shown_ids(app)) == 2
        await pilot.press("escape")  # leave
        assert isinstance(app.screen, MainScreen)


async def test_columns_sort_by_status_tokens_and_workers() -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await connected(pilot)
        one = await send(pilot, "One call", "basic")
        four = await send(pilot, "Four calls", "multi", num_calls=4)
        two = await send(pilot, "Two calls", "multi", num_calls=2)
        await pilot.press("f3")
        table = app.screen.query_one(DataTable)
        headers = [str(c.label) for c in table.columns.values()]
        for name in ("started", "status", "system", "model", "workers", "tokens", "time",
                     "endpoint"):
            assert name in headers
        assert shown_ids(app) == [two.run_id, four.run_id, one.run_id]  # newest first
        for _ in range(4):  # started -> status -> system -> model -> workers
            await pilot.press("s")
        assert "sorted by workers" in str(app.screen.query_one("#title").render())
        assert shown_ids(app) == [four.run_id, two.run_id, one.run_id]  # most first
        await pilot.press("S")  # reverse
        assert shown_ids(app) == [one.run_id, two.run_id, four.run_id]


async def test_delete_asks_first_and_removes_the_folder() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        kept = await send(pilot, "Keep me", "basic")
        doomed = await send(pilot, "Delete me", "basic")
        folder = app.store.run_dir(doomed.run_id)
        await pilot.press("f3")
        assert shown_ids(app)[0] == doomed.run_id
        await pilot.press("d")  # delete the highlighted (newest) run
        assert isinstance(app.screen, ConfirmDelete)
        await pilot.press("n")  # keep it after all
        assert folder.is_dir() and len(shown_ids(app)) == 2
        await pilot.press("d")
        await pilot.press("y")  # confirm
        await pilot.pause()
        assert not folder.exists()
        assert shown_ids(app) == [kept.run_id]
        assert app.store.run_dir(kept.run_id).is_dir()


async def test_export_writes_markdown_and_json(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot)
        live = await send(pilot, "Export this prompt", "multi", num_calls=2)
        await pilot.press("f3", "e")  # export the highlighted run
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        target = tmp_path / "out.md"
        dialog.query_one("#path", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        text = target.read_text()
        assert text.startswith(f"# Run {live.run_id}")
        assert "Export this prompt" in text and "## Summary" in text
        assert live.buffers["call-02"].text.strip() in text
        assert any(str(target) in n.message for n in app._notifications)
        await pilot.press("e")
        dialog = app.screen
        dialog.query_one("#format", Select).value = "json"
        await pilot.pause()
        field = dialog.query_one("#path", Input)
        assert field.value.endswith(".json")  # the extension follows the format
        field.value = str(tmp_path / "out.json")
        await pilot.press("enter")
        await pilot.pause()
        doc = json.loads((tmp_path / "out.json").read_text())
        assert doc["run_id"] == live.run_id
        assert doc["texts"]["call-01"] == live.buffers["call-01"].text


async def test_run_again_fills_the_main_screen_with_the_runs_inputs() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await connected(pilot)
        more = screen.query_one(MoreParams)
        more.load({"system_prompt": "Answer like a pirate.", "top_p": "0.5", "seed": "42",
                   "stop": "###"})
        live = await send(pilot, "Run me again", "multi", num_calls=3, temperature=0.7,
                          max_tokens=30, concurrency=2)
        manifest = app.store.load_run(live.run_id).manifest
        assert manifest["params"]["top_p"] == 0.5
        assert manifest["params"]["seeds"] == 42  # call i gets seed + i - 1
        assert manifest["params"]["stop"] == "###"  # sent as the CLI's --stop would be
        assert manifest["prompts"]["system"] == "Answer like a pirate."
        # Change everything, then run the old one again from History.
        screen.query_one(SystemPicker).system = "basic"
        screen.query_one(PromptBox).text = "something new"
        more.load({})
        await pilot.press("f3", "a")  # run again
        await pilot.pause()
        assert app.screen is screen
        picker = screen.query_one(SystemPicker)
        assert picker.system == "multi"
        values = {name: picker.query_one(f"#{name}", Input).value
                  for name in ("temperature", "max_tokens", "num_calls", "concurrency")}
        assert values == {"temperature": "0.7", "max_tokens": "30", "num_calls": "3",
                          "concurrency": "2"}
        assert screen.query_one(PromptBox).text == "Run me again"
        assert more.values() == {"system_prompt": "Answer like a pirate.", "top_p": "0.5",
                                 "seed": "42", "stop": "###"}
