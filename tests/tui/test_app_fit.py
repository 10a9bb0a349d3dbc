"""The app says once per run when max_tokens was lowered to fit the server's window."""

from __future__ import annotations

from dataclasses import replace

from apptools import FAST, connected, make_app, send


async def test_a_lowered_max_tokens_is_one_notification_per_run() -> None:
    app = make_app(replace(FAST, max_model_len=1024))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await connected(pilot)
        await send(pilot, "Name a color", "multi", num_calls=3, max_tokens=32000)
        notes = [n.message for n in app._notifications if "token window" in n.message]
        assert len(notes) == 1 and notes[0].startswith("max_tokens 32000 lowered to")
        assert notes[0].endswith("to fit the 1024-token window")
