"""StreamView: one worker's stream as Markdown while it streams, reasoning folded above it.

Public API::

    view = StreamView()
    view.set_source(buffer)        # follow a live.WorkerBuffer (None to clear); a finished
                                   # buffer (WorkerBuffer.from_text) shows a saved transcript
    view.flush()                   # call ~20 Hz from the screen's one timer: reads what the
                                   # buffer gained, renders only the live block, scrolls
    view.follow                    # True while auto-scrolling; scrolling up turns it off,
                                   # reaching the bottom again (End, wheel, keys) turns it on
    view.show_reasoning            # None = auto (open until the answer starts), True, False
    key "t" / click on the header toggles the reasoning section

Why not Textual's ``Markdown``: its work per frame grows with the whole document (89 ms per
frame and ~90 MB at 50k tokens). Here finished blocks are rendered once to strips and frozen
(``markdown_blocks.BlockDoc``); everything is drawn through the line API, so a frame costs the
live block plus the visible rows, at 1k tokens as at 50k. Model text passes through
``plaintext.literal`` first, so escape sequences and control codes cannot reach the terminal,
and raw HTML is shown as text.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentdeck.tui.live import WorkerBuffer
from agentdeck.tui.widgets.lineapi import PlainLineCache, set_virtual_size
from agentdeck.tui.widgets.markdown_blocks import BlockDoc, render_markdown
from agentdeck.tui.widgets.plaintext import literal

__all__ = ["StreamView"]

BACKGROUND_BUDGET = 0.004
"""Seconds per flush spent rendering off-screen blocks (after a resize or a long load)."""


class StreamView(ScrollView, can_focus=True):
    """The focused stream: reasoning (collapsible) above the answer, auto-scrolling."""

    DEFAULT_CSS = """
    StreamView {
        height: 1fr;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    StreamView > .stream-view--reasoning { color: $text-muted; text-style: italic; }
    StreamView > .stream-view--header { color: $text-accent; text-style: bold; }
    StreamView > .stream-view--empty { color: $text-muted; }
    """

    COMPONENT_CLASSES = {"stream-view--reasoning", "stream-view--header", "stream-view--empty"}

    BINDINGS = [Binding("t", "toggle_reasoning", "Reasoning")]

    show_reasoning: var[bool | None] = var(None, init=False)
    """None: open while the model reasons and closed once the answer starts; or forced."""

    def __init__(
        self,
        buffer: WorkerBuffer | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._styles_cache = PlainLineCache()  # lines are drawn whole: skip Textual's styling
        self.follow = True
        self._buffer: WorkerBuffer | None = buffer
        self._answer = BlockDoc(self._render_answer, 0)
        self._reasoning = BlockDoc(self._render_reasoning, 0)
        self._pos = 0
        self._rpos = 0
        self._scrolling = False
        self._base: Style | None = None
        self._shown_state = ""
        self._had_reasoning_empty = True

    # ------------------------------------------------------------------ public API

    @property
    def buffer(self) -> WorkerBuffer | None:
        return self._buffer

    @property
    def renders(self) -> int:
        """Blocks rendered so far (answer and reasoning); tests use it to prove freezing."""
        return self._answer.renders + self._reasoning.renders

    def set_source(self, buffer: WorkerBuffer | None) -> None:
        """Follow ``buffer`` from its start; ``None`` shows nothing."""
        if buffer is self._buffer and self._width() == self._answer.width:
            return
        self._buffer = buffer
        width = self._width()
        self._answer = BlockDoc(self._render_answer, width)
        self._reasoning = BlockDoc(self._render_reasoning, width)
        self._pos = self._rpos = 0
        self.follow = True
        self.set_reactive(StreamView.show_reasoning, None)
        self._had_reasoning_empty = True
        self.refresh_bindings()
        self.flush()
        self.refresh()

    def flush(self) -> None:
        """Take in what the buffer gained and repaint; the cost does not grow with length."""
        buf = self._buffer
        if buf is None or not self.is_mounted:
            self._update_size()
            return
        fed = False
        if buf.reasoning.length > self._rpos:
            self._reasoning.feed(literal(buf.reasoning_since(self._rpos)))
            self._rpos = buf.reasoning.length
            fed = True
        if buf.content.length > self._pos:
            self._answer.feed(literal(buf.content_since(self._pos)))
            self._pos = buf.content.length
            fed = True
        if not self.size.width:
            return  # hidden (another view is showing): render once it has a size
        changed = self._reasoning.update_live() | self._answer.update_live()
        stale = self._answer.stale + self._reasoning.stale
        if fed or changed or stale:
            self._settle(background=BACKGROUND_BUDGET)
            self.refresh()
            if fed and self._reasoning.empty != self._had_reasoning_empty:
                self._had_reasoning_empty = self._reasoning.empty
                self.refresh_bindings()
        elif buf.state_text != self._shown_state:
            self.refresh()  # the "waiting…" line of an empty stream
        self._shown_state = buf.state_text

    # ------------------------------------------------------------------ layout

    def _width(self) -> int:
        return max(10, self.scrollable_content_region.width) if self.is_mounted else 80

    def _reasoning_open(self) -> bool:
        if self.show_reasoning is not None:
            return self.show_reasoning
        return self._answer.empty

    def _answer_top(self) -> int:
        """First virtual line of the answer: header + reasoning + a blank line above it."""
        if self._reasoning.empty:
            return 0
        return 2 + (len(self._reasoning) if self._reasoning_open() else 0)

    def _update_size(self) -> None:
        height = self._answer_top() + len(self._answer)
        if self._buffer is not None and self._reasoning.empty and self._answer.empty:
            height = 1
        set_virtual_size(self, Size(self._width(), height))

    def _settle(self, background: float = 0.0) -> None:
        """Render what is on screen (and a little more), size the view, keep its place.

        Blocks not yet rendered have estimated heights; rendering them may move the text
        below. A follower stays at the bottom; a reader keeps the line they were reading.
        """
        view_h = max(1, self.scrollable_content_region.height)
        for _ in range(4):
            self._update_size()
            if self.follow:
                self._jump(self.max_scroll_y)
            y = round(self.scroll_y)
            moved = 0
            if not self._reasoning.empty and self._reasoning_open():
                moved += self._reasoning.render_range(y - 1, y - 1 + view_h)
            top = self._answer_top()
            moved += self._answer.render_range(y - top, y - top + view_h)
            if background:
                moved += self._answer.render_some(background, y - top)
                background = 0.0
            if not moved:
                break
            if not self.follow:
                self._update_size()
                self._jump(y + moved)
        self._update_size()
        if self.follow:
            self._jump(self.max_scroll_y)

    def _jump(self, y: float) -> None:
        self._scrolling = True
        try:
            self.scroll_to(y=y, animate=False, force=True)
        finally:
            self._scrolling = False

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self._scrolling:
            return
        # The user moved: follow again only once they are back at the bottom.
        self.follow = round(new) >= self.max_scroll_y
        if self._answer.stale or self._reasoning.stale:
            self._settle()

    def on_resize(self, event: events.Resize) -> None:
        width = self._width()
        if width != self._answer.width:
            self._answer.set_width(width)
            self._reasoning.set_width(width)
            self._settle()
            self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        if self.is_mounted:
            self._answer.rerender()
            self._reasoning.rerender()
            self._settle()
            self.refresh()

    def on_mount(self) -> None:
        width = self._width()
        self._answer.set_width(width)
        self._reasoning.set_width(width)
        self.flush()

    def watch_show_reasoning(self) -> None:
        self._settle()
        self.refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_reasoning":
            return not self._reasoning.empty  # no reasoning: no key in the footer
        return True

    def action_toggle_reasoning(self) -> None:
        self.show_reasoning = not self._reasoning_open()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        on_header = offset is not None and offset.y + round(self.scroll_y) == 0
        if on_header and not self._reasoning.empty:
            self.action_toggle_reasoning()

    # ------------------------------------------------------------------ drawing

    def _render_answer(self, source: str, width: int) -> list[Strip]:
        return render_markdown(self.app.console, source, width, Style(), self.rich_style)

    def _render_reasoning(self, source: str, width: int) -> list[Strip]:
        style = self.get_component_rich_style("stream-view--reasoning", partial=True)
        return render_markdown(self.app.console, source, width, style, self.rich_style)

    def render_line(self, y: int) -> Strip:
        width = self._answer.width
        base = self._base
        if base is None:  # ``rich_style`` walks the DOM each call; it changes with styles only
            base = self._base = self.rich_style
        vy = y + round(self.scroll_y)
        strip: Strip | None = None
        if not self._reasoning.empty:
            if vy == 0:
                is_open = self._reasoning_open()
                label = (
                    f"{'▼' if is_open else '▶'} Reasoning ({self._rpos:,} chars)"
                    f" · t to {'hide' if is_open else 'show'}"
                )
                return self._text_strip(label, "stream-view--header", width)
            if self._reasoning_open() and 1 <= vy <= len(self._reasoning):
                strip = self._reasoning.line(vy - 1)
            top = self._answer_top()
            if vy >= top:
                strip = self._answer.line(vy - top)
        else:
            strip = self._answer.line(vy)
            if strip is None and vy == 0 and self._buffer is not None and self._answer.empty:
                buf = self._buffer
                # An ended stream that sent no text says so; an ellipsis means "still going".
                more = ", no text" if buf.state.finished else "…"
                label = f"{buf.title}: {buf.state_text}{more}"
                return self._text_strip(label, "stream-view--empty", width)
        if strip is None:
            return Strip.blank(width, base)
        return strip.adjust_cell_length(width, base)

    def _text_strip(self, text: str, component: str, width: int) -> Strip:
        style = self.get_component_rich_style(component)
        return Strip([Segment(literal(text), style)]).adjust_cell_length(width, self.rich_style)
