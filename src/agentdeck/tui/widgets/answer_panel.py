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

    answer: reactive[RunAnswer | None] = reactive(None, always_update=True, layout=True)
    """The answer shown; None hides the panel."""

    def compose(self) -> ComposeResult:
        yield Static(id="answer-text", markup=False)

    def watch_answer(self, answer: RunAnswer | None) -> None:
        self.set_class(answer is not None, "-shown")
        if answer is not None:
            self.query_one("#answer-text", Static).update(render_answer(answer))


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
