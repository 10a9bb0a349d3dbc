"""``KeyFooter``: Textual's footer with quit and help first, so a narrow terminal cuts others.

Textual lists the focused widget's keys first and the app's last, so at 80 columns the first
keys to go were ``^q Quit`` and the help key. Here they lead, compact, on every screen.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["KeyFooter"]

PINNED = ("quit", "app.quit", "toggle_help", "app.toggle_help")
"""Actions whose keys every footer shows first."""


class KeyFooter(Footer):
    """The footer of every agentdeck screen."""

    def __init__(self) -> None:
        super().__init__(compact=True)

    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        pinned = [k for k in keys if isinstance(k, FooterKey) and k.action in PINNED]
        yield from pinned + [k for k in keys if k not in pinned]
