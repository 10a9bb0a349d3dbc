"""Pilot tests: cancel one worker or all, retry a failed card, zoom into a card and back."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from apptools import (
    FAST,
    SLOW,
    connected,
    finish,
    main_screen,
    make_app,
    send,
    set_fields,
)

from agentdeck.state import WorkerState
from agentdeck.tui.screens.main import MainScreen
from agentdeck.tui.screens.zoom import ZoomScreen
from agentdeck.tui.widgets.prompt_box import PromptBox
from agentdeck.tui.widgets.stream_view import StreamView
from agentdeck.tui.widgets.system_picker import SystemPicker
from agentdeck.tui.widgets.worker_grid import WorkerGrid


async def start(pilot, prompt: str, system: str, **fields) -> MainScreen:
    """Send without waiting for the end, and wait until every worker streams."""
    screen = main_screen(pilot)
    screen.query_one(SystemPicker).system = system
    set_fields(pilot, **fields)
    screen.query_one(PromptBox).text = prompt
    await pilot.press("ctrl+s")  # send
    for _ in range(200):
        await pilot.pause(0.02)
        live = screen.live
        if (
            live
            and live.order
            and all(live.buffers[w].state is WorkerState.STREAMING for w in live.order)
        ):
            return screen
    raise AssertionError("the workers never all streamed")


async def test_cancel_one_card_then_all_keeps_partial_text() -> None:
    app = make_app(SLOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot)
        screen = await start(pilot, "Write a long essay.", "multi", num_calls=3)
        grid = screen.query_one(WorkerGrid)
        grid.focus()
        grid.focus_worker("call-01")
        await pilot.press("c")  # cancel the focused card
        await pilot.pause(0.2)
        live = screen.live
        assert live.buffers["call-01"].state is WorkerState.CANCELLED
        others = [live.buffers[w].state for w in ("call-02", "call-03")]
        assert others == [WorkerState.STREAMING, WorkerState.STREAMING]
        await pilot.press("ctrl+g")  # cancel all
        await finish(pilot)
        assert live.status == "cancelled"
        assert all(b.state is WorkerState.CANCELLED for b in live.buffers.values())
        info = app.store.load_run(live.run_id)
        for worker_id in live.order:
            assert info.worker(worker_id)["status"] == "cancelled"
            buf = live.buffers[worker_id]
            # Early on a stream may hold only reasoning: both parts are kept.
            kept = (info.read_reasoning(worker_id), info.read_text(worker_id))
            assert any(kept) and kept == (buf.reasoning_text, buf.text)


async def test_a_failed_card_shows_the_error_and_retry_fixes_it() -> None:
    # Chat request 2 breaks mid-stream (no retry after the first token): call 2 fails.
    faulty = replace(FAST, fault_schedule={2: {"fault": "disconnect", "after": 3}})
    app = make_app(faulty)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await connected(pilot)
        live = await send(pilot, "Name a colour.", "multi", num_calls=3, concurrency=1)
        failed = [w for w in live.order if live.buffers[w].state is WorkerState.FAILED]
        assert failed == ["call-02"]
        assert "StreamDisconnectedError" in live.buffers["call-02"].error
        assert any("call-02" in n.message for n in app._notifications)
        grid = main_screen(pilot).query_one(WorkerGrid)
        grid.focus()
        grid.focus_worker("call-02")
        await pilot.press("r")  # retry the focused (failed) card
        await finish(pilot)
        assert main_screen(pilot).live.buffers["call-02"].state is WorkerState.DONE
        info = app.store.load_run(live.run_id)
        assert info.worker("call-02")["status"] == "done"


async def test_r_on_a_debate_card_does_not_run_the_whole_debate_again() -> None:
    """Before: ``r`` on a failed card of a system that cannot retry one worker (debate, MoA,
    compare) silently sent the whole run again."""
    faulty = replace(FAST, fault_schedule={2: {"fault": "disconnect", "after": 3}})
    app = make_app(faulty)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await connected(pilot)
        live = await send(pilot, "Name a colour.", "debate", num_calls=2, rounds=1,
                          concurrency=1)
        failed = [w for w in live.order if live.buffers[w].state is WorkerState.FAILED]
        assert failed
        grid = main_screen(pilot).query_one(WorkerGrid)
        grid.focus()
        grid.focus_worker(failed[0])
        await pilot.press("r")
        await finish(pilot)
        assert main_screen(pilot).live is live  # no new run
        assert len(app.store.list_runs()) == 1
        assert "cannot run one worker again" in list(app._notifications)[-1].message


async def test_enter_zooms_a_card_full_screen_and_escape_returns() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        live = await send(pilot, "Say hi.", "multi", num_calls=2)
        grid = main_screen(pilot).query_one(WorkerGrid)
        grid.focus()
        grid.focus_worker("call-02")
        await pilot.press("enter")  # zoom the focused card
        await pilot.pause(0.1)
        assert isinstance(app.screen, ZoomScreen)
        assert app.screen.worker_id == "call-02"
        assert app.screen.query_one(StreamView).buffer is live.buffers["call-02"]
        await pilot.press("escape")  # back to the grid
        assert isinstance(app.screen, MainScreen)


async def test_ctrl_f_zooms_the_single_stream_of_a_basic_run() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await send(pilot, "Say hi.", "basic")
        await pilot.press("ctrl+f")  # zoom
        await pilot.pause()
        assert isinstance(app.screen, ZoomScreen) and app.screen.worker_id == "agent"
        await pilot.press("escape")  # back
        assert isinstance(app.screen, MainScreen)


async def test_a_second_send_while_running_is_refused_not_lost() -> None:
    app = make_app(SLOW)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await connected(pilot)
        screen = await start(pilot, "Long answer please.", "basic")
        first = screen.live
        await pilot.press("ctrl+s")  # send again while running
        await pilot.pause()
        assert screen.live is first
        assert any("in flight" in n.message for n in app._notifications)
        await pilot.press("ctrl+g")  # cancel all
        await asyncio.wait_for(finish(pilot), 10)
        assert first.status == "cancelled"


async def test_a_cancelled_stream_says_cancelled_once() -> None:
    """Regression: a cancelled single stream read "✕ cancelled: cancelled"."""
    app = make_app(SLOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        screen = await start(pilot, "Long answer please.", "basic")
        await pilot.press("ctrl+g")  # cancel all
        await asyncio.wait_for(finish(pilot), 10)
        assert screen.live.status == "cancelled"
        line = screen.query_one("#stream-error")
        assert line.display and str(line.render()) == "✕ cancelled"
