"""``QuitScreen``: asks before quitting while runs are in flight (their partial text is kept)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

__all__ = ["QuitScreen"]


class QuitScreen(ModalScreen[bool]):
    """Dismisses with True to cancel the runs and quit, False to stay.

    ``on_confirm`` runs the moment the user confirms, before the dialog goes: under load the
    dismissal's callback came seconds later (the main screen repainting 64 streaming cards
    first), and the workers ran on meanwhile.
    """

    CSS_PATH = "quit.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: handled the moment the app reads the key, not after a walk through the
        # focused button's queue, which under load took over a second.
        Binding("y,q", "confirm", "Cancel runs and quit", priority=True),
        Binding("n,escape", "stay", "Stay", priority=True),
    ]

    def __init__(self, summary: str, on_confirm: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.summary = summary
        self.on_confirm = on_confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Quit while runs are in flight?", id="question")
            yield Label(self.summary, id="summary", markup=False)
            yield Label("Quitting cancels them; their partial text stays on disk.", id="note")
            with Horizontal(id="buttons"):
                yield Button("Quit (y)", variant="error", id="quit")
                yield Button("Stay (n)", variant="primary", id="stay")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "quit":
            self.action_confirm()
        else:
            self.action_stay()

    def action_confirm(self) -> None:
        if self.on_confirm is not None:
            self.on_confirm()
        self.dismiss(True)

    def action_stay(self) -> None:
        self.dismiss(False)
