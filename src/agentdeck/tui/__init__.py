"""The agentdeck terminal app (Textual). ``run_app`` is its only entry point.

Only this package imports textual or rich; the core never does.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentdeck.config.settings import Settings

__all__ = ["run_app"]

# Textual paints at most TEXTUAL_FPS times a second (default 60): a frame our timer flushes waits
# up to one such period before it is painted. At 120 the wait halves; measured with 64 workers
# streaming (benchmarks/tui_load.py, 3 alternating pairs): token-to-screen p99 99/110/143 ->
# 81/87/108 ms, key-to-paint p99 42/41/42 -> 33/21/77 ms, CPU unchanged (painting still
# happens only when something changed). Read by Textual at import: this package is imported
# first. A value the user set wins.
os.environ.setdefault("TEXTUAL_FPS", "120")


def run_app(settings: Settings, demo: bool = False) -> int:
    """Run the full-screen app until the user quits; return the process exit code.

    Args:
        settings: flags, environment and file already applied.
        demo: talk to an in-process simulator instead of the profile's server (the same
            happens when the active profile is the built-in simulator).
    """
    from .. import eventloop
    from .app import AgentDeckApp

    app = AgentDeckApp(settings, demo=demo)
    # What App.run() does, on uvloop when installed (less CPU per token with many streams).
    result = eventloop.run(app.run_async())
    if app.return_code:
        return app.return_code
    return int(result or 0)
