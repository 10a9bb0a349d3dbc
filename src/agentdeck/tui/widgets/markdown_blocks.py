"""A growing Markdown text split into blocks: finished blocks render once and freeze.

``BlockDoc`` is the engine behind ``StreamView``: text is fed in as it streams, cut into blocks
at blank lines (never inside a fenced code block), and each finished block is rendered once
with Rich's Markdown into strips at the current width and kept. Only the last, unfinished block
is rendered again on each flush, so the cost of a frame does not grow with the document.
Finished blocks render when first seen, so opening a long transcript or resizing costs the
visible part at once and the rest over later frames. Very long blocks (a huge code fence, a
paragraph without blank lines) are cut every ``MAX_LIVE_LINES`` source lines to keep that
bound.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from time import perf_counter
from typing import Callable

from markdown_it import MarkdownIt
from rich.console import Console, JustifyMethod
from rich.markdown import Markdown
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

__all__ = ["Block", "BlockDoc", "LiteralMarkdown", "render_markdown"]

MAX_LIVE_LINES = 40
"""Source lines the live block may hold before its head is frozen."""

_FENCE = re.compile(r"^ *(`{3,}|~{3,})")

# HTML off: a model writing "<b>" or "<script>" must see it shown, not silently dropped.
_PARSER = MarkdownIt("commonmark", {"html": False}).enable("strikethrough").enable("table")


class LiteralMarkdown(Markdown):
    """Rich's Markdown with raw HTML shown as text (Rich would drop the tags).

    It parses with one shared ``MarkdownIt`` instead of the new parser ``Markdown.__init__``
    builds each time (measured: ~35% of a block's render time went into building parsers),
    so it sets the attributes that ``__init__`` would set itself.
    """

    def __init__(
        self,
        markup: str,
        code_theme: str = "monokai",
        justify: JustifyMethod | None = None,
        style: str | Style = "none",
        hyperlinks: bool = True,
        inline_code_lexer: str | None = None,
        inline_code_theme: str | None = None,
    ) -> None:
        self.markup = markup
        self.parsed = _PARSER.parse(markup)
        self.code_theme = code_theme
        self.justify = justify
        self.style = style
        self.hyperlinks = hyperlinks
        self.inline_code_lexer = inline_code_lexer
        self.inline_code_theme = inline_code_theme or code_theme


def render_markdown(
    console: Console, source: str, width: int, style: Style, base: Style | None = None
) -> list[Strip]:
    """Render one block to strips exactly ``width`` cells wide, outer blank lines trimmed."""
    options = console.options.update(width=width, min_width=width, max_width=width, height=None)
    markdown = LiteralMarkdown(source, code_theme="ansi_dark", hyperlinks=False, style=style)
    lines = console.render_lines(markdown, options, pad=True)
    start, end = 0, len(lines)
    while start < end and _blank(lines[start]):
        start += 1
    while end > start and _blank(lines[end - 1]):
        end -= 1
    strips = [Strip(line, width) for line in lines[start:end]]
    if base is not None:
        strips = [strip.apply_style(base) for strip in strips]
    return strips


def _blank(line: list[Segment]) -> bool:
    return all(not seg.text.strip() and not (seg.style and seg.style.bgcolor) for seg in line)


Renderer = Callable[[str, int], "list[Strip]"]


Packed = tuple
"""A frozen line: ``(cell_length, text, style, control, text, style, control, ...)``."""


def pack(strip: Strip) -> Packed:
    """One flat tuple per frozen line instead of a ``Strip``.

    A ``Strip`` carries seven caches; a 50k-token answer holds thousands of frozen lines, and
    the garbage collector walking all those objects paused the app for up to ~120 ms (the
    key-to-paint p99 that grew with the answer). Visible lines are unpacked as they are drawn.
    """
    return (strip.cell_length, *(part for segment in strip for part in segment))


def unpack(packed: Packed) -> Strip:
    return Strip(
        [Segment(*packed[i : i + 3]) for i in range(1, len(packed), 3)], packed[0]
    )


@dataclass(slots=True)
class Block:
    """A finished block: its source, and its lines once rendered at the current width."""

    source: str
    gap: int
    """1 when a blank line separates it from the block above, 0 for a continuation."""
    strips: list[Packed] | None
    height: int
    """``gap`` + rendered lines, or an estimate while ``strips`` is None."""


class BlockDoc:
    """Incremental Markdown: finished blocks rendered once (when first seen), one live block.

    Finished blocks render lazily, viewport first (``render_range``), the rest a few at a time
    (``render_some``); until then their height is an estimate. So opening a long transcript or
    changing the width costs the visible part now and the rest spread over later frames.
    """

    def __init__(self, render: Renderer, width: int) -> None:
        self.render = render
        self.width = width
        self.blocks: list[Block] = []
        self.live: list[Strip] = []
        self.live_start = 0
        """Line where the live block's strips begin (after its separator)."""
        self.stale = 0
        """Finished blocks not rendered at the current width."""
        self.renders = 0
        """How many times a block was rendered (tests count it)."""
        self._starts: list[int] = []  # first line (its gap included) of each block
        self._end = 0  # lines of all finished blocks
        self._reindex_from: int | None = None
        self._lines: list[str] = []  # complete source lines of the live block
        self._partial = ""
        self._fence = ""  # the opening fence marker while inside a code block
        self._fence_open = ""  # the opening line, repeated when a long fence is cut
        self._joined = False  # the live block continues a block cut for length
        self._live_dirty = False

    def __len__(self) -> int:
        self._reindex()
        return self.live_start + len(self.live) if self.live else self._end

    def line(self, y: int) -> Strip | None:
        """The strip at line ``y``; None for blank lines and blocks not rendered yet."""
        self._reindex()
        if y < self._end:
            index = bisect_right(self._starts, y) - 1
            block = self.blocks[index]
            k = y - self._starts[index] - block.gap
            if block.strips is None or not 0 <= k < len(block.strips):
                return None
            return unpack(block.strips[k])
        y -= self.live_start
        return self.live[y] if 0 <= y < len(self.live) else None

    @property
    def empty(self) -> bool:
        return not self.blocks and not self._lines and not self._partial

    # ------------------------------------------------------------------ feeding

    def feed(self, text: str) -> None:
        """Append safe text (already through ``plaintext.literal``)."""
        if not text:
            return
        self._live_dirty = True
        text = self._partial + text
        if "\n" not in text:
            self._partial = text
            return
        *complete, self._partial = text.split("\n")
        for line in complete:
            self._line(line)

    def _line(self, line: str) -> None:
        lines = self._lines
        if self._fence:
            lines.append(line)
            stripped = line.strip()
            if stripped.startswith(self._fence) and not stripped.strip(self._fence[0]):
                self._fence = ""
            elif len(lines) >= MAX_LIVE_LINES:
                self._freeze(lines + [self._fence])
                self._lines = [self._fence_open]
                self._joined = True
            return
        match = _FENCE.match(line)
        if match:
            self._fence, self._fence_open = match.group(1), line
            lines.append(line)
        elif not line.strip():
            if lines:
                self._freeze(lines)
                self._lines = []
                self._joined = False
        else:
            lines.append(line)
            if len(lines) >= MAX_LIVE_LINES and not lines[0].lstrip().startswith("|"):
                self._freeze(lines)
                self._lines = []
                self._joined = True

    def _freeze(self, lines: list[str]) -> None:
        source = "\n".join(lines)
        gap = 1 if self.blocks and not self._joined else 0
        block = Block(source, gap, None, gap + self._estimate(source))
        self._reindex()
        self.blocks.append(block)
        self._starts.append(self._end)
        self._end += block.height
        self.stale += 1

    def _estimate(self, source: str) -> int:
        width = max(1, self.width)
        return sum(-(-max(1, len(line)) // width) for line in source.split("\n"))

    # ------------------------------------------------------------------ rendering

    def _reindex(self) -> None:
        start = self._reindex_from
        if start is None:
            return
        self._reindex_from = None
        y = self._starts[start - 1] + self.blocks[start - 1].height if start else 0
        del self._starts[start:]
        for block in self.blocks[start:]:
            self._starts.append(y)
            y += block.height
        self._end = y
        self.live_start = y + (1 if y and not self._joined else 0)

    def _render_block(self, index: int) -> int:
        """Render block ``index``; returns how much its height changed."""
        block = self.blocks[index]
        self.renders += 1
        block.strips = [pack(strip) for strip in self.render(block.source, self.width)]
        self.stale -= 1
        height = block.gap + len(block.strips)
        delta, block.height = height - block.height, height
        if delta:
            self._reindex_from = index if self._reindex_from is None else min(
                self._reindex_from, index
            )
        return delta

    def render_range(self, top: int, bottom: int) -> int:
        """Render the blocks showing in lines [top, bottom).

        Returns how far the content at ``top`` moved (blocks above it changed height), so a
        reader's view can stay put.
        """
        moved = 0
        for _ in range(16):  # heights settle within a few passes
            self._reindex()
            index = max(0, bisect_right(self._starts, max(0, top)) - 1)
            rendered = False
            while index < len(self.blocks) and self._starts[index] < bottom:
                block = self.blocks[index]
                if block.strips is None:
                    above = self._starts[index] + block.height <= top
                    delta = self._render_block(index)
                    rendered = True
                    if above:
                        moved += delta
                        top += delta
                        bottom += delta
                index += 1
            if not rendered:
                break
        self._reindex()
        return moved

    def render_some(self, budget: float, top: int) -> int:
        """Render stale blocks for about ``budget`` seconds, the last ones first.

        Returns how far the content at ``top`` moved.
        """
        if not self.stale:
            return 0
        deadline = perf_counter() + budget
        moved = 0
        self._reindex()
        starts = list(self._starts)
        for index in range(len(self.blocks) - 1, -1, -1):
            block = self.blocks[index]
            if block.strips is None:
                delta = self._render_block(index)
                if starts[index] + block.height - delta <= top:
                    moved += delta
                if perf_counter() > deadline:
                    break
        self._reindex()
        return moved

    def update_live(self) -> bool:
        """Re-render the live block if text arrived; True when the strips changed."""
        if not self._live_dirty:
            return False
        self._live_dirty = False
        self._reindex()
        lines = self._lines + [self._partial] if self._partial else self._lines
        if not lines:
            changed = bool(self.live)
            self.live = []
            return changed
        source = "\n".join(lines)
        if self._fence and not self._partial.strip().startswith(self._fence):
            source += "\n" + self._fence  # close it so the renderer shows a code block
        self.renders += 1
        self.live = self.render(source, self.width)
        self.live_start = self._end + (1 if self._end and not self._joined else 0)
        return True

    def set_width(self, width: int) -> None:
        """Forget every rendering (they render again as they are seen) at a new width."""
        if width == self.width:
            return
        self.width = width
        for block in self.blocks:
            if block.strips is not None:
                self.stale += 1
            block.strips = None
            block.height = block.gap + self._estimate(block.source)
        if self.blocks:
            self._reindex_from = 0
        self._live_dirty = True
        self.update_live()

    def rerender(self) -> None:
        """Render everything again (theme change)."""
        width, self.width = self.width, -1
        self.set_width(width)
