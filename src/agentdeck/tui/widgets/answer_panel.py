"""``AnswerPanel``: the run's answer above its view (the vote and its tally, the pick, the merge,
the debate's verdict round by round, the chain's answer); hidden for runs without one.

Attributes down: the output pane sets ``answer`` a few times a second at most, never per token.
Model text is shown literally (a ``Text``, control characters made visible), never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from ..answer import RunAnswer
from .plaintext import literal

__all__ = ["AnswerPanel"]


class AnswerPanel(VerticalScroll, can_focus=True):
    """A few rows at the top of the output pane; scrolls when the answer is longer."""

    DEFAULT_CSS = """
    AnswerPanel {
        height: auto;
        max-height: 35%;
        display: none;
        border-bottom: solid $accent 50%;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    AnswerPanel.-shown { display: block; }
    AnswerPanel:focus { border-bottom: solid $accent; }
    AnswerPanel > Static { width: 1fr; }
    """

    answer: reactive[RunAnswer | None] = reactive(None)
    """The answer shown; None hides the panel. An equal answer changes nothing, and a new one
    lays the screen out again only when its height changes (the pane sets it 4 times a
    second while a merge streams)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows = -1
        """Rows the shown answer takes at the width it was shown at."""

    def compose(self) -> ComposeResult:
        yield Static(id="answer-text", markup=False)

    def watch_answer(self, answer: RunAnswer | None) -> None:
        self.set_class(answer is not None, "-shown")
        if answer is None:
            self._rows = -1
            return
        text = render_answer(answer)
        rows = self._rows_of(text)
        self.query_one("#answer-text", Static).update(text, layout=rows != self._rows or rows < 0)
        self._rows = rows

    def _rows_of(self, text: Text) -> int:
        """Rows ``text`` takes at the shown width; -1 while nothing is laid out."""
        width = self.query_one("#answer-text", Static).content_region.width
        return len(text.wrap(self.app.console, width)) if width else -1

    def on_resize(self) -> None:
        """Wrapped again at the new width: count the rows the shown answer takes now."""
        self._rows = self._rows_of(render_answer(self.answer)) if self.answer else -1


def render_answer(answer: RunAnswer) -> Text:
    """Headline first (what most readers want), then the tally or the rounds, then the text."""
    text = Text(no_wrap=False)
    text.append(f" {answer.title} ", style="bold reverse")
    text.append(" ")
    text.append(literal(answer.headline), style="bold red" if answer.failed else "bold")
    for line in answer.lines:
        text.append("\n")
        text.append(literal(line), style="dim")
    if answer.text.strip():
        text.append("\n")
        text.append(literal(answer.text.strip()))
    return text
