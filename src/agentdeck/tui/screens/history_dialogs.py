"""History's dialogs: delete a run (asks first) and export one to Markdown or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from agentdeck.store.report import FORMATS

__all__ = ["ConfirmDelete", "ExportDialog"]

NOTE = "Enter writes the file; Esc cancels."


class ConfirmDelete(ModalScreen[bool]):
    """Dismisses with True to delete the run's folder, False to keep it."""

    CSS_PATH = "history_dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Delete"),
        Binding("n,escape", "answer(False)", "Keep"),
    ]

    def __init__(self, run_id: str, what: str, folder: Path) -> None:
        super().__init__()
        self.run_id, self.what, self.folder = run_id, what, folder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-danger"):
            yield Label(f"Delete run {self.run_id}?", id="question", markup=False)
            yield Label(self.what, classes="note", markup=False)
            yield Label(f"Its folder goes, with every text in it: {self.folder}",
                        classes="note", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Delete (y)", variant="error", id="yes")
                yield Button("Keep (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ExportDialog(ModalScreen[tuple[str, Path] | None]):
    """Asks for a format and a file; dismisses with ``(fmt, path)`` or None."""

    CSS_PATH = "history_dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, run_id: str, folder: Path, fmt: str = "md") -> None:
        super().__init__()
        self.run_id, self.folder, self.fmt = run_id, folder, fmt
        self._replace: Path | None = None
        """An existing file the user was asked about: writing it again replaces it."""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Export run {self.run_id}", id="question", markup=False)
            yield Select([(label, key) for key, label in FORMATS.items()], value=self.fmt,
                         allow_blank=False, compact=True, id="format")
            yield Input(str(self.folder / f"{self.run_id}.{self.fmt}"), id="path",
                        compact=True)
            yield Label(NOTE, classes="note", id="note", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Export", variant="primary", id="export")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    @on(Select.Changed, "#format")
    def _format_changed(self, event: Select.Changed) -> None:
        self.fmt = str(event.value)
        field = self.query_one("#path", Input)
        path = Path(field.value)
        if path.suffix.lstrip(".") in FORMATS:
            field.value = str(path.with_suffix(f".{self.fmt}"))

    @on(Input.Submitted, "#path")
    def _submitted(self) -> None:
        self._export()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export":
            self._export()
        else:
            self.dismiss(None)

    def _export(self) -> None:
        raw = self.query_one("#path", Input).value.strip()
        if not raw:
            self.notify("Type the file to write.", severity="warning")
            return
        path = Path(raw).expanduser()
        if path.exists() and path != self._replace:  # ask first, as delete does
            self._replace = path
            self.query_one("#note", Label).update(
                f"{path.name} exists: Enter again replaces it; change the name to keep it.")
            self.query_one("#dialog").add_class("-danger")
            return
        self.dismiss((self.fmt, path))

    @on(Input.Changed, "#path")
    def _path_changed(self) -> None:
        if self._replace is not None:
            self._replace = None
            self.query_one("#note", Label).update(NOTE)
            self.query_one("#dialog").remove_class("-danger")

    def action_cancel(self) -> None:
        self.dismiss(None)
