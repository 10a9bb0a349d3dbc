"""``PromptBox``: the multi-line prompt, its history, and the attached context or long text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import Input, TextArea

from agentdeck.errors import InputError
from agentdeck.fsutil import human_size, read_text_file
from agentdeck.store.app_state import PromptHistory

__all__ = ["Attachment", "PromptBox", "load_attachment"]


@dataclass(frozen=True)
class Attachment:
    """A context file or long text, read and checked."""

    path: Path
    text: str
    size: int
    replaced: int = 0
    """Undecodable byte sequences replaced with U+FFFD (the file was not valid UTF-8)."""

    @property
    def summary(self) -> str:
        """One line for the prompt box: name, size and a warning when decoding replaced bytes."""
        note = " (not UTF-8: bad bytes replaced)" if self.replaced else ""
        return f"{self.path.name} · {human_size(self.size)} · {len(self.text):,} chars{note}"


def load_attachment(raw: str) -> Attachment:
    """Read the file at ``raw`` with the same checks as the CLI's ``--file``/``--context``.

    Raises:
        InputError: empty path, missing, a folder, empty, binary or larger than the limit.
    """
    if not raw.strip():
        raise InputError("type the path of a text file to attach")
    read = read_text_file(raw.strip(), "file")
    return Attachment(read.path, read.text, read.path.stat().st_size, read.replaced)


class PromptArea(TextArea):
    """A TextArea where up on the first line and down on the last walk the prompt history."""

    class HistoryStep(Message):
        """Asks the box for the previous (-1) or next (+1) prompt."""

        def __init__(self, step: int) -> None:
            self.step = step
            super().__init__()

    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self.cursor_location[0] == 0:
            self.post_message(self.HistoryStep(-1))
        else:
            super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if not select and self.cursor_location[0] == self.document.line_count - 1:
            self.post_message(self.HistoryStep(+1))
        else:
            super().action_cursor_down(select)


class PromptBox(Widget):
    """The prompt editor. Enter inserts a newline; the screen's send key submits."""

    DEFAULT_CSS = """
    PromptBox {
        height: auto;
        border-bottom: hkey $primary-muted;
        border-subtitle-align: left;
        border-subtitle-color: $text-muted;
    }
    PromptBox PromptArea { height: 5; min-height: 2; }
    PromptBox #attach-input { display: none; }
    PromptBox.-attaching #attach-input { display: block; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close_attach", "Close", show=False),
    ]

    class Submitted(Message):
        """The user asked to send ``text`` (with ``attachment`` when one is attached)."""

        def __init__(self, text: str, attachment: Attachment | None) -> None:
            self.text = text
            self.attachment = attachment
            super().__init__()

    attachment: var[Attachment | None] = var(None)
    """The attached file, sent to Context (as context) or Chain (as the long text)."""
    ignored_by: var[str] = var("")
    """The chosen system's label when it reads no attachment (the border then says so)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._saved = PromptHistory()
        """Prompts sent in earlier sessions too (bounded, 0600, in the data folder)."""
        self._history: list[str] = self._saved.load()
        self._history_pos = len(self._history)  # index into history; the end is "the draft"
        self._draft = ""

    def compose(self) -> ComposeResult:
        yield PromptArea(
            id="prompt-input",
            soft_wrap=True,
            show_line_numbers=False,
            compact=True,
            highlight_cursor_line=False,
            placeholder="Type a prompt. Enter: new line · ctrl+s or F5: send · ctrl+o: attach",
        )
        yield Input(
            id="attach-input",
            placeholder="path of a text file (context or long text); Enter attaches, "
            "empty Enter detaches, Esc closes",
            compact=True,
        )

    @property
    def text(self) -> str:
        return self.query_one(PromptArea).text

    @text.setter
    def text(self, value: str) -> None:
        area = self.query_one(PromptArea)
        area.text = value
        area.move_cursor(area.document.end)

    def focus_prompt(self) -> None:
        self.remove_class("-attaching")
        self.query_one(PromptArea).focus()

    def submit(self) -> None:
        """Post ``Submitted`` with the current text and remember it in the history."""
        text = self.text
        if text.strip() and (not self._history or self._history[-1] != text):
            self._history.append(text)
            self._saved.add(text)
        self._history_pos = len(self._history)
        self._draft = ""
        self.post_message(self.Submitted(text, self.attachment))

    @on(PromptArea.HistoryStep)
    def _walk_history(self, event: PromptArea.HistoryStep) -> None:
        event.stop()
        if not self._history:
            return
        if self._history_pos == len(self._history):
            self._draft = self.text
        target = max(0, min(len(self._history), self._history_pos + event.step))
        if target == self._history_pos:
            return
        self._history_pos = target
        self.text = self._draft if target == len(self._history) else self._history[target]

    # ------------------------------------------------------------------ attachment

    def open_attach(self) -> None:
        """Show the path input (ctrl+o)."""
        self.add_class("-attaching")
        field = self.query_one("#attach-input", Input)
        field.value = str(self.attachment.path) if self.attachment else ""
        field.focus()

    def action_close_attach(self) -> None:
        if self.has_class("-attaching"):
            self.focus_prompt()

    @on(Input.Submitted, "#attach-input")
    def _attach_path_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.attachment = None
            self.focus_prompt()
            return
        try:
            self.attachment = load_attachment(event.value)
        except InputError as exc:
            self.notify(f"{exc}\nctrl+o takes the path of a text file: save long text to a "
                        "file first, or paste it into the prompt.", title="Cannot attach",
                        severity="error", markup=False)
            return
        if self.attachment.replaced:
            self.notify(
                f"{self.attachment.path.name} is not valid UTF-8: bad bytes replaced",
                severity="warning",
                markup=False,
            )
        self.focus_prompt()

    def on_mount(self) -> None:
        self._show_attachment()

    def watch_attachment(self) -> None:
        self._show_attachment()

    def watch_ignored_by(self) -> None:
        self._show_attachment()

    def _show_attachment(self) -> None:
        # Shown on the bottom border: it costs no row at 80x24. Text, so a file name with
        # brackets is not read as markup.
        attachment = self.attachment
        if attachment is None:
            self.border_subtitle = Text("no file (ctrl+o attaches one)")
        elif self.ignored_by:
            self.border_subtitle = Text.assemble(
                f"attached: {attachment.path.name} · ",
                (f"not used by {self.ignored_by}", "bold yellow"),
            )
        else:
            self.border_subtitle = Text(f"attached: {attachment.summary}")
