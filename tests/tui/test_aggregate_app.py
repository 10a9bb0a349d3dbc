"""A failed aggregate shows in the app as a partial run, its step left unfinished."""

from __future__ import annotations

from apptools import connected, main_screen, make_app, send
from textual.widgets import Select

from agentdeck.state import RunStatus, WorkerState


async def test_a_select_naming_no_response_shows_the_run_partial() -> None:
    """Before: the run said done and the app kept an empty step as the answer."""
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot)
        main_screen(pilot).query_one("#aggregate", Select).value = "select"
        live = await send(pilot, "Name a fruit.", "multi", num_calls=3, concurrency=3)
        assert live.status == "partial" and live.state_text() == "partial"
        assert live.buffers["aggregate"].state is WorkerState.DONE  # the judge did answer
        assert live.steps[1].status is not RunStatus.DONE


async def test_the_answer_panel_lays_out_again_only_when_its_height_changes() -> None:
    """Before: every update (4 a second while a merge streams) laid the whole screen out
    again, even an equal answer."""
    from textual.widgets import Static

    from agentdeck.tui.answer import RunAnswer
    from agentdeck.tui.widgets.answer_panel import AnswerPanel

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await connected(pilot)
        panel = screen.query_one(AnswerPanel)
        panel.answer = RunAnswer("synthesize", "merging 3 answers", text="The first words")
        await pilot.pause()
        static = panel.query_one("#answer-text", Static)
        layouts: list[bool] = []
        update = static.update
        static.update = lambda text, layout=True: (layouts.append(layout),  # type: ignore
                                                   update(text, layout=layout))
        panel.answer = RunAnswer("synthesize", "merging 3 answers", text="The first words")
        assert layouts == []  # equal: nothing to do
        panel.answer = RunAnswer("synthesize", "merging 3 answers", text="The first words and")
        assert layouts == [False]  # the same rows: repainted, not laid out
        panel.answer = RunAnswer("synthesize", "merging 3 answers",
                                 text="The first words and\nmore lines\nof the merge")
        assert layouts == [False, True]  # taller: laid out again
        await pilot.pause()
        assert "of the merge" in str(static.render())
