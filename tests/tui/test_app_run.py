"""Pilot tests: a prompt sent in every system streams into the right view and the run store."""

from __future__ import annotations

from pathlib import Path

from apptools import burst, connected, finish, main_screen, make_app, send
from textual.widgets import Select

from agentdeck.state import WorkerState
from agentdeck.tui.widgets.output_pane import OutputPane
from agentdeck.tui.widgets.prompt_box import PromptBox
from agentdeck.tui.widgets.status_line import StatusLine
from agentdeck.tui.widgets.system_picker import SystemPicker

LONG_TEXT = "\n\n".join(
    f"Section {i}. The committee met on day {i} and agreed that item {i} needs a budget of "
    f"{i * 100} euros, while item {i + 1} waits for the next meeting."
    for i in range(1, 60)
)


async def attach(pilot, path: Path) -> None:
    await pilot.press("ctrl+o")  # open the path input
    await pilot.press(*str(path))  # type the path
    await pilot.press("enter")  # attach it


async def test_basic_prompt_streams_into_the_stream_view_and_is_recorded() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        live = await send(pilot, "Explain the KV cache in one paragraph.", "basic")
        assert live.status == "done"
        buf = live.buffers["agent"]
        assert buf.state is WorkerState.DONE and len(buf.text) > 20
        assert app.screen.query_one(OutputPane).view == "stream"
        status = app.screen.query_one(StatusLine)
        assert status.run_state == "done" and status.model == "agentdeck-sim"
        info = app.store.load_run(live.run_id)
        assert info.status == "done"
        assert info.read_text("agent") == buf.text
        assert info.prompts["prompt"] == "Explain the KV cache in one paragraph."


async def test_keys_read_in_one_burst_with_the_send_key_are_sent_with_it() -> None:
    """A paste, or typing over a slow SSH link, reaches the app as one read ending in ctrl+s."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await connected(pilot)
        burst(app, "h", "i", "ctrl+s")
        await finish(pilot)
        assert screen.live is not None, "the send key was lost"
        assert app.store.load_run(screen.live.run_id).prompts["prompt"] == "hi"


async def test_typing_and_enter_make_a_multi_line_prompt_and_history_recalls_it() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await pilot.press(*"first")  # type on line one
        await pilot.press("enter")  # enter inserts a newline, it does not send
        await pilot.press(*"second")  # type on line two
        box = app.screen.query_one(PromptBox)
        assert box.text == "first\nsecond"
        assert main_screen(pilot).live is None, "enter must not send"
        await pilot.press("f5")  # send
        await finish(pilot)
        assert main_screen(pilot).live.status == "done"
        await pilot.press("ctrl+n")  # clear the prompt
        assert box.text == ""
        await pilot.press("up")  # first line: recall the previous prompt
        assert box.text == "first\nsecond"
        await pilot.press("down")  # last line: back to the (empty) draft
        assert box.text == ""


async def test_context_system_sends_the_attached_file_first(tmp_path: Path) -> None:
    context = tmp_path / "context.txt"
    context.write_text("The launch code word is PELICAN.\n")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await attach(pilot, context)
        box = app.screen.query_one(PromptBox)
        assert box.attachment is not None and box.attachment.path == context
        assert "context.txt" in str(box.border_subtitle)
        live = await send(pilot, "What is the code word?", "context")
        assert live.status == "done"
        info = app.store.load_run(live.run_id)
        assert info.prompts["context"] == "The launch code word is PELICAN.\n"


async def test_attaching_a_missing_or_binary_file_says_why_and_keeps_nothing(
    tmp_path: Path,
) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await connected(pilot)
        await attach(pilot, tmp_path / "nope.txt")
        assert app.screen.query_one(PromptBox).attachment is None
        messages = [n.message for n in app._notifications]
        assert any("does not exist" in m for m in messages)
        await pilot.press("escape")  # close the path input
        await attach(pilot, binary)
        assert app.screen.query_one(PromptBox).attachment is None
        assert any("binary" in n.message for n in app._notifications)


async def test_context_without_an_attachment_is_refused_before_any_request() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await connected(pilot)
        screen = main_screen(pilot)
        screen.query_one(SystemPicker).system = "chain"
        screen.query_one(PromptBox).text = "Summarise it."
        await pilot.press("ctrl+s")  # send without a long text
        await finish(pilot)
        assert screen.live is None
        assert any("ctrl+o" in n.message for n in app._notifications)
        assert app.connection.sim.stats.requests == 0


async def test_chain_over_a_long_text_shows_steps_then_the_manager(tmp_path: Path) -> None:
    long_text = tmp_path / "minutes.txt"
    long_text.write_text(LONG_TEXT)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot)
        await attach(pilot, long_text)
        live = await send(pilot, "What budgets were agreed?", "chain", max_tokens=64)
        assert live.status == "done", live.status
        assert app.screen.query_one(OutputPane).view == "chain"
        assert live.steps, "a chain reports its steps"
        last = live.buffers[live.order[-1]]
        assert last.state is WorkerState.DONE and last.text


async def test_multi_call_with_vote_fills_the_grid() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot)
        screen = main_screen(pilot)
        screen.query_one("#aggregate", Select).value = "vote"
        live = await send(pilot, "Pick a number.", "multi", num_calls=4, concurrency=2)
        assert live.status in ("done", "partial")
        calls = [w for w in live.order if w.startswith("call")]
        assert len(calls) == 4
        assert all(live.buffers[w].state is WorkerState.DONE for w in calls)
        assert screen.query_one(OutputPane).view == "grid"
        assert app.connection.sim.stats.max_in_flight <= 2


async def test_debate_runs_every_seat_every_round() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot)
        live = await send(pilot, "Is 17 prime?", "debate", num_calls=2, rounds=1)
        assert live.status == "done"
        assert len(live.order) == 4  # 2 seats x (first answer + 1 round)
        assert all(b.state is WorkerState.DONE for b in live.buffers.values())


async def test_bad_parameters_are_named_and_nothing_is_sent() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await connected(pilot)
        screen = main_screen(pilot)
        screen.query_one(PromptBox).text = "hello"
        from apptools import set_fields

        set_fields(pilot, temperature=-1)
        await pilot.press("ctrl+s")  # send with temperature -1
        await finish(pilot)
        assert screen.live is None
        assert any("temperature" in n.message for n in app._notifications)


async def test_an_unknown_model_fails_on_the_card_and_in_a_notification() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await connected(pilot)
        app.connection.model.model_name = "no-such-model"
        live = await send(pilot, "hello", "basic")
        assert live.status == "failed"
        error = live.buffers["agent"].error
        assert "ModelNotFoundError" in error and "agentdeck-sim" in error  # what is served
        shown = [n.message for n in app._notifications]
        assert sum("agentdeck-sim" in m for m in shown) == 1, shown  # once, not twice
        line = app.screen.query_one("#stream-error")
        assert line.display and "ModelNotFoundError" in str(line.render())  # on the "card"
        assert main_screen(pilot).is_attached  # the app lives on


async def test_a_failed_stream_with_no_text_does_not_look_still_running() -> None:
    """Regression: an answer that failed before its first token read "agent: failed…"."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        app.connection.model.model_name = "no-such-model"
        live = await send(pilot, "hello", "basic")
        assert live.status == "failed" and live.buffers["agent"].text == ""
        view = app.screen.query_one(OutputPane).stream
        assert view.render_line(0).text.rstrip() == "agent: failed, no text"


