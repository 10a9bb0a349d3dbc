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
