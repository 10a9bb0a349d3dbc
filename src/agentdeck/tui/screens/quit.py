"""``QuitScreen``: asks before quitting while runs are in flight (their partial text is kept)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

__all__ = ["QuitScreen"]


class QuitScreen(ModalScreen[bool]):
    """Dismisses with True to cancel the runs and quit, False to stay."""

    CSS_PATH = "quit.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,q", "confirm", "Cancel runs and quit"),
        Binding("n,escape", "stay", "Stay"),
    ]

    def __init__(self, summary: str) -> None:
        super().__init__()
        self.summary = summary

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
        self.dismiss(event.button.id == "quit")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_stay(self) -> None:
        self.dismiss(False)