async def test_a_prompt_beyond_the_window_fails_every_card_and_max_tokens_is_only_a_cap() -> None:
    """A prompt longer than the window fails each card with the context-length error (before
    sending); a max_tokens beyond it is lowered to fit, and the run says so once."""
    app = make_app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await connected(pilot)
        window = app.connection.sim.config.max_model_len
        live = await send(pilot, "hello " * (window + 100), "multi", num_calls=2)
        errors = [live.buffers[w].error for w in live.order]
        assert len(errors) == 2 and all("ContextLengthError" in e for e in errors), errors
        titles = [n.title for n in app._notifications]
        # Failures within one frame share a notice; on a busy machine they may come apart.
        assert "2 workers failed" in titles or titles.count("A worker failed") == 2, titles
        live = await send(pilot, "hello", "multi", num_calls=2, max_tokens=10**6)
        assert live.status == "done"
        notes = [n.message for n in app._notifications if "lowered" in n.message]
        assert len(notes) == 1 and f"{window}-token window" in notes[0], notes


async def test_nothing_is_recomputed_after_a_run_ends_until_the_next_starts() -> None:
    """Before: the 20 Hz frame timer recomputed the status figures, the open stats panel
    snapshotted the finished summary twice a second, and a zoomed worker's title was laid
    out 20 times a second, for as long as the app stayed open."""
    from textual.widgets import Static

    from agentdeck.tui.screens.zoom import ZoomScreen
    from agentdeck.tui.widgets.stats_panel import StatsPanel

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await connected(pilot)
        live = await send(pilot, "Say hi.", "multi", num_calls=2)
        await pilot.press("f8")  # the stats panel, open
        await pilot.pause(0.2)
        calls = {"figures": 0, "snapshot": 0, "title": 0}
        figures, snapshot = live.figures, screen.system.summary.snapshot

        def counted(name, fn):
            def wrapper(*args, **kwargs):
                calls[name] += 1
                return fn(*args, **kwargs)
            return wrapper

        live.figures = counted("figures", figures)
        screen.system.summary.snapshot = counted("snapshot", snapshot)
        assert screen.query_one(StatsPanel).shown
        await pilot.pause(1.2)
        assert calls == {"figures": 0, "snapshot": 0, "title": 0}
        screen.zoom(live.order[0])
        await pilot.pause(0.5)
        zoom = app.screen
        assert isinstance(zoom, ZoomScreen)
        title = zoom.query_one("#title", Static)
        update = title.update
        title.update = counted("title", update)
        await pilot.pause(0.4)
        assert calls["title"] == 0
        await pilot.press("escape")
        # The next run wakes the frames: its text reaches the screen.
        second = await send(pilot, "Say bye.", "multi", num_calls=2)
        assert second is not live and calls["figures"] == 0
        assert screen.query_one(StatusLine).run_state == second.state_text()
