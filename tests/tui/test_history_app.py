"""Pilot tests of History as a log browser: filter, sort, delete, export and run again."""

from __future__ import annotations

import json
import threading
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
        await pilot.app.workers.wait_for_complete()  # the runs are read in a thread
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
        await pilot.app.workers.wait_for_complete()  # the runs are read in a thread
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
        await pilot.app.workers.wait_for_complete()  # the runs are read in a thread
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
        await pilot.press("f3")
        await pilot.app.workers.wait_for_complete()  # the runs are read in a thread
        await pilot.press("e")  # export the highlighted run
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
        await pilot.press("f3")
        await pilot.app.workers.wait_for_complete()  # the runs are read in a thread
        await pilot.press("a")  # run again
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


async def test_run_again_leaves_out_a_list_of_seeds() -> None:
    """Before: a run with one seed a call (``seeds: [..]``, from the CLI) came back as
    ``seed=[...]`` in the more row, which the next send refused."""
    from agentdeck.tui.rerun import rerun_of

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot)
        live = await send(pilot, "Seeded", "multi", num_calls=3)
        path = app.store.run_dir(live.run_id) / "run.json"
        manifest = json.loads(path.read_text())
        manifest["params"]["seeds"] = [7, 8, 9]
        path.write_text(json.dumps(manifest))
        rerun = rerun_of(app.store.load_run(live.run_id))
        assert "seed" not in rerun.options.more
        assert rerun.options.num_calls == 3


async def test_history_reads_runs_in_a_thread_and_its_footer_keeps_quit_and_help() -> None:
    """Before: every run.json was read on the UI thread as History opened (and on F5), and
    the stock footer cut ^q Quit and f1 Help at 80 columns."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await send(pilot, "One run", "basic")
        threads = []
        list_runs = app.store.list_runs

        def recorded(*args, **kwargs):
            threads.append(threading.current_thread())
            return list_runs(*args, **kwargs)

        app.store.list_runs = recorded
        await pilot.press("f3")
        assert isinstance(app.screen, HistoryScreen)
        await pilot.app.workers.wait_for_complete()
        assert threads and threading.main_thread() not in threads
        await pilot.pause()
        assert len(shown_ids(app)) == 1
        text = app.export_screenshot().replace("&#160;", " ")
        assert "Quit" in text and "Help" in text


async def test_export_asks_before_replacing_a_file(tmp_path: Path) -> None:
    """Before: exporting onto an existing file overwrote it without a word."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot)
        live = await send(pilot, "Export me", "multi", num_calls=2)
        target = tmp_path / "notes.md"
        target.write_text("my own notes")
        await pilot.press("f3")
        await pilot.app.workers.wait_for_complete()
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        dialog.query_one("#path", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and target.read_text() == "my own notes"
        assert "exists" in str(dialog.query_one("#note").render())
        await pilot.press("enter")  # yes, replace it
        await pilot.pause()
        assert target.read_text().startswith(f"# Run {live.run_id}")
