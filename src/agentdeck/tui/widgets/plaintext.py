"""Model text made safe to draw (no escape sequences, no control codes) and wrapped by cells.

``literal(text)`` replaces every C0/C1 control character except newline with a visible
stand-in (ESC becomes "␛", so ``\\x1b[31m`` shows as ``␛[31m``), expands tabs, drops carriage
returns and neutralises bidi overrides. It is a per-character table, so it is safe to apply to each streamed
piece on its own: an escape sequence split across two deltas is still neutralised.

``wrap_line(line, width)`` word-wraps one logical line to terminal cells (CJK and emoji take two
cells) with greedy breaks, so every row except the last is final however the line grows.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.cells import cell_len, chop_cells

if TYPE_CHECKING:
    from ..live import StreamText

__all__ = ["TailWrapper", "cell_len", "cells", "fit", "literal", "wrap_line"]

TAB = "    "


def _table() -> dict[int, str | None]:
    # Control Pictures: U+2400 + code, so NUL is ␀, ESC is ␛, BEL is ␇.
    table: dict[int, str | None] = {cp: chr(0x2400 + cp) for cp in range(32)}
    table[ord("\n")] = "\n"
    table[ord("\t")] = TAB
    table[ord("\r")] = None  # "\r\n" line ends; a lone CR must not move the cursor either
    table[0x7F] = "\u2421"  # ␡
    for cp in range(0x80, 0xA0):  # C1 controls, including the 8-bit CSI 0x9b
        table[cp] = "\ufffd"
    for cp in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F):
        table[cp] = "\ufffd"  # bidi overrides could reorder what the user reads
    table[0x2028] = table[0x2029] = " "
    return table


_LITERAL = _table()


def literal(text: str) -> str:
    """``text`` with control characters replaced by visible stand-ins (newline kept)."""
    return text.translate(_LITERAL)


def cells(text: str) -> int:
    """Terminal cells of safe text; ASCII (the common case) is one cell per character."""
    return len(text) if text.isascii() else cell_len(text)


def fit(text: str, width: int) -> str:
    """One row of at most ``width`` cells: newlines become spaces, overflow ends in "…"."""
    if "\n" in text:
        text = text.replace("\n", " ")
    if cells(text) <= width:
        return text
    if width <= 1:
        return "…" if width == 1 else ""
    return chop_cells(text, width - 1)[0] + "…"


_WORD = re.compile(r"\S+\s*|\s+")


def wrap_line(line: str, width: int) -> list[str]:
    """Greedy word wrap of one line (no newlines) into rows of at most ``width`` cells.

    Always returns at least one row. Words longer than a row are cut by cells.
    """
    if width < 1:
        width = 1
    if cells(line) <= width:
        return [line]
    rows: list[str] = []
    row = ""
    used = 0
    for word in _WORD.findall(line):
        size = cells(word)
        if used + size <= width:
            row += word
            used += size
            continue
        bare = word.rstrip()
        bare_size = cells(bare)
        if bare and used + bare_size <= width:
            rows.append(row + bare)  # trailing spaces fall at the break
            row, used = "", 0
            continue
        if row:
            rows.append(row.rstrip())
            row, used = "", 0
        if bare_size > width:
            parts = chop_cells(bare, width)
            rows.extend(parts[:-1])
            bare = parts[-1]
            bare_size = cells(bare)
        if not bare:
            continue
        row, used = bare, bare_size
        spaces = word[len(word.rstrip()) :]
        if spaces and used + len(spaces) <= width:
            row += spaces
            used += len(spaces)
    rows.append(row)
    return rows


class TailWrapper:
    """The last ``height`` wrapped rows of a growing text, updated incrementally.

    Rows above the last one never change as text is appended (greedy wrap), so only the
    unfinished last row is wrapped again on each feed: the cost is the new text, not the
    whole text.
    """

    __slots__ = ("width", "height", "rows", "partial")

    def __init__(self, width: int, height: int) -> None:
        self.width = max(1, width)
        self.height = max(1, height)
        self.rows: list[str] = []
        self.partial = ""

    @property
    def budget(self) -> int:
        """Characters of tail that surely fill ``height`` rows (used when starting over)."""
        return max(512, self.width * self.height * 4)

    def reset(self, text: str = "") -> None:
        """Start over from ``text`` (only its last ``budget`` characters matter)."""
        self.rows = []
        self.partial = ""
        if text:
            self.feed(text[-self.budget :])

    def catch_up(self, stream: StreamText, pos: int | None) -> int:
        """Take in what ``stream`` (a ``live`` text stream) gained after ``pos``, through
        ``literal``; ``pos`` None starts over from its tail. Returns the new position."""
        if pos is None:
            self.reset(literal(stream.since(max(0, stream.length - self.budget))))
        elif stream.length > pos:
            self.feed(literal(stream.since(pos)))
        return stream.length

    def feed(self, text: str) -> None:
        """Append safe text (already through ``literal``)."""
        if not text:
            return
        if len(text) > self.budget:
            self.rows = []
            self.partial = ""
            text = text[-self.budget :]
        lines = text.split("\n")
        rows = self.rows
        width = self.width
        for line in lines[:-1]:
            rows.extend(wrap_line(self.partial + line, width))
            self.partial = ""
        last = wrap_line(self.partial + lines[-1], width)
        rows.extend(last[:-1])
        self.partial = last[-1]
        keep = self.height
        if len(rows) > keep * 2:
            del rows[:-keep]

    def tail(self, height: int | None = None) -> list[str]:
        """The last ``height`` rows including the unfinished one."""
        height = self.height if height is None else height
        if height <= 0:
            return []
        rows = self.rows[-height:] if len(self.rows) >= height else self.rows
        out = [*rows, self.partial]
        return out[-height:]
