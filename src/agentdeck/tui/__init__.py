"""The agentdeck terminal app (Textual). ``run_app`` is its only entry point.

Only this package imports textual or rich; the core never does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_app"]


def run_app(settings: Any, demo: bool = False) -> int:
    """Run the full-screen app until the user quits; return the process exit code.

    Args:
        settings: ``agentdeck.config.Settings`` (flags, env and file already applied).
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
